#include "grammar/json_schema_grammar.h"

#include <gtest/gtest.h>

#include "json_test_util.h"

namespace ig::grammar::test {
namespace {

struct Case {
    std::string schema;
    std::vector<std::string> accepted;
    std::vector<std::string> rejected;
};

void run_cases(const std::vector<Case>& cases, const JsonSchemaOptions& opt = {}) {
    for (const Case& c : cases) {
        Grammar g = compile_schema(c.schema, opt);
        for (const auto& text : c.accepted)
            EXPECT_TRUE(grammar_accepts(g, text)) << c.schema << "\nshould accept: " << text;
        for (const auto& text : c.rejected)
            EXPECT_FALSE(grammar_accepts(g, text)) << c.schema << "\nshould reject: " << text;
    }
}

TEST(JsonSchemaGrammar, ScalarTypes) {
    run_cases({
        {R"({"type":"string"})",
         {R"("")", R"("abc")", R"("a\"b\\c\/\b\f\n\r\t")", R"("\u00e9\u20AC")",
          "\"h\xC3\xA9llo \xF0\x9F\x99\x82\""},
         {R"(abc)", R"("a)", R"("\x")", R"("\u12")", R"("\ud800")", "\"a\nb\"", "\"\x01\"",
          R"("a"b")", "\"\xC3\"", R"(1)", R"(null)"}},
        {R"({"type":"integer"})",
         {"0", "-1", "7", "1234567890", "-9999999999999999"},
         {"01", "-0", "1.0", "1e5", "+1", "--1", "", " 1", "\"1\"", "99999999999999999"}},
        {R"({"type":"number"})",
         {"0", "-0", "0.5", "-12.25e-3", "1E+10", "3e07", "9999999999999999.9999999999999999e99"},
         {"01", ".5", "5.", "1e", "1e+", "+1", "0x10", "1e100", "NaN", "Infinity"}},
        {R"({"type":"boolean"})", {"true", "false"}, {"True", "1", "null", "tru"}},
        {R"({"type":"null"})", {"null"}, {"nul", "None", "false"}},
        {R"({"type":["string","null"]})", {"null", R"("x")"}, {"1"}},
        {R"({"type":"string","nullable":true})", {"null", R"("x")"}, {"1"}},
    });
}

TEST(JsonSchemaGrammar, AnyValueSchemas) {
    for (const char* s :
         {"{}", "true", R"({"description":"anything","title":"t","$comment":"c"})"}) {
        run_cases({{s,
                    {"1", "\"s\"", "null", "[1,[2,{\"a\":[]}]]",
                     "{\"a\":{\"b\":null}, \"c\" : [ true ]}", "-0.5e3"},
                    {"", "{", "[1,]", "{\"a\"}", "{'a':1}", "[1 2]", "tru"}}});
    }
    EXPECT_NE(schema_error("false"), "");
}

TEST(JsonSchemaGrammar, ObjectsInOrderWithOptionalProperties) {
    run_cases({
        {R"({"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},"ok":{"type":"boolean"}},
             "required":["name"],"additionalProperties":false})",
         {R"({"name":"x"})", R"({"name":"x","age":3})", R"({"name":"x","ok":true})",
          R"({"name":"x","age":3,"ok":false})", "{\n  \"name\": \"x\",\n  \"age\": 3\n}",
          R"({ "name" : "x" , "ok" : true })"},
         {R"({})", R"({"age":3})", R"({"age":3,"name":"x"})", R"({"name":"x","extra":1})",
          R"({"name":1})", R"({"name":"x",})", R"({"name":"x","age":"3"})",
          R"({"name":"x","age":3,"age":4})", "{  \"name\":\"x\"}", "{\"name\":\"x\"}\n"}},
        // additionalProperties defaults to true outside strict mode; extra keys come after the
        // declared ones
        {R"({"type":"object","properties":{"a":{"type":"integer"}}})",
         {R"({})", R"({"a":1})", R"({"a":1,"b":"x"})", R"({"b":[1]})", R"({"a":1,"ab":2,"b":3})"},
         {R"({"a":"x"})", R"({"b":1,"a":2})", R"({"a":1,"a":2})"}},
        {R"({"type":"object","additionalProperties":{"type":"integer"}})",
         {R"({})", R"({"x":1,"y":2})"},
         {R"({"x":"1"})"}},
        {R"({"type":"object","required":["id"]})",
         {R"({"id":null})", R"({"id":1,"x":2})"},
         {R"({})", R"({"x":2})"}},
    });
}

