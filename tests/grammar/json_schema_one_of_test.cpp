// oneOf is decoded as anyOf, so only alternatives that can never match one
// value together are accepted; the rest are refused with the pair named.
#include <gtest/gtest.h>

#include "grammar/json_schema_grammar.h"

namespace ig::grammar {
namespace {

bool compiles(const char* schema) {
    return json_schema_grammar(nlohmann::ordered_json::parse(schema)).ok();
}

TEST(JsonSchemaOneOf, DisjointAlternativesCompile) {
    EXPECT_TRUE(compiles(R"({"oneOf":[{"type":"string"},{"type":"integer"},{"type":"null"}]})"));
    EXPECT_TRUE(compiles(R"({"oneOf":[{"const":"a"},{"const":"b"},{"enum":[1,2]}]})"));
    EXPECT_TRUE(compiles(R"({"oneOf":[{"const":"a"},{"type":"integer"}]})"));
    // Closed objects whose required properties the other has no place for.
    EXPECT_TRUE(compiles(R"({"oneOf":[
        {"type":"object","properties":{"cat":{"type":"string"}},"required":["cat"],"additionalProperties":false},
        {"type":"object","properties":{"dog":{"type":"integer"}},"required":["dog"],"additionalProperties":false}]})"));
    // A tagged union through $defs, as pydantic writes discriminated unions.
    EXPECT_TRUE(compiles(R"({"$defs":{
        "Cat":{"type":"object","properties":{"kind":{"const":"cat"},"lives":{"type":"integer"}},"required":["kind"]},
        "Dog":{"type":"object","properties":{"kind":{"enum":["dog","puppy"]}},"required":["kind"]}},
        "oneOf":[{"$ref":"#/$defs/Cat"},{"$ref":"#/$defs/Dog"}]})"));
}

TEST(JsonSchemaOneOf, AlternativesThatMayOverlapAreRefused) {
    for (
        const char* s : {
            R"({"oneOf":[{"type":"integer"},{"minimum":2}]})",
            R"({"oneOf":[{"type":"integer"},{"type":"number"}]})",
            R"({"type":"string","oneOf":[{"minLength":2},{"maxLength":4}]})",
            R"({"oneOf":[{"const":1},{"enum":[2,1]}]})",
            R"({"oneOf":[{"type":"object","properties":{"a":{"type":"string"}}},{"type":"object"}]})",
            R"({"oneOf":[{"type":"object","properties":{"k":{"const":"x"}}},
                          {"type":"object","properties":{"k":{"const":"y"}}}]})",  // k not required
        }) {
        auto g = json_schema_grammar(nlohmann::ordered_json::parse(s));
        ASSERT_FALSE(g.ok()) << s;
        EXPECT_NE(g.error().message.find("may both match"), std::string::npos) << g.error().message;
    }
}

}  // namespace
}  // namespace ig::grammar
