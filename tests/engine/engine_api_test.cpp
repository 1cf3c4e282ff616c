// The engine's thread-safe API: validation, cancellation, deadlines, n > 1,
// stop conditions, queue bound, shutdown.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "engine_harness.h"

namespace ig::test {
namespace {

using namespace std::chrono_literals;

class EngineApi : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        dir_ = new TempDir();
        model_ = new LoadedModel(synth_and_load(*dir_, "tiny-llama", DType::F32));
    }
    static void TearDownTestSuite() {
        delete model_;
        delete dir_;
    }
    std::unique_ptr<Engine> engine(EngineConfig c = {}) {
        c.kv_bytes = c.kv_bytes ? c.kv_bytes : (4 << 20);
        c.threads = 1;
        return make_engine(*model_, c);
    }
    std::vector<int32_t> prompt(int64_t n, uint64_t seed = 3) {
        std::mt19937_64 rng(seed);
        return random_tokens(rng, n, static_cast<int32_t>(model_->model->config().n_vocab));
    }
    // Waits until the stream has produced at least one event.
    static StreamEvent first_event(RequestStream& s) {
        StreamEvent ev;
        EXPECT_TRUE(s.pop(ev, 30s));
        return ev;
    }

    static TempDir* dir_;
    static LoadedModel* model_;
};
TempDir* EngineApi::dir_ = nullptr;
LoadedModel* EngineApi::model_ = nullptr;

TEST_F(EngineApi, RejectsBadRequestsNamingTheField) {
    auto e = engine();
    auto expect_invalid = [&](GenerationRequest r, const std::string& needle) {
        auto s = e->submit(std::move(r));
        ASSERT_FALSE(s.ok()) << needle;
        EXPECT_EQ(submit_error(s.error()), SubmitError::Invalid);
        EXPECT_NE(s.error().message.find(needle), std::string::npos) << s.error().message;
    };
    expect_invalid(greedy({}, 4), "prompt");
    expect_invalid(greedy({1, 99999}, 4), "vocabulary");
    expect_invalid(greedy({1, -1}, 4), "vocabulary");
    expect_invalid(greedy(prompt(8), 0), "max_tokens");
    expect_invalid(greedy(prompt(500), 100), "context length 512");
    GenerationRequest r = greedy(prompt(8), 4);
    r.n = 0;
    expect_invalid(r, "n:");
    r = greedy(prompt(8), 4);
    r.sampling.temperature = -1;
    expect_invalid(r, "temperature");
    r = greedy(prompt(8), 4);
    r.stop.stop_token_ids = {100000};
    expect_invalid(r, "stop_token_ids");
    r = greedy(prompt(8), 4);
    r.id = "same";
    r.stop.max_tokens = 400;
    auto first = e->submit(r);
    ASSERT_TRUE(first.ok());
    expect_invalid(r, "already");
}

TEST_F(EngineApi, CancelEndsTheRequestOnceAndFreesItsBlocks) {
    auto e = engine();
    GenerationRequest r = greedy(prompt(40), 400);
    r.id = "victim";
    auto s = e->submit(r);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(first_event(**s).tokens.size(), 1u);
    e->cancel("victim");
    e->cancel("no-such-request");  // ignored
    auto rest = collect(**s);
    EXPECT_EQ(rest[0].finish, FinishReason::Cancelled);
    EXPECT_EQ(rest[0].finals, 1);
    EXPECT_LT(rest[0].tokens.size(), 399u);
    EXPECT_TRUE((*s)->finished());
    e->shutdown(true);
    EXPECT_TRUE(e->check_idle().ok());
}

TEST_F(EngineApi, DeadlineCancels) {
    auto e = engine();
    GenerationRequest r = greedy(prompt(40), 400);
    // Already past when the engine first sees it: a deadline set in the
    // future raced the tiny model, which can finish 400 tokens in 20 ms.
    r.deadline = std::chrono::steady_clock::now() - 1ms;
    auto s = e->submit(r);
    ASSERT_TRUE(s.ok());
    auto res = collect(**s);
    EXPECT_EQ(res[0].finish, FinishReason::Cancelled);
    EXPECT_EQ(res[0].error, "deadline exceeded");
    EXPECT_LT(res[0].tokens.size(), 400u);
    e->shutdown(true);
    EXPECT_TRUE(e->check_idle().ok());
}

