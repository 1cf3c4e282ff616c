#pragma once
// What each JSON Schema keyword is to the compiler (honoured, refused,
// annotation), the checks of keyword value types, and JSON helpers that
// never throw.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/expected.h"

namespace ig::grammar {

using ojson = nlohmann::ordered_json;

enum class KeywordKind {
    Annotation,  // does not constrain: ignored
    Supported,
    Refused,  // constrains, not implemented: an error names it
    Unknown,  // not a JSON Schema keyword: ignored as validators do
};

KeywordKind keyword_kind(std::string_view key);
// Whether a keyword takes part in validation (Supported or Refused).
inline bool constrains(std::string_view key) {
    auto k = keyword_kind(key);
    return k == KeywordKind::Supported || k == KeywordKind::Refused;
}

// Every keyword of `s` (an object schema): refused ones are errors, and the
// values of supported ones have the right JSON types.
Status check_keywords(const ojson& s, const std::string& path);

// path + "/" + key as a JSON pointer token (~ and / escaped).
std::string child_path(const std::string& path, std::string_view key);

// The compact JSON text of `v`; errors on strings that are not UTF-8, on
// non-finite numbers and on nesting deeper than 512.
Expected<std::string> json_text(const ojson& v, const std::string& path);

// A non-negative integer (5 or 5.0), saturating at UINT64_MAX; nullopt when
// `v` is anything else.
std::optional<uint64_t> as_count(const ojson& v);

// The "type" keyword as a list of names (empty when absent).
std::vector<std::string> schema_types(const ojson& s);
// Whether a JSON value is of JSON Schema type `type`.
bool value_has_type(const ojson& v, std::string_view type);

// Nesting depth of a JSON value, counted without recursion, stopping at `limit`.
template <class Json>
size_t json_depth(const Json& v, size_t limit) {
    size_t deepest = 0;
    std::vector<std::pair<const Json*, size_t>> stack{{&v, 1}};
    while (!stack.empty()) {
        auto [j, d] = stack.back();
        stack.pop_back();
        deepest = std::max(deepest, d);
        if (deepest > limit) return deepest;
        if (j->is_object() || j->is_array())
            for (const auto& kid : *j) stack.push_back({&kid, d + 1});
    }
    return deepest;
}

}  // namespace ig::grammar
