// Issue 23 A-C under a randomised load: mixed prompt lengths, n > 1, groups
// of prompts (list prompts of one HTTP request), repeated prefixes, host and
// disk tiers, a small pool. Every valid request completes (no error finish),
// --max-num-seqs holds for every choice, and a client's latency stays
// bounded while one request floods the engine.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include "engine_harness.h"

namespace ig::test {
namespace {

using namespace std::chrono_literals;

struct Fixture {
    TempDir dir;
    LoadedModel m;
    std::unique_ptr<Engine> e;
    std::atomic<int32_t> max_running{0};
    int32_t vocab = 0;
    std::mutex steps_mu;
    std::vector<std::chrono::steady_clock::time_point> step_ends;

    // Engine steps that ended in (from, to]: a latency that scheduling noise
    // of the test's own threads cannot inflate.
    size_t steps_between(std::chrono::steady_clock::time_point from,
                         std::chrono::steady_clock::time_point to) {
        std::lock_guard lk(steps_mu);
        return static_cast<size_t>(std::count_if(step_ends.begin(), step_ends.end(),
                                                 [&](auto t) { return t > from && t <= to; }));
    }

    void start(int32_t max_num_seqs, int64_t pool_blocks, bool tiers) {
        m = synth_and_load(dir, "tiny-llama", DType::F32);
        ASSERT_TRUE(m.model);
        vocab = static_cast<int32_t>(m.model->config().n_vocab);
        const auto block_bytes =
            static_cast<int64_t>(m.model->kv_layout(16, DType::F16).block_bytes());
        EngineConfig c;
        c.kv_bytes = pool_blocks * block_bytes;
        c.threads = 1;
        c.max_num_seqs = max_num_seqs;
        c.max_num_batched_tokens = 128;
        c.max_waiting = 1 << 20;
        if (tiers) {
            c.kv_host_bytes = 24 * block_bytes;
            c.kv_disk_dir = dir.file("kv");
            c.kv_disk_bytes = 400 * block_bytes;
        }
        c.step_observer = [this](const StepInfo& s) {
            int32_t seen = max_running.load();
            while (s.running > seen && !max_running.compare_exchange_weak(seen, s.running)) {
            }
            std::lock_guard lk(steps_mu);
            step_ends.push_back(std::chrono::steady_clock::now());
        };
        e = make_engine(m, c);
        ASSERT_TRUE(e);
    }
};

// One client's request: its stream and what it asked for.
struct Pending {
    std::shared_ptr<RequestStream> stream;
    int32_t n = 1;
};

TEST(EngineLoad, TwoThousandMixedRequestsWithTiersAllComplete) {
    Fixture f;
    f.start(/*max_num_seqs=*/8, /*pool_blocks=*/48, /*tiers=*/true);
    ASSERT_TRUE(f.e);
    std::mt19937_64 seed_rng(23);
    std::vector<std::vector<int32_t>> bases;  // repeated prefixes
    for (int i = 0; i < 4; ++i) bases.push_back(random_tokens(seed_rng, 200, f.vocab));

    constexpr int kClients = 16, kPerClient = 130;  // 2,080 submissions
    std::atomic<int> completed{0}, errors{0}, rejected{0}, lost{0};
    std::mutex mu;
    std::vector<std::string> error_text;
    std::vector<std::thread> clients;
    for (int t = 0; t < kClients; ++t) {
        clients.emplace_back([&, t] {
            std::mt19937_64 rng(1000 + t);
            auto pick = [&](int lo, int hi) {
                return lo + static_cast<int>(rng() % (hi - lo + 1));
            };
            for (int i = 0; i < kPerClient;) {
                // A list prompt: several requests of one group, as the server submits them.
                const int batch = pick(0, 4) == 0 ? std::min(pick(2, 5), kPerClient - i) : 1;
                const std::string group = fmt::format("c{}-{}", t, i);
                std::vector<Pending> mine;
                for (int b = 0; b < batch; ++b, ++i) {
                    GenerationRequest r;
                    const int len = pick(0, 3) == 0 ? pick(100, 400) : pick(1, 60);
                    if (pick(0, 1) == 0) {
                        const auto& base = bases[static_cast<size_t>(pick(0, 3))];
                        r.prompt.assign(base.begin(), base.begin() + std::min<int>(len, 200));
                        auto tail =
                            random_tokens(rng, std::max(0, len - 200) + pick(1, 8), f.vocab);
                        r.prompt.insert(r.prompt.end(), tail.begin(), tail.end());
                    } else {
                        r.prompt = random_tokens(rng, len, f.vocab);
                    }
                    r.stop.max_tokens = pick(1, 16);
                    r.stop.ignore_eos = pick(0, 1) == 0;
                    r.n = pick(0, 3) == 0 ? pick(2, 4) : 1;
                    r.priority = pick(0, 5) == 0 ? pick(1, 3) : 0;
                    r.sampling.temperature = pick(0, 1) ? 0.0f : 0.8f;
                    r.group = batch > 1 ? group : "";
                    const int32_t n = r.n;
                    auto s = f.e->submit(std::move(r));
                    if (!s.ok()) {
                        ++rejected;
                        std::lock_guard lk(mu);
                        error_text.push_back("submit: " + s.error().message);
                        continue;
                    }
                    mine.push_back({std::move(s).value(), n});
                }
                for (Pending& p : mine) {
                    auto res = collect(*p.stream, 120s);
                    for (const ChoiceResult& c : res) {
                        if (c.finals != 1) {
                            ++lost;
                        } else if (*c.finish == FinishReason::Error) {
                            ++errors;
                            std::lock_guard lk(mu);
                            error_text.push_back(c.error);
                        }
                    }
                    ++completed;
                }
            }
        });
    }
    for (auto& th : clients) th.join();
    EXPECT_EQ(completed.load(), kClients * kPerClient);
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(rejected.load(), 0);
    EXPECT_EQ(lost.load(), 0);
    for (size_t i = 0; i < std::min<size_t>(error_text.size(), 5); ++i)
        ADD_FAILURE() << error_text[i];
    EXPECT_LE(f.max_running.load(), 8) << "--max-num-seqs exceeded";
    const EngineStats st = f.e->stats();
    EXPECT_GT(st.preemptions, 0u);
    EXPECT_GT(st.prefix.tier_hits_tokens, 0u);
    f.e->shutdown(true);
    const Status idle = f.e->check_idle();
    EXPECT_TRUE(idle.ok()) << idle.error().message;
}

// Issue 23 B: one request of 300 prompts (ignore_eos, 80 tokens each) and a
// client sending small requests one after another. The client is served
// within a few steps of each submission, not after the flood.
TEST(EngineLoad, AFloodingRequestDoesNotStarveAnotherClient) {
    Fixture f;
    f.start(/*max_num_seqs=*/8, /*pool_blocks=*/256, /*tiers=*/false);
    ASSERT_TRUE(f.e);
    std::mt19937_64 rng(5);
    std::vector<std::shared_ptr<RequestStream>> flood;
    for (int i = 0; i < 300; ++i) {
        GenerationRequest r = greedy(random_tokens(rng, 40, f.vocab), 80);
        r.group = "flood";
        auto s = f.e->submit(std::move(r));
        ASSERT_TRUE(s.ok()) << s.error().message;
        flood.push_back(std::move(s).value());
    }
    std::this_thread::sleep_for(20ms);  // the flood holds every seat
    std::vector<size_t> steps;
    for (int i = 0; i < 30; ++i) {
        auto s = f.e->submit(greedy(random_tokens(rng, 10, f.vocab), 4));
        ASSERT_TRUE(s.ok());
        StreamEvent ev;
        const auto end = std::chrono::steady_clock::now() + 60s;
        while (!ev.finish && std::chrono::steady_clock::now() < end) (*s)->pop(ev, 50ms);
        ASSERT_TRUE(ev.finish && ev.timings);
        EXPECT_EQ(*ev.finish, FinishReason::Length);
        steps.push_back(f.steps_between(ev.timings->arrival, ev.time));
    }
    std::sort(steps.begin(), steps.end());
    // Admission (one preemption), one prefill step, three decodes: far below
    // the ~3,000 steps the flood takes; some slack for steps already running.
    EXPECT_LE(steps.back(), 20u) << "victim's worst latency in engine steps: "
                                 << fmt::format("{}", fmt::join(steps, " "));
    size_t unfinished = 0;
    for (auto& s : flood) unfinished += s->finished() ? 0 : 1;
    EXPECT_GT(unfinished, 200u) << "the flood must still be running while the client is served";
    f.e->shutdown(false);
}

}  // namespace
}  // namespace ig::test