TEST(JsonSchemaGrammar, ArraysAndTuples) {
    run_cases({
        {R"({"type":"array","items":{"type":"integer"},"minItems":1,"maxItems":3})",
         {"[1]", "[1,2]", "[1, 2, 3]", "[ 1 ]"},
         {"[]", "[1,2,3,4]", "[1,]", "[\"a\"]", "[,1]"}},
        {R"({"type":"array","items":{"type":"string"}})",
         {"[]", R"(["a","b"])"},
         {R"([1])", "[", R"(["a",])"}},
        {R"({"type":"array","prefixItems":[{"type":"integer"},{"type":"string"}],"items":false})",
         {"[]", "[1]", R"([1,"a"])"},
         {R"([1,"a",2])", R"(["a"])", R"([1,2])"}},
        {R"({"type":"array","prefixItems":[{"type":"integer"},{"type":"string"}],"minItems":2,"items":{"type":"boolean"}})",
         {R"([1,"a"])", R"([1,"a",true,false])"},
         {"[1]", R"([1,"a",1])"}},
        {R"({"type":"array","items":[{"type":"integer"}],"additionalItems":false})",
         {"[]", "[5]"},
         {"[5,5]"}},
        {R"({"type":"array","maxItems":0})", {"[]"}, {"[1]"}},
    });
}

TEST(JsonSchemaGrammar, StringLengthsCountCodePoints) {
    run_cases({{R"({"type":"string","minLength":2,"maxLength":3})",
                {R"("ab")", R"("abc")", "\"\xC3\xA9\xC3\xA9\"", R"("\n\u00e9")",
                 "\"\xF0\x9F\x99\x82\xF0\x9F\x99\x82\""},
                {R"("a")", R"("abcd")", R"("")", "\"\xF0\x9F\x99\x82\""}}});
}

TEST(JsonSchemaGrammar, EnumAndConst) {
    run_cases({
        {R"({"enum":["red","green",1,null,{"a":[1,2]},true]})",
         {R"("red")", R"("green")", "1", "null", R"({"a":[1,2]})", "true"},
         {R"("blue")", R"("re")", "2", R"({"a": [1,2]})", "false", R"("red" )"}},
        {R"({"type":"string","enum":["a",1,"b"]})", {R"("a")", R"("b")"}, {"1"}},
        {R"({"const":"fixed"})", {R"("fixed")"}, {R"("fixe")", R"("fixedx")"}},
        {R"({"const":{"k":"v\"q","n":1.5}})",
         {R"({"k":"v\"q","n":1.5})"},
         {R"({"n":1.5,"k":"v\"q"})"}},
        {R"({"enum":["é","e"]})", {"\"\xC3\xA9\"", "\"e\""}, {"\"\\u00e9\""}},
    });
    EXPECT_NE(schema_error(R"({"type":"integer","enum":["a","b"]})"), "");
}

TEST(JsonSchemaGrammar, AnyOfOneOfAllOf) {
    run_cases({
        {R"({"anyOf":[{"type":"integer","minimum":10},{"type":"string","maxLength":1}]})",
         {"10", "99", R"("x")", R"("")"},
         {"9", R"("xy")", "null"}},
        {R"({"oneOf":[{"type":"boolean"},{"type":"null"}]})", {"true", "null"}, {"1"}},
        {R"({"allOf":[{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]},
                      {"properties":{"b":{"type":"string"}},"required":["b"]}]})",
         {R"({"a":1,"b":"x"})", R"({"a":1,"b":"x","c":1})"},
         {R"({"a":1})", R"({"b":"x"})", R"({"a":"1","b":"x"})"}},
        {R"({"allOf":[{"type":"integer","minimum":0},{"maximum":10},{"minimum":5}]})",
         {"5", "10"},
         {"4", "11"}},
        {R"({"type":"object","properties":{"kind":{"type":"string"}},"required":["kind"],
             "anyOf":[{"properties":{"x":{"type":"integer"}},"required":["x"]},
                      {"properties":{"y":{"type":"boolean"}},"required":["y"]}]})",
         {R"({"kind":"a","x":1})", R"({"kind":"b","y":true})"},
         {R"({"kind":"a"})", R"({"kind":"a","x":true})"}},
    });
    // additionalProperties: false beside allOf/anyOf refuses the parts' properties: not mergeable
    EXPECT_NE(schema_error(R"({"allOf":[{"properties":{"a":{}}}],"additionalProperties":false})"),
              "");
    EXPECT_NE(schema_error(R"({"type":"object","properties":{"k":{}},"additionalProperties":false,
                              "anyOf":[{"properties":{"x":{}}}]})"),
              "");
}