TEST_F(EngineApi, ChoicesForkAfterThePrompt) {
    auto e = engine();
    const auto p = prompt(37);
    auto one = e->submit(greedy(p, 12));
    ASSERT_TRUE(one.ok());
    const auto ref = collect(**one);
    GenerationRequest r = greedy(p, 12);
    r.n = 4;
    auto four = e->submit(r);
    ASSERT_TRUE(four.ok());
    const auto res = collect(**four);
    ASSERT_EQ(res.size(), 4u);
    for (const auto& c : res) {
        EXPECT_EQ(c.tokens, ref[0].tokens);  // greedy: every choice the same
        EXPECT_EQ(c.finals, 1);
    }
    EXPECT_EQ(res[3].usage.completion_tokens + res[0].usage.completion_tokens >= 12 * 4, true);

    // Sampled with a seed: reproducible per choice, different across choices.
    GenerationRequest q;
    q.prompt = p;
    q.n = 3;
    q.sampling.temperature = 1.5f;
    q.sampling.seed = 42;
    q.stop.max_tokens = 16;
    q.stop.ignore_eos = true;
    auto a = e->submit(q);
    ASSERT_TRUE(a.ok());
    const auto ra = collect(**a);
    auto b = e->submit(q);
    ASSERT_TRUE(b.ok());
    const auto rb = collect(**b);
    for (int c = 0; c < 3; ++c) EXPECT_EQ(ra[c].tokens, rb[c].tokens) << c;
    EXPECT_TRUE(ra[0].tokens != ra[1].tokens || ra[1].tokens != ra[2].tokens);
    EXPECT_EQ(ra[0].usage.prompt_tokens, 37);
    EXPECT_EQ(rb[2].usage.completion_tokens, 48);
    e->shutdown(true);
    EXPECT_TRUE(e->check_idle().ok());
}

// max_num_seqs bounds every choice: 20 prompts x n 4 never run more than 8
// sequences at once, and all complete.
TEST_F(EngineApi, MaxNumSeqsCountsEveryChoice) {
    std::atomic<int32_t> most{0};
    EngineConfig c;
    c.max_num_seqs = 8;
    c.step_observer = [&most](const StepInfo& s) {
        int32_t m = most.load();
        while (s.running > m && !most.compare_exchange_weak(m, s.running)) {
        }
    };
    auto e = engine(c);
    std::vector<std::shared_ptr<RequestStream>> streams;
    for (int i = 0; i < 20; ++i) {
        GenerationRequest r = greedy(prompt(9, 100 + static_cast<uint64_t>(i)), 4);
        r.n = 4;
        auto s = e->submit(std::move(r));
        ASSERT_TRUE(s.ok()) << s.error().message;
        streams.push_back(std::move(s).value());
    }
    for (auto& s : streams)
        for (const ChoiceResult& r : collect(*s)) {
            EXPECT_EQ(r.finals, 1);
            EXPECT_EQ(r.tokens.size(), 4u);
        }
    EXPECT_GT(most.load(), 0);
    EXPECT_LE(most.load(), 8);
    e->shutdown(true);
    EXPECT_TRUE(e->check_idle().ok());
}

TEST_F(EngineApi, StopTokenIdsEndTheChoice) {
    auto e = engine();
    const auto p = prompt(20);
    auto s = e->submit(greedy(p, 20));
    ASSERT_TRUE(s.ok());
    const auto ref = collect(**s)[0].tokens;
    ASSERT_EQ(ref.size(), 20u);
    GenerationRequest r = greedy(p, 20);
    r.stop.stop_token_ids = {ref[5]};
    auto t = e->submit(r);
    ASSERT_TRUE(t.ok());
    const auto res = collect(**t)[0];
    const auto at = std::find(ref.begin(), ref.end(), ref[5]);
    EXPECT_EQ(res.tokens, std::vector<int32_t>(ref.begin(), at + 1));
    EXPECT_EQ(res.finish, FinishReason::Stop);
    // min_tokens: the stop token is ignored until that many tokens exist.
    r.stop.min_tokens = 19;
    auto u = e->submit(r);
    ASSERT_TRUE(u.ok());
    const auto late = collect(**u)[0];
    EXPECT_GE(late.tokens.size(), 19u);
}

TEST_F(EngineApi, QueueBoundAndShutdownCancelEverything) {
    EngineConfig c;
    c.max_num_seqs = 1;
    c.max_waiting = 2;
    auto e = engine(c);
    std::vector<std::shared_ptr<RequestStream>> streams;
    for (int i = 0; i < 3; ++i) {
        auto s = e->submit(greedy(prompt(10, i), 400));
        ASSERT_TRUE(s.ok());
        streams.push_back(*s);
        first_event(*streams[0]);
    }
    // One running, two waiting: the queue is full.
    for (int i = 0; i < 1000 && e->stats().waiting < 2; ++i) std::this_thread::sleep_for(1ms);
    auto full = e->submit(greedy(prompt(10), 4));
    ASSERT_FALSE(full.ok());
    EXPECT_EQ(submit_error(full.error()), SubmitError::QueueFull);

    e->shutdown(false);
    for (auto& s : streams) {
        auto r = collect(*s, 5s);
        EXPECT_EQ(r[0].finish, FinishReason::Cancelled);
        EXPECT_EQ(r[0].finals, 1);
    }
    auto late = e->submit(greedy(prompt(10), 4));
    ASSERT_FALSE(late.ok());
    EXPECT_EQ(submit_error(late.error()), SubmitError::ShuttingDown);
    EXPECT_TRUE(e->check_idle().ok());
}

