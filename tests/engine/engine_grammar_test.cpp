// Constrained decoding in the engine: every sampled output is a string of
// the grammar (n > 1, batches, preemption and recompute), greedy output is
// the same alone and batched, and a complete grammar ends the choice.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <regex>

#include "engine_harness.h"
#include "grammar/grammar.h"

namespace ig::test {
namespace {

using grammar::GrammarBuilder;
using grammar::Sequence;

// root ::= "{" [0-9]+ ("," [a-z]+)* "}"
std::shared_ptr<const grammar::Grammar> braces_grammar() {
    GrammarBuilder b;
    auto digit = b.char_class({{'0', '9'}}, false, "digit");
    auto digits = b.repeat({GrammarBuilder::ref(digit)}, 1, std::nullopt, "digits");
    auto lower = b.char_class({{'a', 'z'}}, false, "lower");
    auto word = b.repeat({GrammarBuilder::ref(lower)}, 1, std::nullopt, "word");
    Sequence item = b.literal(",");
    item.push_back(GrammarBuilder::ref(word));
    auto items = b.repeat(item, 0, std::nullopt, "items");
    Sequence root = b.literal("{");
    root.push_back(GrammarBuilder::ref(digits));
    root.push_back(GrammarBuilder::ref(items));
    root.push_back(b.byte('}'));
    auto g = b.finish(b.add_rule("root", {root}));
    EXPECT_TRUE(g.ok());
    return std::make_shared<const grammar::Grammar>(std::move(g.value()));
}

const std::regex kBraces(R"(\{[0-9]+(,[a-z]+)*\})");
const std::regex kBracesPrefix(R"(\{[0-9]*(,[a-z]+)*(,[a-z]*)?)");

class EngineGrammar : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        dir_ = new TempDir();
        model_ = new LoadedModel(synth_and_load(*dir_, "tiny-llama3", DType::F32));
    }
    static void TearDownTestSuite() {
        delete model_;
        delete dir_;
    }
    std::unique_ptr<Engine> engine(EngineConfig c = {}) {
        c.kv_bytes = c.kv_bytes ? c.kv_bytes : (8 << 20);
        c.threads = 1;
        return make_engine(*model_, c);
    }
    std::vector<int32_t> prompt(int64_t n, uint64_t seed) {
        std::mt19937_64 rng(seed);
        return random_tokens(rng, n, 300);
    }
    static TempDir* dir_;
    static LoadedModel* model_;
};
TempDir* EngineGrammar::dir_ = nullptr;
LoadedModel* EngineGrammar::model_ = nullptr;

TEST_F(EngineGrammar, SampledOutputsAreStringsOfTheGrammar) {
    auto e = engine();
    auto g = braces_grammar();
    std::vector<std::shared_ptr<RequestStream>> streams;
    for (int i = 0; i < 12; ++i) {
        GenerationRequest q;
        q.prompt = prompt(10 + i, static_cast<uint64_t>(i));
        q.sampling.temperature = 1.0f;
        q.sampling.seed = static_cast<uint64_t>(100 + i);
        q.stop.max_tokens = 2000;
        q.n = i % 3 == 0 ? 3 : 1;
        q.grammar = g;
        auto s = e->submit(std::move(q));
        ASSERT_TRUE(s.ok()) << s.error().message;
        streams.push_back(*s);
    }
    for (auto& s : streams)
        for (const ChoiceResult& c : collect(*s, std::chrono::seconds(120))) {
            EXPECT_EQ(c.finish, FinishReason::Stop) << c.error << " text: " << c.text;
            EXPECT_TRUE(std::regex_match(c.text, kBraces)) << c.text;
            EXPECT_EQ(c.finals, 1);
        }
    e->shutdown(true);
    EXPECT_TRUE(e->check_idle().ok());
}

