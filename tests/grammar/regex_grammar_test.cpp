#include "grammar/regex_grammar.h"

#include <gtest/gtest.h>

#include <random>
#include <regex>

#include "grammar_oracle.h"

namespace ig::grammar::test {
namespace {

Grammar compile(const std::string& pattern) {
    auto g = regex_grammar(pattern);
    EXPECT_TRUE(g.ok()) << pattern << ": " << (g.ok() ? "" : g.error().message);
    return g.ok() ? std::move(g).value() : Grammar{};
}

// Random strings over a small alphabet (so matches are likely), plus samples
// from the grammar itself (so long matches are covered too).
std::vector<std::string> probes(const Grammar& g, const std::string& alphabet, std::mt19937& rng) {
    std::vector<std::string> out{""};
    for (int i = 0; i < 400; ++i) {
        std::string s;
        int len = static_cast<int>(rng() % 9);
        for (int k = 0; k < len; ++k) s += alphabet[rng() % alphabet.size()];
        out.push_back(s);
    }
    // std::regex works on bytes: only ASCII samples compare.
    for (int i = 0; i < 100; ++i)
        if (auto s = grammar_sample(g, rng, 30); s && std::all_of(s->begin(), s->end(), [](char c) {
                                                     return static_cast<unsigned char>(c) < 0x80;
                                                 }))
            out.push_back(*s);
    return out;
}

TEST(RegexGrammar, AgreesWithStdRegex) {
    struct Case {
        const char* pattern;
        const char* alphabet;
    };
    const Case cases[] = {
        {"abc", "abc"},
        {"a|b|cd", "abcd"},
        {"[a-c]+x?", "abcx"},
        {"(ab|a)*b", "ab"},
        {"\\d{2,4}-\\w+", "12-a_ Z"},
        {"a{0,3}b{2}", "ab"},
        {"[^abc]*", "abcde"},
        {"(a|b)*c", "abc"},
        {"((a|)b)*", "ab"},
        {"(a*)*b", "ab"},
        {"(a?){2,3}c", "ac"},
        {"(?:x|yz)+", "xyz"},
        {".*", "ab\n\r"},
        {"a.c", "abc\n"},
        {"^ab$", "ab"},
        {"^a|b$", "ab"},
        {"\\s\\S\\D\\W", " \tx1_-"},
        {"[\\d.-]+", "1.-a"},
        {"[a\\-z]", "a-zb"},
        {"[\\]\\[]", "[]a"},
        {"\\x41\\u0042", "AB"},
        {"a+?b*?c??", "abc"},
        {"(a|b){3}", "abc"},
        {"[0-9]{1,3}(,[0-9]{3})*", "0123,"},
        {"\\(\\)\\.\\*\\+\\?\\{\\}\\|\\^\\$\\\\\\/", "().*+?{}|^$\\/"},
        {"a{2}", "a"},
        {"a{2,}", "a"},
        {"(ab){0,2}", "ab"},
        {"x*y+z?", "xyz"},
        {"[^\\n]+", "a\nb"},
        {"\\t\\n\\r\\f\\v", "\t\n\r\f\v"},
    };
    std::mt19937 rng(7);
    for (const Case& c : cases) {
        Grammar g = compile(c.pattern);
        std::regex re(c.pattern, std::regex::ECMAScript);
        for (const std::string& s : probes(g, c.alphabet, rng))
            EXPECT_EQ(grammar_accepts(g, s), std::regex_match(s, re))
                << c.pattern << " on \"" << s << "\"";
    }
}

TEST(RegexGrammar, UnicodeClassesAreCodePoints) {
    Grammar g = compile("[à-ÿ]+\\u{1F642}?");
    EXPECT_TRUE(grammar_accepts(g, "\xC3\xA0\xC3\xBF"));
    EXPECT_TRUE(grammar_accepts(g, "\xC3\xA9\xF0\x9F\x99\x82"));
    EXPECT_FALSE(grammar_accepts(g, "a"));
    EXPECT_FALSE(grammar_accepts(g, "\xC3"));
    Grammar dot = compile(".");
    EXPECT_TRUE(grammar_accepts(dot, "\xE2\x82\xAC"));
    EXPECT_TRUE(grammar_accepts(dot, "\xF0\x9F\x99\x82"));
    EXPECT_FALSE(grammar_accepts(dot, "\xE2\x80\xA8"));  // U+2028 is a line terminator
    EXPECT_FALSE(grammar_accepts(dot, "\xED\xA0\x80"));  // a surrogate is not UTF-8
    Grammar pair = compile("\\uD83D\\uDE42");            // a surrogate pair is one character
    EXPECT_TRUE(grammar_accepts(pair, "\xF0\x9F\x99\x82"));
    Grammar neg = compile("[^a]");
    EXPECT_TRUE(grammar_accepts(neg, "\xF4\x8F\xBF\xBF"));
    EXPECT_FALSE(grammar_accepts(neg, "a"));
}

TEST(RegexGrammar, RefusesWhatAGrammarCannotDo) {
    const char* bad[] = {
        "(a)\\1", "(?=a)", "(?!a)",    "(?<=a)b", "(?<!a)b",     "\\bword", "a\\B",   "(?i)a",
        "a^b",    "a$b",   "(a$)",     "*a",      "a**",         "a{2}{3}", "(ab",    "ab)",
        "[ab",    "a\\",   "\\q",      "[z-a]",   "a{3,2}",      "\\p{L}",  "\\k<n>", "\\07",
        "\\x4",   "\\u12", "a{99999}", "\\uD800", "[[:alpha:]]", "\xC3",
    };
    for (const char* p : bad) {
        auto g = regex_grammar(p, "guided_regex");
        ASSERT_FALSE(g.ok()) << p;
        EXPECT_EQ(g.error().message.rfind("guided_regex: ", 0), 0u) << g.error().message;
    }
    auto g = regex_grammar("(a)\\1");
    EXPECT_NE(g.error().message.find("backreference"), std::string::npos) << g.error().message;
    EXPECT_FALSE(regex_grammar("[]").ok());                  // matches nothing at all
    Grammar named = compile("(?<word>[a-z]+)@(?P<host>x)");  // named groups are plain groups
    EXPECT_TRUE(grammar_accepts(named, "ab@x"));
    EXPECT_FALSE(grammar_accepts(named, "@x"));
}

TEST(RegexGrammar, NestedNullableRepetitionIsNotLeftRecursive) {
    for (const char* p :
         {"(a*)*", "(a?|b*)+", "((a*)*)*", "(()|a)*b", "(a{0,2}b?)*c", "(|)*", "()+"}) {
        Grammar g = compile(p);
        std::regex re(p, std::regex::ECMAScript);
        for (std::string s : {"", "a", "aa", "ab", "b", "c", "abc", "aac", "bbc", "abab"})
            EXPECT_EQ(grammar_accepts(g, s), std::regex_match(s, re)) << p << " on " << s;
    }
}

TEST(RegexGrammar, JsonStringContentEscapes) {
    GrammarBuilder b;
    auto r = add_regex(b, "a[\"\\n\\\\]b", "pattern", CharEncoding::JsonStringContent);
    ASSERT_TRUE(r.ok());
    auto g = b.finish(*r);
    ASSERT_TRUE(g.ok());
    EXPECT_TRUE(grammar_accepts(*g, "a\\\"b"));
    EXPECT_TRUE(grammar_accepts(*g, "a\\nb"));
    EXPECT_TRUE(grammar_accepts(*g, "a\\\\b"));
    EXPECT_FALSE(grammar_accepts(*g, "a\"b"));
    EXPECT_FALSE(grammar_accepts(*g, "a\nb"));
}

}  // namespace
}  // namespace ig::grammar::test
