// A greedy request's output is the same token for token whether it runs
// alone, in a batch of 32 mixed prefills and decodes, after a prefix-cache
// hit, or after being preempted and recomputed; F16 and F32 KV. The
// reference is a plain forward loop over a private, contiguous KV cache.
#include <gtest/gtest.h>

#include <numeric>
#include <random>
#include <thread>

#include "engine_harness.h"

namespace ig::test {
namespace {

std::vector<int32_t> reference_greedy(LlamaModel& m, DType kv_type,
                                      const std::vector<int32_t>& prompt, int64_t n) {
    ThreadPool pool(2);
    const KvLayout layout = m.kv_layout(16, kv_type);
    const auto total = static_cast<int64_t>(prompt.size()) + n;
    const int64_t n_blocks = (total + 15) / 16;
    std::vector<uint8_t> mem(static_cast<size_t>(n_blocks) * layout.block_bytes());
    KvCacheView kv{layout, mem.data(), n_blocks};
    std::vector<int32_t> table(static_cast<size_t>(n_blocks));
    std::iota(table.begin(), table.end(), 0);
    const int64_t V = m.config().n_vocab;
    std::vector<float> logits(static_cast<size_t>(V));
    std::vector<int32_t> out;
    ForwardBatch b;
    b.seqs.push_back({prompt, 0, table, 1});
    EXPECT_TRUE(m.forward(b, kv, pool, logits).ok());
    for (int64_t i = 0; i < n; ++i) {
        const auto next =
            static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
        out.push_back(next);
        if (i + 1 == n) break;
        b.seqs.clear();
        b.seqs.push_back({std::span<const int32_t>(&out.back(), 1),
                          static_cast<int64_t>(prompt.size()) + i, table, 1});
        EXPECT_TRUE(m.forward(b, kv, pool, logits).ok());
    }
    return out;
}

struct Param {
    const char* preset;
    DType weights;
    DType kv;
};

class EngineDeterminism : public ::testing::TestWithParam<Param> {
  protected:
    void SetUp() override {
        m_ = synth_and_load(dir_, GetParam().preset, GetParam().weights);
        ASSERT_TRUE(m_.model);
        V_ = static_cast<int32_t>(m_.model->config().n_vocab);
        std::mt19937_64 rng(11);
        for (int i = 0; i < 32; ++i) {
            // Lengths spanning partial blocks, several blocks and chunked prefills.
            const int64_t len = 1 + (i * 37) % 90;
            prompts_.push_back(random_tokens(rng, len, V_));
            refs_.push_back(reference_greedy(*m_.model, GetParam().kv, prompts_.back(), kOut));
        }
    }
    EngineConfig config() const {
        EngineConfig c;
        c.kv_type = GetParam().kv;
        c.kv_bytes = 4 << 20;
        c.threads = 2;
        c.max_num_batched_tokens = 64;  // forces chunked prefills next to decodes
        return c;
    }
    int64_t block_bytes() const { return m_.model->kv_layout(16, GetParam().kv).block_bytes(); }