TEST(JsonSchemaGrammar, RefsAndRecursion) {
    run_cases({
        {R"({"$defs":{"pos":{"type":"integer","minimum":1}},"type":"array","items":{"$ref":"#/$defs/pos"}})",
         {"[]", "[1,2]"},
         {"[0]"}},
        {R"({"definitions":{"s":{"type":"string"}},"$ref":"#/definitions/s"})", {R"("x")"}, {"1"}},
        {R"({"type":"object","properties":{"v":{"type":"integer"},"next":{"anyOf":[{"$ref":"#"},{"type":"null"}]}},
             "required":["v","next"],"additionalProperties":false})",
         {R"({"v":1,"next":null})", R"({"v":1,"next":{"v":2,"next":{"v":3,"next":null}}})"},
         {R"({"v":1})", R"({"v":1,"next":{"v":2}})"}},
        {R"({"$defs":{"tree":{"type":"object","properties":{"kids":{"type":"array","items":{"$ref":"#/$defs/tree"}}},
             "additionalProperties":false}},"$ref":"#/$defs/tree"})",
         {R"({})", R"({"kids":[]})", R"({"kids":[{"kids":[{}]},{}]})"},
         {R"({"kids":[1]})"}},
        {R"({"$defs":{"a~b/c":{"type":"null"}},"$ref":"#/$defs/a~0b~1c"})", {"null"}, {"1"}},
    });
}

TEST(JsonSchemaGrammar, Formats) {
    run_cases({
        {R"({"type":"string","format":"date"})",
         {R"("2024-02-29")", R"("2023-12-31")", R"("2000-02-29")", R"("1999-04-30")"},
         {R"("2023-02-29")", R"("1900-02-29")", R"("2023-13-01")", R"("2023-04-31")",
          R"("2023-1-01")", R"("0999-01-01")"}},
        {R"({"type":"string","format":"time"})",
         {R"("23:59:59Z")", R"("00:00:00.123+05:30")", R"("12:30:00-08:00")"},
         {R"("24:00:00Z")", R"("12:60:00Z")", R"("12:00:00")", R"("12:00Z")"}},
        {R"({"type":"string","format":"date-time"})",
         {R"("2024-01-15T10:20:30Z")"},
         {R"("2024-01-15 10:20:30Z")"}},
        {R"({"type":"string","format":"uuid"})",
         {R"("123e4567-e89b-12d3-a456-426614174000")"},
         {R"("123e4567e89b12d3a456426614174000")", R"("123e4567-e89b-12d3-a456-42661417400")"}},
        {R"({"type":"string","format":"email"})",
         {R"("a.b+c@example.co.uk")"},
         {R"("a@b")", R"("a..b@x.com")", R"(".a@x.com")", R"("a@-x.com")"}},
        {R"({"type":"string","format":"ipv4"})",
         {R"("192.168.0.1")", R"("0.0.0.0")", R"("255.255.255.255")"},
         {R"("256.1.1.1")", R"("01.1.1.1")", R"("1.1.1")"}},
    });
}

TEST(JsonSchemaGrammar, PatternsMatchTheDecodedString) {
    run_cases({
        {R"({"type":"string","pattern":"^[a-z]{2,3}-\\d+$"})",
         {R"("ab-1")", R"("abc-123")"},
         {R"("a-1")", R"("ab-")", R"("AB-1")"}},
        // a quote or a newline the pattern allows is written escaped inside the JSON string
        {R"({"type":"string","pattern":"a\"b\\nc"})",
         {R"("a\"b\nc")"},
         {"\"a\"b\nc\"", R"("a\"bnc")"}},
        {R"({"type":"string","pattern":"[^a]"})",
         {R"("b")", R"("\"")", R"("\\")", R"("\u0001")"},
         {R"("a")", R"("")"}},
    });
}

