#include "grammar/gbnf_parser.h"

#include <gtest/gtest.h>

#include <random>

#include "grammar_oracle.h"

namespace ig::grammar::test {
namespace {

Grammar parse(const std::string& text) {
    auto g = parse_gbnf(text);
    EXPECT_TRUE(g.ok()) << text << "\n" << (g.ok() ? "" : g.error().message);
    return g.ok() ? std::move(g).value() : Grammar{};
}

// In the style of llama.cpp's grammars/json.gbnf.
const char* kJson = R"G(# JSON, as llama.cpp writes it
root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws

object ::=
  "{" ws (
            string ":" ws value
    ("," ws string ":" ws value)*
  )? "}" ws

array  ::=
  "[" ws (
            value
    ("," ws value)*
  )? "]" ws

string ::=
  "\"" (
    [^"\\\x7F\x00-\x1F] |
    "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}) # escapes
  )* "\"" ws

number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws

# Optional space: by convention, applied in this grammar after literal chars when allowed
ws ::= | " " | "\n" [ \t]{0,20}
)G";

TEST(GbnfParser, JsonGrammar) {
    Grammar g = parse(kJson);
    for (const char* ok : {"{}", "{\"a\": 1}", "{\"a\":[1, 2.5e3, \"x\\n\", {\"b\": null}]}", "{ }",
                           "{\"k\": true}\n", "{\"u\": \"\\u00e9\"}"})
        EXPECT_TRUE(grammar_accepts(g, ok)) << ok;
    for (const char* bad :
         {"[]", "{\"a\" 1}", "{\"a\":01x}", "{'a':1}", "{\"a\":1,}", "{\"\x01\":1}"})
        EXPECT_FALSE(grammar_accepts(g, bad)) << bad;
    std::mt19937 rng(3);
    for (int i = 0; i < 100; ++i) {
        auto s = grammar_sample(g, rng, 100);
        ASSERT_TRUE(s);
        EXPECT_TRUE(grammar_accepts(g, *s)) << *s;
    }
}

TEST(GbnfParser, Arithmetic) {
    Grammar g = parse(R"G(
root  ::= (expr "=" ws term "\n")+
expr  ::= term ([-+*/] term)*
term  ::= ident | num | "(" ws expr ")" ws
ident ::= [a-z] [a-z0-9_]* ws
num   ::= [0-9]+ ws
ws    ::= [ \t\n]*
)G");
    EXPECT_TRUE(grammar_accepts(g, "1+2=3\n"));
    EXPECT_TRUE(grammar_accepts(g, "(a +b_1)*c = x\nq=1\n"));
    EXPECT_FALSE(grammar_accepts(g, "1+=3\n"));
    EXPECT_FALSE(grammar_accepts(g, "1+2=3"));
}

TEST(GbnfParser, List) {
    Grammar g = parse(R"G(root ::= item+
# Excludes various line break characters
item ::= "- " [^\r\n\x0b\x0c\x85\u2028\u2029]+ "\n")G");
    EXPECT_TRUE(grammar_accepts(g, "- one\n- two \xC3\xA9\n"));
    EXPECT_FALSE(grammar_accepts(g,
                                 "- one\n"
                                 "-  \xE2\x80\xA8\n"));
    EXPECT_FALSE(grammar_accepts(g, ""));
    EXPECT_FALSE(grammar_accepts(g, "- \n"));
}

TEST(GbnfParser, SyntaxDetails) {
    Grammar g = parse(R"G(root ::= "a"{2} "b"{1,} "c"{0,2} "d"{,1} x? . [^x-z]
x ::= "\x41\u00e9\U0001F642\t\"\\\[\]")G");
    EXPECT_TRUE(grammar_accepts(g,
                                "aab\xE2\x82\xAC"
                                "a"));
    EXPECT_TRUE(grammar_accepts(g,
                                "aabbbccd"
                                "A\xC3\xA9\xF0\x9F\x99\x82\t\"\\[]"
                                "\nw"));
    EXPECT_FALSE(grammar_accepts(g,
                                 "abz"
                                 "a"));
    EXPECT_FALSE(grammar_accepts(g, "aab!y"));
    // A rule continues on the next line unless that line starts a new rule; `|` may lead a line.
    Grammar alt = parse("root ::= \"a\"\n   | \"b\"\n   \"c\"\nother ::= \"x\"\n");
    EXPECT_TRUE(grammar_accepts(alt, "a"));
    EXPECT_TRUE(grammar_accepts(alt, "bc"));
    EXPECT_FALSE(grammar_accepts(alt, "b"));
    // Repeating something that can match "" is fine (not left recursion).
    Grammar nullable = parse("root ::= (\"a\"? | x)* \"b\"\nx ::= \"c\"*\n");
    EXPECT_TRUE(grammar_accepts(nullable, "b"));
    EXPECT_TRUE(grammar_accepts(nullable, "acacccab"));
    EXPECT_FALSE(grammar_accepts(nullable, "ad"));
}

TEST(GbnfParser, ErrorsGiveLineAndColumn) {
    struct Bad {
        const char* text;
        const char* needle;
    };
    const Bad cases[] = {
        {"root ::= foo\n", "line 1:10: rule 'foo' is used but never defined"},
        {"root ::= \"abc\n", "line 1:10: unterminated literal"},
        {"root ::= [abc\n", "line 1:10: unterminated character class"},
        {"root ::= \"\\q\"", "line 1:11: unknown escape"},
        {"root ::= \"\\x4\"", "expected 2 hex digits"},
        {"root ::= \"\\uD800\"", "not a character"},
        {"x ::= \"a\"\n", "no 'root' rule"},
        {"", "no 'root' rule"},
        {"root ::= root \"a\"\n", "left-recursive"},
        {"root ::= a\na ::= b | \"x\"\nb ::= a \"y\"", "left-recursive"},
        {"root ::= \"a\"\nroot ::= \"b\"\n", "line 2:1: rule 'root' is defined twice"},
        {"root ::= ( \"a\"\n", "expected ')'"},
        {"root ::= \"a\" )\n", "line 1:14: expected the end of the line"},
        {"root = \"a\"\n", "expected '::='"},
        {"root ::= * \"a\"\n", "nothing before it to repeat"},
        {"root ::= \"a\"**\n", "follows another repetition"},
        {"root ::= \"a\"{3,1}\n", "max below min"},
        {"root ::= \"a\"{100000}\n", "over the supported"},
        {"root ::= <[1234]>\n", "token references are not supported"},
        {"root ::= [z-a]\n", "range out of order"},
        {"root ::= \"a\" root\n", "matches no finite text"},
        {"root ::= \"\xC3\"\n", "not valid UTF-8"},
    };
    for (const Bad& c : cases) {
        auto g = parse_gbnf(c.text);
        ASSERT_FALSE(g.ok()) << c.text;
        EXPECT_NE(g.error().message.find(c.needle), std::string::npos)
            << c.text << " -> " << g.error().message;
        EXPECT_EQ(g.error().message.rfind("grammar: ", 0), 0u) << g.error().message;
    }
}

}  // namespace
}  // namespace ig::grammar::test