    static constexpr int64_t kOut = 24;
    TempDir dir_;
    LoadedModel m_;
    int32_t V_ = 0;
    std::vector<std::vector<int32_t>> prompts_, refs_;
};

TEST_P(EngineDeterminism, AloneMatchesPlainForwardLoop) {
    auto e = make_engine(m_, config());
    ASSERT_TRUE(e);
    for (int i : {0, 5, 17}) {
        auto s = e->submit(greedy(prompts_[i], kOut));
        ASSERT_TRUE(s.ok());
        auto r = collect(**s);
        EXPECT_EQ(r[0].tokens, refs_[i]) << "prompt " << i;
        EXPECT_EQ(r[0].finish, FinishReason::Length);
        EXPECT_EQ(r[0].finals, 1);
    }
}

TEST_P(EngineDeterminism, BatchOf32MixedPrefillsAndDecodes) {
    auto e = make_engine(m_, config());
    ASSERT_TRUE(e);
    std::vector<std::shared_ptr<RequestStream>> streams;
    for (int i = 0; i < 32; ++i) {
        auto s = e->submit(greedy(prompts_[i], kOut));
        ASSERT_TRUE(s.ok());
        streams.push_back(*s);
        // Stagger arrivals so that new prefills land between running decodes.
        if (i % 8 == 7) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    for (int i = 0; i < 32; ++i) {
        auto r = collect(*streams[i]);
        EXPECT_EQ(r[0].tokens, refs_[i]) << "prompt " << i;
    }
    EXPECT_GT(e->stats().steps, 0u);
}

TEST_P(EngineDeterminism, AfterPrefixCacheHit) {
    auto e = make_engine(m_, config());
    ASSERT_TRUE(e);
    const int i = 2;  // 75 tokens: four full blocks and a partial one
    ASSERT_GE(prompts_[i].size(), 48u);
    auto first = e->submit(greedy(prompts_[i], kOut));
    ASSERT_TRUE(first.ok());
    auto r1 = collect(**first);
    EXPECT_EQ(r1[0].usage.cached_tokens, 0);
    auto again = e->submit(greedy(prompts_[i], kOut));
    ASSERT_TRUE(again.ok());
    auto r2 = collect(**again);
    EXPECT_EQ(r2[0].tokens, refs_[i]);
    const auto full = static_cast<int64_t>(prompts_[i].size()) / 16 * 16;
    EXPECT_EQ(r2[0].usage.cached_tokens,
              full == static_cast<int64_t>(prompts_[i].size()) ? full - 16 : full);
    EXPECT_EQ(r2[0].usage.prompt_tokens, static_cast<int64_t>(prompts_[i].size()));
    EXPECT_GT(e->stats().prefix.hits_tokens, 0u);

    // A prompt that extends a cached one (the first prompt + its output).
    std::vector<int32_t> longer = prompts_[i];
    longer.insert(longer.end(), refs_[i].begin(), refs_[i].end());
    auto ref = reference_greedy(*m_.model, GetParam().kv, longer, 8);
    auto third = e->submit(greedy(longer, 8));
    ASSERT_TRUE(third.ok());
    auto r3 = collect(**third);
    EXPECT_EQ(r3[0].tokens, ref);
    EXPECT_GE(r3[0].usage.cached_tokens, full);
}

TEST_P(EngineDeterminism, AfterPreemptionAndRecompute) {
    EngineConfig c = config();
    c.kv_bytes = 14 * block_bytes();  // about two sequences' worth
    auto e = make_engine(m_, c);
    ASSERT_TRUE(e);
    std::vector<std::shared_ptr<RequestStream>> streams;
    std::vector<int> ids;
    for (int i = 0; i < 32; i += 4) {
        GenerationRequest q = greedy(prompts_[i], kOut);
        q.priority = i % 3;
        auto s = e->submit(std::move(q));
        ASSERT_TRUE(s.ok()) << s.error().message;
        streams.push_back(*s);
        ids.push_back(i);
    }
    for (size_t k = 0; k < streams.size(); ++k) {
        auto r = collect(*streams[k]);
        EXPECT_EQ(r[0].tokens, refs_[ids[k]]) << "prompt " << ids[k];
        EXPECT_EQ(r[0].finish, FinishReason::Length) << r[0].error;
    }
    EXPECT_GT(e->stats().preemptions, 0u);
    e->shutdown(true);
    EXPECT_TRUE(e->check_idle().ok());
}

INSTANTIATE_TEST_SUITE_P(Models, EngineDeterminism,
                         ::testing::Values(Param{"tiny-llama", DType::F32, DType::F32},
                                           Param{"tiny-llama", DType::F32, DType::F16},
                                           Param{"tiny-qwen2-untied", DType::Q8_0, DType::F16}),
                         [](const auto& info) {
                             return std::string(info.param.preset == std::string("tiny-llama")
                                                    ? "llama"
                                                    : "qwen2") +
                                    "_w" + std::string(dtype_name(info.param.weights)) + "_kv" +
                                    std::string(dtype_name(info.param.kv));
                         });

TEST(EngineStories, GreedyMatchesPlainLoopAndStopsAtEos) {
    const std::string path = shared_file("models/stories260K.gguf");
    if (!exists(path)) GTEST_SKIP() << "no " << path;
    LoadedModel m = load_model(path);
    ASSERT_TRUE(m.model);
    const std::vector<int32_t> prompt = m.tokenizer->encode("Once upon a time");
    const auto ref = reference_greedy(*m.model, DType::F16, prompt, 200);
    EngineConfig c;
    c.kv_bytes = 8 << 20;
    c.threads = 2;
    auto e = make_engine(m, c);
    ASSERT_TRUE(e);
    GenerationRequest q = greedy(prompt, 200);
    q.stop.ignore_eos = false;
    auto s = e->submit(q);
    ASSERT_TRUE(s.ok());
    auto r = collect(**s);
    ASSERT_FALSE(r[0].tokens.empty());
    // Same tokens as the plain loop up to (and including) the first EOS.
    const auto eos =
        std::find_if(ref.begin(), ref.end(), [&](int32_t t) { return m.tokenizer->is_eog(t); });
    const std::vector<int32_t> want(ref.begin(), eos == ref.end() ? ref.end() : eos + 1);
    EXPECT_EQ(r[0].tokens, want);
    EXPECT_EQ(r[0].finish, eos == ref.end() ? FinishReason::Length : FinishReason::Stop);
    std::vector<int32_t> shown(want.begin(), eos == ref.end() ? want.end() : want.end() - 1);
    std::string text = m.tokenizer->decode(shown);
    // The engine continues the prompt, so it keeps the first word's space.
    EXPECT_EQ(r[0].text.substr(r[0].text.find_first_not_of(' ')),
              text.substr(text.find_first_not_of(' ')));
    EXPECT_NE(r[0].text.find(' '), std::string::npos);
}

}  // namespace
}  // namespace ig::test
