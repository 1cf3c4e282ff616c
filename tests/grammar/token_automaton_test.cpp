// The matcher: token masks against a brute-force oracle over finite
// languages, UTF-8 classes, repetition in constant space, control and end
// tokens, padded logits.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "grammar/grammar.h"
#include "grammar/grammar_matcher.h"
#include "grammar/token_automaton.h"
#include "util/utf8.h"

namespace ig::grammar {
namespace {

std::shared_ptr<const VocabTrie> trie(std::vector<std::string> pieces,
                                      std::vector<int32_t> end = {},
                                      std::vector<int32_t> control = {}) {
    TokenVocab v;
    v.pieces = std::move(pieces);
    v.control.assign(v.pieces.size(), 0);
    for (int32_t c : control) v.control[static_cast<size_t>(c)] = 1;
    v.end_tokens = std::move(end);
    return std::make_shared<VocabTrie>(v);
}

std::set<int32_t> allowed(TokenAutomaton& a, int32_t state) {
    std::set<int32_t> out;
    auto bits = a.mask(state);
    for (int32_t t = 0; t < a.vocab().n_vocab(); ++t)
        if ((bits[static_cast<size_t>(t) / 64] >> (t % 64)) & 1) out.insert(t);
    return out;
}

std::shared_ptr<const Grammar> literal_grammar(std::string_view text) {
    GrammarBuilder b;
    auto root = b.add_rule("root", {b.literal(text)});
    auto g = b.finish(root);
    EXPECT_TRUE(g.ok());
    return std::make_shared<const Grammar>(std::move(g.value()));
}

TEST(TokenAutomaton, LiteralMasksFollowTheText) {
    //                 0    1    2     3     4      5    6
    auto v = trie({"a", "b", "c", "ab", "bc", "abc", "x", "</s>"}, {7});
    TokenAutomaton a(literal_grammar("abc"), v);
    int32_t s = a.start();
    EXPECT_EQ(allowed(a, s), (std::set<int32_t>{0, 3, 5}));
    EXPECT_FALSE(a.accepting(s));
    s = a.step_token(s, 3);  // "ab"
    ASSERT_NE(s, TokenAutomaton::kDead);
    EXPECT_EQ(allowed(a, s), (std::set<int32_t>{2}));
    s = a.step_token(s, 2);
    EXPECT_TRUE(a.accepting(s));
    EXPECT_TRUE(a.complete(s));
    EXPECT_EQ(allowed(a, s), (std::set<int32_t>{7}));
    EXPECT_EQ(a.step_token(s, 7), TokenAutomaton::kEnded);
    EXPECT_EQ(a.step_token(a.start(), 6), TokenAutomaton::kDead);
    EXPECT_EQ(a.step_token(a.start(), 7), TokenAutomaton::kDead);  // no end before the text
}

// Every string of a finite language, by expanding the grammar exhaustively.
std::set<std::string> language(const Grammar& g, uint32_t rule) {
    std::set<std::string> out;
    for (const Sequence& alt : g.rules[rule].alternatives) {
        std::set<std::string> acc{""};
        for (const Element& e : alt) {
            std::set<std::string> part;
            if (e.kind == Element::Kind::Rule) {
                part = language(g, e.index);
            } else {
                for (unsigned c = 0; c < 256; ++c)
                    if (g.byte_sets[e.index].has(static_cast<uint8_t>(c)))
                        part.insert(std::string(1, static_cast<char>(c)));
            }
            std::set<std::string> next;
            for (const auto& x : acc)
                for (const auto& y : part) next.insert(x + y);
            acc = std::move(next);
        }
        out.insert(acc.begin(), acc.end());
    }
    return out;
}

TEST(TokenAutomaton, MasksEqualABruteForceOracleOnRandomFiniteGrammars) {
    std::mt19937 rng(7);
    const std::string alphabet = "ab{}\"";
    auto rand_text = [&](int maxlen) {
        std::string s;
        int n = std::uniform_int_distribution<int>(1, maxlen)(rng);
        for (int i = 0; i < n; ++i) s += alphabet[rng() % alphabet.size()];
        return s;
    };
    for (int trial = 0; trial < 60; ++trial) {
        GrammarBuilder b;
        // Leaves are literals; inner rules are sequences/alternatives of earlier rules (a DAG).
        std::vector<uint32_t> rules;
        for (int i = 0; i < 4; ++i) {
            std::vector<Sequence> alts;
            int na = 1 + static_cast<int>(rng() % 3);
            for (int k = 0; k < na; ++k)
                alts.push_back(rng() % 4 ? b.literal(rand_text(3)) : Sequence{});
            rules.push_back(b.add_rule("leaf", alts));
        }
        for (int i = 0; i < 4; ++i) {
            std::vector<Sequence> alts;
            int na = 1 + static_cast<int>(rng() % 3);
            for (int k = 0; k < na; ++k) {
                Sequence seq;
                int len = 1 + static_cast<int>(rng() % 3);
                for (int j = 0; j < len; ++j)
                    seq.push_back(GrammarBuilder::ref(rules[rng() % rules.size()]));
                alts.push_back(seq);
            }
            rules.push_back(b.add_rule("node", alts));
        }
        auto g = b.finish(rules.back());
        ASSERT_TRUE(g.ok()) << g.error().message;
        const std::set<std::string> lang = language(g.value(), g->root);
        std::vector<std::string> pieces;
        std::set<std::string> uniq;
        while (pieces.size() < 40) {
            std::string p = rand_text(4);
            if (uniq.insert(p).second) pieces.push_back(p);
        }
        pieces.push_back("<eos>");
        auto v = trie(pieces, {static_cast<int32_t>(pieces.size() - 1)});
        TokenAutomaton a(std::make_shared<const Grammar>(std::move(g.value())), v);
        // Random walks: at each point the mask must be exactly the viable tokens.
        for (int walk = 0; walk < 5; ++walk) {
            std::string text;
            int32_t s = a.start();
            for (int step = 0; step < 12; ++step) {
                std::set<int32_t> want;
                for (size_t t = 0; t + 1 < pieces.size(); ++t) {
                    const std::string next = text + pieces[t];
                    for (const auto& w : lang)
                        if (w.compare(0, next.size(), next) == 0) {
                            want.insert(static_cast<int32_t>(t));
                            break;
                        }
                }
                if (lang.count(text)) want.insert(static_cast<int32_t>(pieces.size() - 1));
                ASSERT_EQ(allowed(a, s), want) << "after '" << text << "'";
                EXPECT_EQ(a.accepting(s), lang.count(text) > 0);
                std::vector<int32_t> choices(want.begin(), want.end());
                choices.erase(std::remove(choices.begin(), choices.end(),
                                          static_cast<int32_t>(pieces.size() - 1)),
                              choices.end());
                if (choices.empty()) break;
                int32_t t = choices[rng() % choices.size()];
                text += pieces[static_cast<size_t>(t)];
                s = a.step_token(s, t);
                ASSERT_NE(s, TokenAutomaton::kDead);
            }
        }
    }
}

TEST(TokenAutomaton, CharClassesMatchExactlyTheirCodePointsInUtf8) {
    const std::vector<std::pair<char32_t, char32_t>> ranges = {
        {'0', '9'},       {0xE9, 0xFC},      {0x7FF, 0x801},
        {0x3040, 0x30FF}, {0xFFF0, 0x10005}, {0x10FFF0, 0x10FFFF}};
    for (bool negated : {false, true}) {
        GrammarBuilder b;
        auto root = b.char_class(ranges, negated, "cls");
        auto g = b.finish(root);
        ASSERT_TRUE(g.ok());
        TokenAutomaton a(std::make_shared<const Grammar>(std::move(g.value())), trie({"x"}));
        std::mt19937 rng(3);
        std::vector<char32_t> probes;
        for (auto [lo, hi] : ranges) {
            for (char32_t c :
                 {char32_t(lo - 1), lo, char32_t(lo + 1), char32_t(hi - 1), hi, char32_t(hi + 1)})
                probes.push_back(c);
        }
        for (int i = 0; i < 3000; ++i)
            probes.push_back(std::uniform_int_distribution<char32_t>(0, 0x10FFFF)(rng));
        for (char32_t c : probes) {
            if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) continue;
            bool in = false;
            for (auto [lo, hi] : ranges) in = in || (c >= lo && c <= hi);
            std::string bytes;
            utf8::append(bytes, c);
            int32_t s = a.start();
            for (char ch : bytes)
                if (s != TokenAutomaton::kDead) s = a.step(s, static_cast<uint8_t>(ch));
            const bool matched = s != TokenAutomaton::kDead && a.accepting(s);
            EXPECT_EQ(matched, in != negated) << std::hex << "U+" << static_cast<uint32_t>(c);
        }
        // Never a surrogate or an over-long encoding.
        for (const char* bad : {"\xED\xA0\x80", "\xC0\xB0", "\xE0\x80\xB0", "\xF4\x90\x80\x80"}) {
            int32_t s = a.start();
            for (const char* p = bad; *p && s != TokenAutomaton::kDead; ++p)
                s = a.step(s, static_cast<uint8_t>(*p));
            EXPECT_TRUE(s == TokenAutomaton::kDead || !a.accepting(s)) << negated;
        }
    }
}

TEST(TokenAutomaton, RepetitionRunsInConstantStates) {
    GrammarBuilder b;
    auto as = b.repeat(b.literal("a"), 0, std::nullopt, "as");
    auto root = b.add_rule("root", {{GrammarBuilder::ref(as), b.byte('b')}});
    auto g = b.finish(root);
    ASSERT_TRUE(g.ok());
    auto v = trie({"a", "aa", "ab", "b", "ba", "<e>"}, {5});
    TokenAutomaton a(std::make_shared<const Grammar>(std::move(g.value())), v);
    int32_t s = a.start();
    EXPECT_EQ(allowed(a, s), (std::set<int32_t>{0, 1, 2, 3}));
    for (int i = 0; i < 5000; ++i) s = a.step_token(s, i % 2 ? 0 : 1);
    EXPECT_LT(a.state_count(), 5u);
    EXPECT_EQ(allowed(a, s), (std::set<int32_t>{0, 1, 2, 3}));
    s = a.step_token(s, 2);
    EXPECT_EQ(allowed(a, s), (std::set<int32_t>{5}));
}

TEST(TokenAutomaton, ControlTokensOnlyWhereTheGrammarAllowsThem) {
    auto v = trie({"<", "tool", ">", "<tool>", "<|end|>"}, {4}, {3});
    for (bool control : {false, true}) {
        GrammarBuilder b;
        auto root = b.add_rule("root", {b.literal("<tool>")});
        auto g = b.finish(root, control);
        ASSERT_TRUE(g.ok());
        TokenAutomaton a(std::make_shared<const Grammar>(std::move(g.value())), v);
        auto want = control ? std::set<int32_t>{0, 3} : std::set<int32_t>{0};
        EXPECT_EQ(allowed(a, a.start()), want);
    }
}

TEST(GrammarMatcher, MasksLogitsIncludingPaddedRowsAndForks) {
    auto v = trie({"a", "b", "ab", "<e>"}, {3});
    auto a = std::make_shared<TokenAutomaton>(literal_grammar("ab"), v);
    GrammarMatcher m(a);
    std::vector<float> logits(70, 1.0f);  // the model pads its vocabulary past the tokenizer's
    ASSERT_TRUE(m.apply(logits));
    for (size_t i = 0; i < logits.size(); ++i)
        EXPECT_EQ(std::isinf(logits[i]), !(i == 0 || i == 2)) << i;
    GrammarMatcher fork = m;
    EXPECT_TRUE(m.accept(0));
    EXPECT_FALSE(m.accept(0));
    EXPECT_TRUE(m.accept(1));
    EXPECT_TRUE(m.complete());
    EXPECT_TRUE(fork.accept(2));  // the fork kept its own position
    EXPECT_TRUE(fork.accept(3));
    EXPECT_TRUE(fork.ended());
    std::vector<float> after(4, 0.0f);
    EXPECT_FALSE(fork.apply(after));
}

TEST(GrammarBuilder, RefusesLeftRecursionAndUndefinedRules) {
    {
        GrammarBuilder b;
        auto r = b.declare("expr");
        b.define(r, {{GrammarBuilder::ref(r), b.byte('+')}, b.literal("1")});
        auto g = b.finish(r);
        ASSERT_FALSE(g.ok());
        EXPECT_NE(g.error().message.find("left-recursive"), std::string::npos);
    }
    {
        GrammarBuilder b;
        auto empty = b.add_rule("maybe", {{}});
        auto loop = b.repeat({GrammarBuilder::ref(empty)}, 0, std::nullopt, "loop");
        auto g = b.finish(loop);
        ASSERT_FALSE(g.ok());  // a repetition of something that may be empty never ends
    }
    {
        GrammarBuilder b;
        auto r = b.declare("never");
        auto root = b.add_rule("root", {{GrammarBuilder::ref(r)}});
        auto g = b.finish(root);
        ASSERT_FALSE(g.ok());
        EXPECT_NE(g.error().message.find("never"), std::string::npos);
    }
    {
        GrammarBuilder b(GrammarLimits{100, 1000});
        auto r = b.repeat(b.literal("x"), 0, 5000, "many");
        EXPECT_FALSE(b.finish(r).ok());
    }
}

TEST(TokenAutomaton, OutgrowingItsLimitsIsDeadNotACrash) {
    // Nested brackets: every depth is a new state.
    GrammarBuilder b;
    auto r = b.declare("nest");
    Sequence open = b.literal("[");
    open.push_back(GrammarBuilder::ref(r));
    open.push_back(b.byte(']'));
    b.define(r, {open, {}});
    auto g = b.finish(r);
    ASSERT_TRUE(g.ok());
    AutomatonLimits lim;
    lim.max_states = 50;
    TokenAutomaton a(std::make_shared<const Grammar>(std::move(g.value())), trie({"[", "]"}), lim);
    int32_t s = a.start();
    int steps = 0;
    while (s != TokenAutomaton::kDead && steps < 1000) {
        s = a.step_token(s, 0);
        ++steps;
    }
    EXPECT_EQ(s, TokenAutomaton::kDead);
    EXPECT_TRUE(a.overflowed());
}

}  // namespace
}  // namespace ig::grammar
