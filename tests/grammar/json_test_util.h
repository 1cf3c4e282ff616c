#pragma once
// Shared helpers of the JSON Schema tests: compile, match, sample.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "grammar/json_schema_grammar.h"
#include "grammar_oracle.h"
#include "schema_check.h"

namespace ig::grammar::test {

inline Grammar compile_schema(const std::string& text, const JsonSchemaOptions& opt = {}) {
    auto schema = nlohmann::ordered_json::parse(text);
    auto g = json_schema_grammar(schema, opt);
    EXPECT_TRUE(g.ok()) << text << "\n" << (g.ok() ? "" : g.error().message);
    if (!g.ok()) return Grammar{};
    return std::move(g).value();
}

inline std::string schema_error(const std::string& text, const JsonSchemaOptions& opt = {}) {
    auto schema = nlohmann::ordered_json::parse(text);
    auto g = json_schema_grammar(schema, opt);
    if (g.ok()) return "";
    return g.error().message;
}

// Samples `n` outputs; each must parse as JSON and satisfy the schema.
inline void expect_samples_valid(const std::string& schema_text, int n = 200,
                                 const JsonSchemaOptions& opt = {}, uint32_t seed = 1) {
    auto schema = nlohmann::ordered_json::parse(schema_text);
    Grammar g = compile_schema(schema_text, opt);
    if (g.rules.empty()) return;
    std::mt19937 rng(seed);
    for (int i = 0; i < n; ++i) {
        auto s = grammar_sample(g, rng, 150);
        ASSERT_TRUE(s.has_value()) << schema_text;
        auto v = nlohmann::ordered_json::parse(*s, nullptr, false);
        ASSERT_FALSE(v.is_discarded()) << schema_text << "\nnot JSON: " << *s;
        std::string why = schema_violation(schema, v);
        ASSERT_EQ(why, "") << schema_text << "\noutput: " << *s;
        ASSERT_TRUE(grammar_accepts(g, *s)) << "the recognizer disagrees with the sampler: " << *s;
    }
}

}  // namespace ig::grammar::test
