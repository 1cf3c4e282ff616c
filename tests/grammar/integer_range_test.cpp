// Integer bounds are compiled exactly: every integer in a window is
// accepted exactly when it is within the bounds.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "grammar/json_number_rules.h"
#include "json_test_util.h"

namespace ig::grammar::test {
namespace {

struct Bounds {
    std::optional<long long> lo, hi;
    bool lo_exclusive = false, hi_exclusive = false;
};

std::string schema_of(const Bounds& b) {
    std::string s = R"({"type":"integer")";
    if (b.lo)
        s += fmt::format(R"(,"{}":{})", b.lo_exclusive ? "exclusiveMinimum" : "minimum", *b.lo);
    if (b.hi)
        s += fmt::format(R"(,"{}":{})", b.hi_exclusive ? "exclusiveMaximum" : "maximum", *b.hi);
    return s + "}";
}

bool within(const Bounds& b, long long v) {
    if (b.lo && (b.lo_exclusive ? v <= *b.lo : v < *b.lo)) return false;
    if (b.hi && (b.hi_exclusive ? v >= *b.hi : v > *b.hi)) return false;
    return true;
}

TEST(IntegerRange, EveryIntegerInAWindow) {
    const Bounds cases[] = {
        {-57, 1003},
        {0, 9},
        {10, 99},
        {-1, 1},
        {-1200, 1200},
        {0, 0},
        {7, 7},
        {-100, -10},
        {-999, -1},
        {1, 1000},
        {99, 101},
        {-5, 5, true, true},
        {0, 100, true, false},
        {-10, 0, false, true},
        {std::nullopt, 42},
        {-42, std::nullopt},
        {std::nullopt, -17, false, true},
        {123, std::nullopt, true},
        {-1199, 1199},
        {19, 1000},
        {-1000, -19},
        {900, 1100},
        {0, 999},
    };
    for (const Bounds& b : cases) {
        std::string schema = schema_of(b);
        Grammar g = compile_schema(schema);
        for (long long v = -1200; v <= 1200; ++v)
            ASSERT_EQ(grammar_accepts(g, std::to_string(v)), within(b, v)) << schema << " at " << v;
        // Leading zeros, "-0" and "+" never.
        EXPECT_FALSE(grammar_accepts(g, "-0"));
        EXPECT_FALSE(grammar_accepts(g, "007"));
        EXPECT_FALSE(grammar_accepts(g, "+5"));
    }
}

TEST(IntegerRange, NonIntegerAndLargeBounds) {
    // Bounds that are not integers round inwards.
    Grammar g = compile_schema(R"({"type":"integer","minimum":2.5,"exclusiveMaximum":7.5})");
    for (int v = 0; v <= 10; ++v)
        EXPECT_EQ(grammar_accepts(g, std::to_string(v)), v >= 3 && v <= 7) << v;
    Grammar g2 = compile_schema(R"({"type":"integer","exclusiveMinimum":2.0,"maximum":4.0})");
    for (int v = 0; v <= 10; ++v)
        EXPECT_EQ(grammar_accepts(g2, std::to_string(v)), v >= 3 && v <= 4) << v;
    // int64 limits.
    Grammar big = compile_schema(
        R"({"type":"integer","minimum":-9223372036854775808,"maximum":9223372036854775807})");
    EXPECT_TRUE(grammar_accepts(big, "9223372036854775807"));
    EXPECT_TRUE(grammar_accepts(big, "-9223372036854775808"));
    EXPECT_FALSE(grammar_accepts(big, "9223372036854775808"));
    EXPECT_FALSE(grammar_accepts(big, "-9223372036854775809"));
    Grammar half = compile_schema(R"({"type":"integer","minimum":100000000000000000})");
    EXPECT_TRUE(grammar_accepts(half, "100000000000000000"));
    EXPECT_TRUE(grammar_accepts(half, "999999999999999999"));
    EXPECT_FALSE(grammar_accepts(half, "99999999999999999"));
    // Without bounds an integer has at most 16 digits, so every parser holds it.
    Grammar plain = compile_schema(R"({"type":"integer","minimum":0})");
    EXPECT_TRUE(grammar_accepts(plain, "9999999999999999"));
    EXPECT_FALSE(grammar_accepts(plain, "10000000000000000"));
}

TEST(IntegerRange, RangeRuleDirect) {
    // The builder-level helper over a few awkward spans.
    for (auto [lo, hi] : {std::pair<int, int>{0, 0},
                          {1, 9},
                          {9, 10},
                          {95, 105},
                          {-105, -95},
                          {-9, 9},
                          {199, 2001}}) {
        GrammarBuilder b;
        uint32_t r = integer_range_rule(b, lo, hi, "r");
        auto g = b.finish(r);
        ASSERT_TRUE(g.ok());
        for (int v = -2100; v <= 2100; ++v)
            ASSERT_EQ(grammar_accepts(*g, std::to_string(v)), v >= lo && v <= hi)
                << lo << ".." << hi << " at " << v;
    }
}

TEST(NumberRange, DecimalsAgainstBounds) {
    // Every multiple of 0.25 (written in several forms) in a window.
    struct NB {
        const char* schema;
        double lo, hi;
        bool lo_ex, hi_ex;
    };
    const NB cases[] = {
        {R"({"type":"number","minimum":-3,"maximum":2})", -3, 2, false, false},
        {R"({"type":"number","exclusiveMinimum":-3,"exclusiveMaximum":2})", -3, 2, true, true},
        {R"({"type":"number","exclusiveMinimum":0,"maximum":1})", 0, 1, true, false},
        {R"({"type":"number","minimum":1,"exclusiveMaximum":4})", 1, 4, false, true},
        {R"({"type":"number","minimum":-7,"exclusiveMaximum":-2})", -7, -2, false, true},
    };
    for (const NB& c : cases) {
        Grammar g = compile_schema(c.schema);
        for (int q = -40; q <= 40; ++q) {
            double v = q / 4.0;
            bool in = (c.lo_ex ? v > c.lo : v >= c.lo) && (c.hi_ex ? v < c.hi : v <= c.hi);
            std::string text = fmt::format("{}", v);  // shortest form: "2", "-0.25", "1.5"
            if (text == "-0") continue;
            EXPECT_EQ(grammar_accepts(g, text), in) << c.schema << " at " << text;
            if (in) {
                // The grammar may refuse some valid spellings (exponents, -0.0) but never accept an
                // invalid one.
                continue;
            }
            for (std::string alt :
                 {fmt::format("{:.2f}", v), fmt::format("{:.1f}", v), fmt::format("{:e}", v)})
                EXPECT_FALSE(grammar_accepts(g, alt)) << c.schema << " at " << alt;
        }
        expect_samples_valid(c.schema, 200);
    }
}

}  // namespace
}  // namespace ig::grammar::test
