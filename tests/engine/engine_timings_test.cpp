// What the engine tells its metrics: per-choice timings on final events
// (arrival <= first scheduled <= first token <= finish) and one step
// observation per step that ran a batch.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>

#include "engine_harness.h"

namespace ig::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class EngineTimings : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        dir_ = new TempDir();
        model_ = new LoadedModel(synth_and_load(*dir_, "tiny-llama", DType::F32));
    }
    static void TearDownTestSuite() {
        delete model_;
        delete dir_;
    }
    std::vector<int32_t> prompt(int64_t n, uint64_t seed) {
        std::mt19937_64 rng(seed);
        return random_tokens(rng, n, static_cast<int32_t>(model_->model->config().n_vocab));
    }
    static TempDir* dir_;
    static LoadedModel* model_;
};
TempDir* EngineTimings::dir_ = nullptr;
LoadedModel* EngineTimings::model_ = nullptr;

TEST_F(EngineTimings, FinalEventsCarryOrderedTimingsAndStepsAreObserved) {
    std::mutex mu;
    std::vector<StepInfo> steps;
    EngineConfig c;
    c.kv_bytes = 4 << 20;
    c.threads = 1;
    c.max_num_batched_tokens = 64;  // the 100-token prompt takes two chunked steps
    c.step_observer = [&](const StepInfo& s) {
        std::lock_guard lk(mu);
        steps.push_back(s);
    };
    auto e = make_engine(*model_, c);
    ASSERT_NE(e, nullptr);
    const auto before = Clock::now();
    GenerationRequest r = greedy(prompt(100, 1), 5);
    r.n = 2;
    auto s = e->submit(std::move(r));
    ASSERT_TRUE(s.ok());
    int finals = 0;
    const auto end = Clock::now() + 30s;
    while (finals < 2 && Clock::now() < end) {
        StreamEvent ev;
        if (!(*s)->pop(ev, 50ms)) continue;
        if (!ev.finish) {
            EXPECT_FALSE(ev.timings.has_value());
            continue;
        }
        ++finals;
        ASSERT_TRUE(ev.timings.has_value());
        const RequestTimings& t = *ev.timings;
        EXPECT_LE(before, t.arrival);
        EXPECT_LE(t.arrival, t.first_scheduled);
        EXPECT_LT(t.first_scheduled, t.first_token);  // two prefill steps in between
        EXPECT_LE(t.first_token, ev.time);
    }
    EXPECT_EQ(finals, 2);
    e->shutdown(true);
    const EngineStats st = e->stats();
    std::lock_guard lk(mu);
    ASSERT_EQ(steps.size(), st.steps);
    int64_t tokens = 0;
    for (const StepInfo& i : steps) {
        EXPECT_GT(i.seconds, 0);
        EXPECT_GT(i.batch_tokens, 0);
        tokens += i.batch_tokens;
    }
    // 100 prompt tokens, then 4 more decode inputs for each of the 2 choices.
    EXPECT_EQ(tokens, 100 + 2 * 4);
    EXPECT_GT(st.last_step_seconds, 0);
    EXPECT_LE(st.last_step_seconds, st.busy_seconds);
}

TEST_F(EngineTimings, CancelledWhileWaitingHasNoScheduleTime) {
    EngineConfig c;
    c.kv_bytes = 4 << 20;
    c.threads = 1;
    c.max_num_seqs = 1;
    auto e = make_engine(*model_, c);
    ASSERT_NE(e, nullptr);
    auto busy = e->submit(greedy(prompt(8, 2), 400));
    ASSERT_TRUE(busy.ok());
    GenerationRequest r = greedy(prompt(8, 3), 4);
    r.id = "queued";
    auto queued = e->submit(std::move(r));
    ASSERT_TRUE(queued.ok());
    e->cancel("queued");
    StreamEvent ev;
    ASSERT_TRUE((*queued)->pop(ev, 30s));
    ASSERT_TRUE(ev.finish.has_value());
    ASSERT_TRUE(ev.timings.has_value());
    // With one seat taken by the long request, "queued" never got scheduled
    // (unless it was cancelled only after `busy` finished, which 400 tokens rule out).
    EXPECT_NE(ev.timings->arrival, Clock::time_point{});
    EXPECT_EQ(ev.timings->first_scheduled, Clock::time_point{});
    EXPECT_EQ(ev.timings->first_token, Clock::time_point{});
    e->shutdown(false);
}

}  // namespace
}  // namespace ig::test