TEST_F(EngineApi, DrainingShutdownFinishesAcceptedRequests) {
    auto e = engine();
    std::vector<std::shared_ptr<RequestStream>> streams;
    for (int i = 0; i < 4; ++i) {
        auto s = e->submit(greedy(prompt(10, i), 10));
        ASSERT_TRUE(s.ok());
        streams.push_back(*s);
    }
    e->shutdown(true);
    for (auto& s : streams) {
        auto r = collect(*s, 1s);
        EXPECT_EQ(r[0].finish, FinishReason::Length);
        EXPECT_EQ(r[0].tokens.size(), 10u);
    }
    EXPECT_TRUE(e->check_idle().ok());
}

TEST_F(EngineApi, AnInteractiveRequestPreemptsABatchOneAndBothComplete) {
    EngineConfig c;
    c.max_num_seqs = 1;  // one seat: the interactive request must take the batch job's
    std::vector<int32_t> alone;
    {
        auto e = engine(c);
        auto s = e->submit(greedy(prompt(12, 5), 480));
        ASSERT_TRUE(s.ok());
        alone = collect(**s)[0].tokens;
    }
    auto e = engine(c);
    GenerationRequest batch = greedy(prompt(12, 5), 480);
    batch.priority = 5;
    auto b = e->submit(batch);
    ASSERT_TRUE(b.ok());
    first_event(**b);
    auto i = e->submit(greedy(prompt(8, 6), 4));
    ASSERT_TRUE(i.ok());
    auto ri = collect(**i);
    EXPECT_EQ(ri[0].finish, FinishReason::Length);
    EXPECT_FALSE((*b)->finished());  // it had to wait: the batch job is not done yet
    auto rb = collect(**b);
    ASSERT_EQ(rb[0].finish, FinishReason::Length);
    rb[0].tokens.insert(rb[0].tokens.begin(), alone.front());  // first_event popped it
    EXPECT_EQ(rb[0].tokens, alone);  // resumed after preemption, token for token
    EXPECT_GE(e->stats().preemptions, 1u);
    e->shutdown(true);
    EXPECT_TRUE(e->check_idle().ok());
}

// A prompt the whole cache cannot hold is refused; a choice whose context
// would outgrow the whole cache ends there with "length" (issue 23 A: it was
// an error, and other requests' held blocks could trigger it).
TEST_F(EngineApi, TooLargeForTheCacheIsRefusedOrEndsWithLength) {
    EngineConfig c;
    c.kv_bytes = 3 * static_cast<int64_t>(model_->model->kv_layout(16, DType::F16).block_bytes());
    auto e = engine(c);
    EXPECT_EQ(e->stats().blocks_total, 3);
    auto big = e->submit(greedy(prompt(60), 4));  // 4 blocks for the prompt alone
    ASSERT_FALSE(big.ok());
    EXPECT_NE(big.error().message.find("KV blocks"), std::string::npos);
    auto grows = e->submit(greedy(prompt(40), 100));  // fits at first, then runs out
    ASSERT_TRUE(grows.ok());
    auto r = collect(**grows);
    EXPECT_EQ(r[0].finish, FinishReason::Length);
    EXPECT_EQ(r[0].tokens.size(), 48u - 40u);  // the last token's KV is never written
}

TEST(EngineStoriesApi, StopStringsAreHeldBackAndNeverStreamed) {
    const std::string path = shared_file("models/stories260K.gguf");
    if (!exists(path)) GTEST_SKIP() << "no " << path;
    LoadedModel m = load_model(path);
    ASSERT_TRUE(m.model);
    EngineConfig c;
    c.kv_bytes = 8 << 20;
    c.threads = 1;
    auto e = make_engine(m, c);
    const auto p = m.tokenizer->encode("Once upon a time");
    auto s = e->submit(greedy(p, 60));
    ASSERT_TRUE(s.ok());
    const std::string text = collect(**s)[0].text;
    ASSERT_GT(text.size(), 30u);
    const std::string stop = text.substr(20, 6);
    GenerationRequest r = greedy(p, 60);
    r.stop.stop = {stop};
    auto t = e->submit(r);
    ASSERT_TRUE(t.ok());
    const auto res = collect(**t)[0];
    EXPECT_EQ(res.finish, FinishReason::Stop);
    EXPECT_EQ(res.text, text.substr(0, text.find(stop)));
    r.stop.include_stop_str_in_output = true;
    auto u = e->submit(r);
    ASSERT_TRUE(u.ok());
    EXPECT_EQ(collect(**u)[0].text, text.substr(0, text.find(stop) + stop.size()));
}

}  // namespace
}  // namespace ig::test
