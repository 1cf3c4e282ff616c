#pragma once
// A small JSON Schema validator for the subset the compiler supports, used
// to check that sampled outputs are valid (the tests' stand-in for ajv).
// Patterns are matched with std::regex (ECMAScript) over the UTF-8 bytes,
// so tests use ASCII patterns only.
#include <string>

#include <nlohmann/json.hpp>

namespace ig::grammar::test {

// "" when `value` is valid under `schema` (root: the document for $ref),
// else the first reason it is not.
std::string schema_violation(const nlohmann::ordered_json& schema,
                             const nlohmann::ordered_json& value);

}  // namespace ig::grammar::test
