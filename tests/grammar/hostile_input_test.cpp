// Hostile and malformed constraints: each is refused with an error that
// names the problem and where it is, promptly, without a crash.
#include <gtest/gtest.h>

#include <string>

#include "grammar/gbnf_parser.h"
#include "grammar/json_schema_grammar.h"
#include "grammar/regex_grammar.h"

namespace ig::grammar::test {
namespace {

std::string nested(const std::string& open, const std::string& inner, const std::string& close,
                   int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += open;
    s += inner;
    for (int i = 0; i < n; ++i) s += close;
    return s;
}

std::string schema_error(const std::string& text, const JsonSchemaOptions& opt = {}) {
    auto g = json_schema_grammar(nlohmann::ordered_json::parse(text), opt,
                                 "response_format.json_schema.schema");
    return g.ok() ? std::string("(accepted)") : g.error().message;
}

TEST(HostileInput, JsonSchemas) {
    struct Case {
        std::string schema;
        std::string needle;  // in the message
    };
    const Case cases[] = {
        {nested(R"({"type":"array","items":)", "{}", "}", 10'000), "JSON nested deeper than 1024"},
        {nested(R"({"type":"array","items":)", "{}", "}", 100), "schema nested deeper than 64"},
        {nested(R"({"type":"object","properties":{"a":)", "{}", "}}", 10'000), "nested deeper"},
        {R"({"$ref":"#"})", "left-recursive"},
        {R"({"anyOf":[{"$ref":"#"},{"type":"null"}]})", "left-recursive"},
        {R"({"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"})",
         "left-recursive"},
        {R"({"type":"object","properties":{"a":{"$ref":"#"}},"required":["a"]})",
         "no finite JSON value"},
        {R"({"type":"array","items":{"$ref":"#"},"minItems":1})", "no finite JSON value"},
        {R"({"allOf":[{"$ref":"#"}]})", "allOf nested deeper"},
        {R"({"$ref":"#/$defs/missing"})", "schema/$ref: '#/$defs/missing' names nothing"},
        {R"({"$ref":"https://example.com/s.json"})", "only local references"},
        {R"({"$ref":"#anchor"})", "anchor references"},
        {R"({"type":"string","maxLength":1000000000})",
         "schema/maxLength: 1000000000 is over the supported 10000"},
        {R"({"type":"array","maxItems":1000000000})", "schema/maxItems: 1000000000 is over"},
        {R"({"type":"array","minItems":5,"maxItems":2})",
         "minItems 5 is above the most items allowed (2)"},
        {R"({"type":"array","prefixItems":[{}],"items":false,"minItems":2})",
         "minItems 2 is above"},
        {R"({"type":"string","minLength":5,"maxLength":2})", "minLength 5 is above maxLength 2"},
        {R"({"type":"string","pattern":"(a"})", "schema/pattern: missing ')'"},
        {R"({"type":"string","pattern":"(a)\\1"})", "backreferences are not supported"},
        {R"({"type":"integer","minimum":"x"})", "schema/minimum: must be a number"},
        {R"({"type":"strng"})", "schema/type: must be a type name"},
        {R"({"type":"object","required":"a"})", "schema/required: must be an array of strings"},
        {R"({"type":"object","properties":[]})", "schema/properties: must be an object"},
        {R"({"enum":[]})", "schema/enum: must be a non-empty array"},
        {R"({"type":"string","minLength":-1})", "schema/minLength: must be a non-negative integer"},
        {R"({"type":"string","maxLength":2.5})",
         "schema/maxLength: must be a non-negative integer"},
        {R"({"not":{"type":"null"}})", "schema/not: 'not' is not supported"},
        {R"({"if":{},"then":{}})", "'if' is not supported"},
        {R"({"type":"object","patternProperties":{"^a":{}}})",
         "'patternProperties' is not supported"},
        {R"({"type":"array","uniqueItems":true})", "'uniqueItems' is not supported"},
        {R"({"type":"number","multipleOf":2})", "'multipleOf' is not supported"},
        {R"({"type":"object","minProperties":1})", "'minProperties' is not supported"},
        {R"({"type":"array","contains":{}})", "'contains' is not supported"},
        {R"({"type":"number","minimum":0.5})", "schema/minimum: 0.5 on a number is not supported"},
        {R"({"type":"integer","minimum":10,"maximum":5})", "no integer satisfies"},
        {R"({"type":"integer","exclusiveMinimum":5,"exclusiveMaximum":6})", "no integer satisfies"},
        {R"({"type":"integer","exclusiveMinimum":1e17})", "exclusive bound beyond 2^53"},
        {R"({"type":"integer","minimum":1e30})", "bounds beyond 19 digits"},
        {R"({"type":"string","format":"uri"})", "schema/format: format 'uri' is not supported"},
        {R"({"type":"string","format":"date","maxLength":3})",
         "'format' together with minLength/maxLength"},
        {R"({"type":"string","pattern":"a","minLength":1})", "'pattern' together with 'minLength'"},
        {R"({"type":"integer","enum":["a"]})", "no value of 'enum'/'const' satisfies"},
        {R"({"enum":[1],"minimum":0})", "'minimum' together with enum or const"},
        {R"({"type":"object","properties":{"a":{}},"additionalProperties":false,"required":["b"]})",
         "'b' is required but is not in properties"},
        {R"({"allOf":[{"type":"string"},{"type":"integer"}]})", "allOf parts allow no common type"},
        {R"({"allOf":[{"pattern":"a"},{"pattern":"b"}]})", "allOf parts give different 'pattern'"},
        {R"({"anyOf":[{}],"oneOf":[{}]})", "'anyOf' together with 'oneOf'"},
        {R"({"$ref":"#/$defs/a","minimum":1,"$defs":{"a":{}}})", "'$ref' together with 'minimum'"},
        {R"("a string")", "a schema must be an object or a boolean"},
        {"false", "no finite JSON value"},
        {R"({"type":"object","properties":{"a":{"items":{"not":{}}}}})",
         "schema/properties/a/items/not"},
        {R"({"type":"object","properties":{"a/b~c":{"type":"bogus"}}})",
         "schema/properties/a~1b~0c/type"},
    };
    for (const Case& c : cases) {
        std::string msg = schema_error(c.schema);
        EXPECT_NE(msg.find(c.needle), std::string::npos)
            << c.schema.substr(0, 200) << "\n-> " << msg;
        EXPECT_EQ(msg.rfind("response_format.json_schema.schema", 0), 0u) << msg;
    }
}

TEST(HostileInput, StrictModeRules) {
    JsonSchemaOptions strict;
    strict.strict = true;
    EXPECT_NE(schema_error(R"({"type":"object","properties":{"a":{}}})", strict)
                  .find("additionalProperties"),
              std::string::npos);
    EXPECT_NE(schema_error(R"({"type":"object","properties":{"a":{},"b":{}},"required":["a"],
                              "additionalProperties":false})",
                           strict)
                  .find("'b' is not"),
              std::string::npos);
    EXPECT_NE(
        schema_error(R"({"type":"object","properties":{"o":{"type":"object"}},"required":["o"],
                              "additionalProperties":false})",
                     strict)
            .find("schema/properties/o: strict mode"),
        std::string::npos);
}

TEST(HostileInput, GrammarTooLarge) {
    std::string schema = R"({"type":"object","properties":{)";
    for (int i = 0; i < 40; ++i) {
        if (i) schema += ",";
        schema += fmt::format(R"("p{}":{{"type":"string","maxLength":10000}})", i);
    }
    schema += "}}";
    EXPECT_NE(schema_error(schema).find("over the size limits"), std::string::npos)
        << schema_error(schema);
}

TEST(HostileInput, ExponentialExpansionIsCapped) {
    // Each level names the next twice: merged anyOf alternatives and allOf
    // parts are expanded per use, so the work would double with each level.
    for (const char* combinator : {"anyOf", "allOf"}) {
        std::string defs;
        const int n = 30;
        for (int i = 0; i < n; ++i)
            defs += fmt::format(
                R"({}"d{}":{{"type":"object","{}":[{{"$ref":"#/$defs/d{}"}},{{"$ref":"#/$defs/d{}"}}]}})",
                i ? "," : "", i, combinator, i + 1, i + 1);
        defs += fmt::format(R"(,"d{}":{{"type":"object"}})", n);
        std::string msg = schema_error(R"({"$defs":{)" + defs + R"(},"$ref":"#/$defs/d0"})");
        EXPECT_TRUE(msg.find("expands to more than") != std::string::npos ||
                    msg.find("nested deeper") != std::string::npos)
            << msg;
    }
}

TEST(HostileInput, DeepJsonAndBadUtf8) {
    // Nesting beyond any schema's, refused before it is walked.
    auto deep = nlohmann::ordered_json::parse(R"({"const":)" + nested("[", "1", "]", 20'000) + "}");
    auto g = json_schema_grammar(deep);
    ASSERT_FALSE(g.ok());
    EXPECT_NE(g.error().message.find("nested deeper"), std::string::npos);
    auto deep_plain = nlohmann::json::parse(R"({"const":)" + nested("[", "1", "]", 20'000) + "}");
    EXPECT_FALSE(json_schema_grammar(deep_plain).ok());
    nlohmann::ordered_json bad = {{"const", "\xC3"}};
    auto b = json_schema_grammar(bad);
    ASSERT_FALSE(b.ok());
    EXPECT_NE(b.error().message.find("schema/const: string is not valid UTF-8"), std::string::npos)
        << b.error().message;
    nlohmann::ordered_json bad_key = {{"type", "object"},
                                      {"properties", {{"\xFF", {{"type", "null"}}}}}};
    EXPECT_FALSE(json_schema_grammar(bad_key).ok());
}

TEST(HostileInput, Regexes) {
    const std::pair<std::string, std::string> cases[] = {
        {nested("(", "a", ")", 10'000), "groups nested deeper than 200"},
        {"a{1000000}", "repetition bound over the supported 10000"},
        {"a{1,99999999999999999999}", "over the supported"},
        {std::string(200'000, 'a'), "pattern longer than"},
        {"[", "unterminated character class"},
        {"(?<n", "unterminated group name"},
    };
    for (const auto& [pattern, needle] : cases) {
        auto g = regex_grammar(pattern, "guided_regex");
        ASSERT_FALSE(g.ok()) << pattern.substr(0, 50);
        EXPECT_NE(g.error().message.find(needle), std::string::npos) << g.error().message;
    }
    // Large but allowed: bounded cost, then the grammar's own size limits.
    auto big = regex_grammar("((a{10000}){10000}){10000}");
    EXPECT_TRUE(big.ok());
    auto huge =
        regex_grammar("(a{10000}|b{10000}|c{10000}|d{10000}){10000}" + std::string(500, 'x') +
                      "[a-z]{10000}[0-9]{10000}(x{9999}){2}(y{9999}){2}(z{9999}){3}(w{9999}){5}(v{"
                      "9999}){9}(u{9999}){9}(t{9999}){9}(s{9999}){9}(r{9999}){9}(q{9999}){9}");
    if (!huge.ok()) {
        EXPECT_NE(huge.error().message.find("size limits"), std::string::npos)
            << huge.error().message;
    }
}

TEST(HostileInput, Gbnf) {
    const std::pair<std::string, std::string> cases[] = {
        {"root ::= " + nested("(", "\"a\"", ")", 10'000), "groups nested deeper than 200"},
        {"root ::= x\n", "rule 'x' is used but never defined"},
        {"root ::= root\n", "left-recursive"},
        {"root ::= \"abc", "unterminated literal"},
        {"root ::= \"\\z\"", "unknown escape"},
        {std::string(300'000, '#'), "longer than"},
        {"root ::= [\\x", "expected 2 hex digits"},
        {"root ::= \"\\U00110000\"", "not a character"},
    };
    for (const auto& [text, needle] : cases) {
        auto g = parse_gbnf(text);
        ASSERT_FALSE(g.ok()) << text.substr(0, 50);
        EXPECT_NE(g.error().message.find(needle), std::string::npos) << g.error().message;
    }
    // A long chain of rules, each nullable through the next: linear work.
    std::string chain = "root ::= r0* \"x\"\n";
    for (int i = 0; i < 5000; ++i) chain += fmt::format("r{} ::= r{}? \"a\"?\n", i, i + 1);
    chain += "r5000 ::= \"b\"\n";
    EXPECT_TRUE(parse_gbnf(chain).ok());
}

}  // namespace
}  // namespace ig::grammar::test
