#pragma once
// UTF-8 helpers shared by tokenizers, detokenizers and the template engine.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ig::utf8 {

// Length of the sequence a lead byte announces; 1 for ASCII and for bytes
// that cannot start a sequence.
inline size_t seq_len(unsigned char c) {
    if (c < 0x80) return 1;
    if ((c >> 5) == 0x6) return 2;
    if ((c >> 4) == 0xE) return 3;
    if ((c >> 3) == 0x1E) return 4;
    return 1;
}

// Length of the well-formed sequence at s[i] (1..4), or 0 where the bytes
// there are not one (overlong, surrogate, cut off, stray continuation).
size_t valid_at(std::string_view s, size_t i);

// Appends code point cp (< 0x110000) encoded as UTF-8.
void append(std::string& out, uint32_t cp);

// Number of bytes at the end of s that form the start of a character whose
// remaining bytes have not arrived yet (0..3).
size_t incomplete_tail(std::string_view s);

// Copies s, replacing every byte that is not part of a well-formed UTF-8
// sequence with U+FFFD, so the result is always valid UTF-8.
std::string sanitize(std::string_view s);

}  // namespace ig::utf8
