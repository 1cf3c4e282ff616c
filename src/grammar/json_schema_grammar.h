#pragma once
// JSON Schema (response_format json_schema, guided_json, tool arguments)
// compiled to a grammar whose every match is a JSON value valid under the
// schema. A keyword is honoured exactly or refused with an error naming it
// and its JSON-pointer path; none is ignored unless it is an annotation.
//
// Supported: type (one or a list; absent, the types its keywords imply),
// enum, const (values written compactly, byte for byte), properties
// (output in the order written; optional ones may be left out), required,
// additionalProperties (false, true, a schema; extra keys come after the
// declared ones, are written without escapes and are none of the declared
// names), items, prefixItems (and draft 4's items list with
// additionalItems), minItems, maxItems, minLength, maxLength (code points),
// pattern (regex_grammar.h; the whole string matches it), format (strings:
// json_format_rules.h; numbers: int32, int64, float, double), minimum,
// maximum, exclusiveMinimum, exclusiveMaximum (integers: exact, any bound;
// numbers: integer-valued bounds only, the bounded side written without
// exponent), anyOf, oneOf (as anyOf), allOf (merged where that is exact,
// json_schema_merge.h), $ref (local: "#", "#/$defs/..", "#/definitions/..",
// any "#/pointer"; recursion allowed), nullable (OpenAPI), true/false.
// Ignored annotations: title, description, default, examples, $schema,
// $id, $comment, deprecated, readOnly, writeOnly, $defs, definitions,
// $anchor, and keywords that are not JSON Schema's. Refused: not,
// if/then/else, patternProperties, propertyNames, dependentRequired,
// dependentSchemas, dependencies, uniqueItems: true, multipleOf,
// minProperties (but 0), maxProperties, contains, min/maxContains,
// unevaluated*, $dynamicRef, $recursiveRef; $ref, enum or const beside
// other constraining keywords; pattern beside min/maxLength or format;
// bounds over kMaxRepeatBound; formats not listed.
//
// Property order: pass nlohmann::ordered_json to keep the schema's order;
// the nlohmann::json overloads see keys sorted (nlohmann::json sorts them).
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "grammar/grammar.h"
#include "util/expected.h"

namespace ig::grammar {

struct JsonSchemaOptions {
    // Whitespace between JSON tokens: `"" | " " | "\n" "\n"? [ \t]{0,20}`
    // (bounded, see json_value_rules.h). false: compact output, none at all.
    bool any_whitespace = true;
    // OpenAI strict mode: every object schema must say
    // "additionalProperties": false and list all its properties in
    // "required"; a schema that does not is refused (as OpenAI does).
    // Outside strict mode additionalProperties defaults to true.
    bool strict = false;
    size_t max_depth = 64;  // of schema nesting (and of $ref chains)
};

// Adds a rule matching one JSON value valid under `schema` (tool-call
// grammars embed argument schemas); `path` prefixes error messages, and
// $ref "#" means `schema`. Call prune_unproductive (grammar_prune.h) on
// the finished grammar, as json_schema_grammar does.
Expected<uint32_t> add_json_schema(GrammarBuilder& b, const nlohmann::ordered_json& schema,
                                   const JsonSchemaOptions& opt, std::string_view path);
Expected<uint32_t> add_json_schema(GrammarBuilder& b, const nlohmann::json& schema,
                                   const JsonSchemaOptions& opt, std::string_view path);

Expected<Grammar> json_schema_grammar(const nlohmann::ordered_json& schema,
                                      const JsonSchemaOptions& opt = {},
                                      std::string_view path = "schema");
Expected<Grammar> json_schema_grammar(const nlohmann::json& schema,
                                      const JsonSchemaOptions& opt = {},
                                      std::string_view path = "schema");

// Any JSON object (response_format {"type": "json_object"}): the root is an
// object, its values any JSON.
Expected<Grammar> json_object_grammar(const JsonSchemaOptions& opt = {});

}  // namespace ig::grammar