TEST_F(EngineGrammar, GreedyIsTheSameAloneBatchedAndAfterPreemption) {
    auto g = braces_grammar();
    const int kN = 8;
    std::vector<std::vector<int32_t>> alone;
    {
        auto e = engine();
        for (int i = 0; i < kN; ++i) {
            GenerationRequest q = greedy(prompt(40, static_cast<uint64_t>(i)), 300);
            q.stop.ignore_eos = false;
            q.grammar = g;
            auto s = e->submit(std::move(q));
            ASSERT_TRUE(s.ok());
            auto r = collect(**s);
            // Greedy on random weights may loop to max_tokens: then a prefix.
            const std::regex& re = r[0].finish == FinishReason::Stop ? kBraces : kBracesPrefix;
            ASSERT_TRUE(std::regex_match(r[0].text, re)) << r[0].text;
            alone.push_back(r[0].tokens);
        }
    }
    // Batched with unconstrained requests, in a KV cache small enough to preempt.
    EngineConfig c;
    c.block_tokens = 16;
    c.kv_bytes =
        24 * model_->model->kv_layout(16, DType::F32).block_bytes();  // one long choice fits
    auto e = engine(c);
    std::vector<std::shared_ptr<RequestStream>> constrained, free_running;
    for (int i = 0; i < kN; ++i) {
        GenerationRequest q = greedy(prompt(40, static_cast<uint64_t>(i)), 300);
        q.stop.ignore_eos = false;
        q.grammar = g;
        auto s = e->submit(std::move(q));
        ASSERT_TRUE(s.ok());
        constrained.push_back(*s);
        auto f = e->submit(greedy(prompt(30, static_cast<uint64_t>(50 + i)), 60));
        ASSERT_TRUE(f.ok());
        free_running.push_back(*f);
    }
    for (int i = 0; i < kN; ++i)
        EXPECT_EQ(collect(*constrained[static_cast<size_t>(i)])[0].tokens,
                  alone[static_cast<size_t>(i)])
            << i;
    for (auto& f : free_running) EXPECT_EQ(collect(*f)[0].finish, FinishReason::Length);
    EXPECT_GT(e->stats().preemptions, 0u);
    e->shutdown(true);
    EXPECT_TRUE(e->check_idle().ok());
}

TEST_F(EngineGrammar, ACompleteGrammarEndsTheChoiceEvenWithIgnoreEos) {
    GrammarBuilder b;
    auto g = b.finish(b.add_rule("root", {b.literal("yes"), b.literal("no")}));
    ASSERT_TRUE(g.ok());
    auto gp = std::make_shared<const grammar::Grammar>(std::move(g.value()));
    auto e = engine();
    GenerationRequest q = greedy(prompt(12, 1), 50);  // ignore_eos
    q.grammar = gp;
    auto s = e->submit(std::move(q));
    ASSERT_TRUE(s.ok());
    auto r = collect(**s);
    EXPECT_EQ(r[0].finish, FinishReason::Stop);
    EXPECT_TRUE(r[0].text == "yes" || r[0].text == "no") << r[0].text;
    EXPECT_LE(r[0].tokens.size(), 3u);
}

}  // namespace
}  // namespace ig::test

namespace ig::test {
namespace {

TEST(GrammarAutomataCache, SharesPerGrammarAndForgetsOnlyIdleOnes) {
    TempDir dir;
    LoadedModel m = synth_and_load(dir, "tiny-llama", DType::F32);
    ASSERT_TRUE(m.tokenizer);
    auto grammar_of = [](const char* text) {
        GrammarBuilder b;
        auto g = b.finish(b.add_rule("root", {b.literal(text)}));
        EXPECT_TRUE(g.ok());
        return std::make_shared<const grammar::Grammar>(std::move(g.value()));
    };
    auto g1 = grammar_of("one"), g2 = grammar_of("two"), g3 = grammar_of("three");
    GrammarAutomata cache(m.tokenizer, /*keep=*/2);
    auto held = cache.get(g1);  // a sequence holds it
    EXPECT_EQ(cache.get(g1), held);
    { auto idle = cache.get(g2); }
    auto third = cache.get(g3);  // over the limit: g2 (idle, least recent) goes, g1 stays
    EXPECT_EQ(cache.get(g1), held);
    EXPECT_NE(cache.get(g3), nullptr);
    EXPECT_EQ(cache.get(g3), third);
    // Masks follow the vocabulary: only the grammar's text is allowed.
    grammar::GrammarMatcher mt(held);
    std::vector<float> logits(static_cast<size_t>(m.tokenizer->n_vocab()), 0.0f);
    ASSERT_TRUE(mt.apply(logits));
    for (int32_t t = 0; t < m.tokenizer->n_vocab(); ++t) {
        const std::string p = m.tokenizer->token_to_piece(t);
        const bool prefix = !p.empty() && std::string("one").compare(0, p.size(), p) == 0;
        EXPECT_EQ(std::isinf(logits[static_cast<size_t>(t)]), !prefix) << t << " '" << p << "'";
    }
}

}  // namespace
}  // namespace ig::test