TEST(JsonSchemaGrammar, NumberBoundsWhereExact) {
    run_cases({
        {R"({"type":"number","minimum":0})",
         {"0", "0.5", "1e5", "1e-5", "12.5"},
         {"-1", "-0.5", "-0"}},
        {R"({"type":"number","minimum":-2,"maximum":3})",
         {"-2", "-1.5", "0", "2.999", "3", "-0.25"},
         {"-2.5", "3.5", "4", "-3", "3.0001", "1e0"}},
        {R"({"type":"number","exclusiveMaximum":0})",
         {"-1", "-0.5", "-0.001", "-5000.5"},
         {"0", "0.5", "-0", "-0.0", "-5e3"}},
        {R"({"type":"number","exclusiveMinimum":0})",
         {"0.5", "0.00000000000001", "3", "1.25"},
         {"0", "0.0", "-1", "0.0000000000000001", "1e5"}},
        {R"({"type":"number","exclusiveMinimum":-3,"exclusiveMaximum":2})",
         {"-2.5", "-2.99", "1.5", "1.99999", "0", "-0.5", "1"},
         {"-3", "2", "-3.0", "2.0", "2.5", "-3.5"}},
    });
    EXPECT_NE(schema_error(R"({"type":"number","minimum":0.5})"), "");
}

TEST(JsonSchemaGrammar, NumberFormats) {
    run_cases({
        {R"({"type":"integer","format":"int32"})",
         {"2147483647", "-2147483648", "0"},
         {"2147483648", "-2147483649"}},
        {R"({"type":"number","format":"int32","minimum":5})",
         {"5", "2147483647"},
         {"4", "5.5", "2147483648"}},
        {R"({"type":"integer","format":"int64"})", {"9999999999999999"}, {"1.5"}},
        {R"({"type":"number","format":"double"})", {"1.5", "-2e10"}, {"x"}},
    });
    EXPECT_NE(schema_error(R"({"type":"integer","format":"uint8"})")
                  .find("format 'uint8' is not supported for numbers"),
              std::string::npos);
}

TEST(JsonSchemaGrammar, CompactAndStrictOptions) {
    JsonSchemaOptions compact;
    compact.any_whitespace = false;
    run_cases({{R"({"type":"object","properties":{"a":{"type":"array"}}})",
                {R"({"a":[1,2]})"},
                {R"({ "a":[1,2]})", R"({"a": [1,2]})", R"({"a":[1, 2]})"}}},
              compact);
    JsonSchemaOptions strict;
    strict.strict = true;
    run_cases(
        {{R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":["string","null"]}},
                 "required":["a","b"],"additionalProperties":false})",
          {R"({"a":1,"b":null})"},
          {R"({"a":1})", R"({"a":1,"b":"x","c":1})"}}},
        strict);
    EXPECT_NE(
        schema_error(R"({"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]})",
                     strict),
        "");
    EXPECT_NE(
        schema_error(
            R"({"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":false})",
            strict),
        "");
}

TEST(JsonSchemaGrammar, WhitespaceIsBounded) {
    Grammar g = compile_schema(R"({"type":"array"})");
    EXPECT_TRUE(grammar_accepts(g, "[\n" + std::string(20, ' ') + "1\n]"));
    EXPECT_TRUE(grammar_accepts(g, "[\n\n\t1]"));
    EXPECT_FALSE(grammar_accepts(g, "[\n" + std::string(21, ' ') + "1]"));
    EXPECT_FALSE(grammar_accepts(g, "[\n\n\n1]"));
    EXPECT_FALSE(grammar_accepts(g, "[  1]"));
    EXPECT_FALSE(grammar_accepts(g, " [1]"));
}

