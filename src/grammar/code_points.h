#pragma once
// Sets of Unicode code points as sorted, merged ranges, and the UTF-8
// decoding that the text front-ends (regex, GBNF) share.
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ig::grammar {

using CodeRange = std::pair<char32_t, char32_t>;  // inclusive
using CodeSet = std::vector<CodeRange>;           // sorted, merged, within [0, 0x10FFFF]

inline constexpr char32_t kMaxCodePoint = 0x10FFFF;

CodeSet make_code_set(CodeSet ranges);  // sorts, merges, clamps
CodeSet complement(const CodeSet& s);
CodeSet intersect(const CodeSet& a, const CodeSet& b);
CodeSet unite(const CodeSet& a, const CodeSet& b);
bool contains(const CodeSet& s, char32_t c);

// The code point at s[i]: its length in bytes (1..4), or 0 where the bytes
// there are not well-formed UTF-8 (then `cp` is unchanged).
size_t decode_utf8(std::string_view s, size_t i, char32_t& cp);
std::string encode_utf8(char32_t cp);

}  // namespace ig::grammar