TEST(JsonSchemaGrammar, PropertyOrderFollowsTheSchema) {
    // ordered_json keeps "z" before "a"; nlohmann::json sorts keys.
    const char* text =
        R"({"type":"object","properties":{"z":{"type":"integer"},"a":{"type":"integer"}},
                           "required":["z","a"],"additionalProperties":false})";
    auto ordered = json_schema_grammar(nlohmann::ordered_json::parse(text));
    ASSERT_TRUE(ordered.ok());
    EXPECT_TRUE(grammar_accepts(*ordered, R"({"z":1,"a":2})"));
    EXPECT_FALSE(grammar_accepts(*ordered, R"({"a":2,"z":1})"));
    auto sorted = json_schema_grammar(nlohmann::json::parse(text));
    ASSERT_TRUE(sorted.ok());
    EXPECT_TRUE(grammar_accepts(*sorted, R"({"a":2,"z":1})"));
}

TEST(JsonSchemaGrammar, ObjectGrammar) {
    auto g = json_object_grammar();
    ASSERT_TRUE(g.ok());
    EXPECT_TRUE(grammar_accepts(*g, R"({})"));
    EXPECT_TRUE(grammar_accepts(*g, R"({"a": [1, {"b": null}], "c": "d"})"));
    EXPECT_FALSE(grammar_accepts(*g, "[]"));
    EXPECT_FALSE(grammar_accepts(*g, "1"));
}

TEST(JsonSchemaGrammar, EmbedsInAnExistingBuilder) {
    GrammarBuilder b;
    auto args =
        add_json_schema(b, nlohmann::ordered_json::parse(R"({"type":"integer","minimum":1})"), {},
                        "tools[0].function.parameters");
    ASSERT_TRUE(args.ok());
    Sequence call = b.literal("<call>");
    call.push_back(GrammarBuilder::ref(*args));
    Sequence end = b.literal("</call>");
    call.insert(call.end(), end.begin(), end.end());
    auto g = b.finish(b.add_rule("root", {call}));
    ASSERT_TRUE(g.ok());
    EXPECT_TRUE(grammar_accepts(*g, "<call>42</call>"));
    EXPECT_FALSE(grammar_accepts(*g, "<call>0</call>"));
}

TEST(JsonSchemaGrammar, SampledOutputsAreValid) {
    const char* schemas[] = {
        R"({"type":"object","properties":{"name":{"type":"string","minLength":1,"maxLength":8},
            "age":{"type":"integer","minimum":0,"maximum":150},"email":{"type":"string","format":"email"},
            "tags":{"type":"array","items":{"enum":["a","b","c"]},"maxItems":4},
            "born":{"type":"string","format":"date"}},"required":["name","age"]})",
        R"({"type":"object","properties":{"id":{"type":"string","format":"uuid"},"at":{"type":"string","format":"date-time"},
            "ip":{"type":"string","format":"ipv4"},"t":{"type":"string","format":"time"}},
            "required":["id","at","ip","t"],"additionalProperties":false})",
        R"({"type":"array","prefixItems":[{"type":"number","minimum":-3,"maximum":7},{"type":"boolean"}],
            "items":{"type":"integer","exclusiveMinimum":-5,"exclusiveMaximum":5},"minItems":1,"maxItems":6})",
        R"({"anyOf":[{"type":"string","pattern":"^[A-Z][a-z]{1,4}( [A-Z][a-z]{1,4})?$"},{"type":"null"},
            {"type":"number","exclusiveMinimum":0}]})",
        R"({"type":"object","properties":{"v":{"type":"integer"},"next":{"anyOf":[{"$ref":"#"},{"type":"null"}]}},
            "required":["v","next"],"additionalProperties":false})",
        R"({"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":{"type":"string","maxLength":3}})",
        R"({"type":"object","properties":{"a":{"const":1},"b":{"type":"object"}},"required":["a"]})",
        R"({"type":"string","pattern":"[\"\\\\]x[ \t]"})",
        R"({"allOf":[{"type":"integer","minimum":-1000},{"maximum":-57},{"exclusiveMinimum":-1001}]})",
        R"({"type":"array","items":{"type":"array","items":{"type":["string","integer","null"]},"minItems":2}})",
        "{}",
    };
    for (const char* s : schemas) expect_samples_valid(s, 150);
}

}  // namespace
}  // namespace ig::grammar::test
