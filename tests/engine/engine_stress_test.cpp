// Randomised long run: thousands of requests with random lengths, priorities,
// n > 1, sampling, cancellations and deadlines, submitted from several
// threads into a KV cache small enough to force preemption. Every choice
// ends with exactly one final event, nothing arrives after it, nothing is
// lost, and every block is back in the pool at the end.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "engine_harness.h"

namespace ig::test {
namespace {

using namespace std::chrono_literals;

struct Submitted {
    std::string id;
    std::shared_ptr<RequestStream> stream;
    int64_t max_tokens = 0;
    int32_t n = 1;
};

// With `tiers`, blocks evicted under the pressure go to a small host tier
// and a small disk tier and come back from them.
void stress(bool tiers, int kPerThread) {
    TempDir dir;
    LoadedModel m = synth_and_load(dir, "tiny-llama", DType::F32);
    ASSERT_TRUE(m.model);
    const auto V = static_cast<int32_t>(m.model->config().n_vocab);
    EngineConfig c;
    const auto block_bytes = static_cast<int64_t>(m.model->kv_layout(16, DType::F16).block_bytes());
    c.kv_bytes = 40 * block_bytes;
    c.threads = 1;
    c.max_num_seqs = 16;
    c.max_num_batched_tokens = 96;
    c.max_waiting = 100000;
    if (tiers) {
        c.kv_host_bytes = 20 * block_bytes;
        c.kv_disk_dir = dir.file("kv");
        c.kv_disk_bytes = 60 * block_bytes;
    }
    auto e = make_engine(m, c);
    ASSERT_TRUE(e);

    constexpr int kThreads = 3;
    std::mutex mu;
    std::vector<Submitted> all;
    std::atomic<int> rejected{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < kThreads; ++t) {
        clients.emplace_back([&, t] {
            std::mt19937_64 rng(100 + t);
            auto pick = [&](int lo, int hi) {
                return lo + static_cast<int>(rng() % (hi - lo + 1));
            };
            std::vector<std::string> mine;
            for (int i = 0; i < kPerThread; ++i) {
                GenerationRequest r;
                r.id = fmt::format("t{}-{}", t, i);
                // Shared starts so that the prefix cache and its eviction are exercised.
                r.prompt = random_tokens(rng, pick(1, 70), V);
                if (pick(0, 2) == 0)
                    for (int k = 0; k < 20; ++k)
                        r.prompt[std::min<size_t>(k, r.prompt.size() - 1)] = k;
                r.stop.max_tokens = pick(1, 24);
                r.stop.ignore_eos = pick(0, 1) == 0;
                r.priority = pick(0, 2);
                r.n = pick(0, 4) == 0 ? pick(2, 3) : 1;
                r.sampling.temperature = pick(0, 1) ? 0.0f : 0.9f;
                if (pick(0, 1)) r.sampling.seed = rng();
                if (pick(0, 9) == 0) r.stop.stop_token_ids = {pick(0, V - 1)};
                if (pick(0, 19) == 0)
                    r.deadline = std::chrono::steady_clock::now() + 1ms * pick(0, 20);
                if (pick(0, 49) == 0) r.prompt.push_back(V + 5);  // invalid: rejected
                const int64_t max_tokens = r.stop.max_tokens;
                const int32_t n = r.n;
                auto s = e->submit(std::move(r));
                if (!s.ok()) {
                    ++rejected;
                    continue;
                }
                mine.push_back((*s)->request_id());
                {
                    std::lock_guard lk(mu);
                    all.push_back({mine.back(), *s, max_tokens, n});
                }
                if (pick(0, 9) == 0)
                    e->cancel(mine[static_cast<size_t>(pick(0, (int)mine.size() - 1))]);
                if (pick(0, 99) == 0) std::this_thread::sleep_for(1ms);
            }
        });
    }
    for (auto& th : clients) th.join();

    std::map<FinishReason, int> reasons;
    for (const Submitted& s : all) {
        std::vector<int> finals(static_cast<size_t>(s.n), 0);
        std::vector<int64_t> tokens(static_cast<size_t>(s.n), 0);
        const auto end = std::chrono::steady_clock::now() + 60s;
        int done = 0;
        while (done < s.n && std::chrono::steady_clock::now() < end) {
            StreamEvent ev;
            if (!s.stream->pop(ev, 100ms)) continue;
            ASSERT_GE(ev.choice, 0);
            ASSERT_LT(ev.choice, s.n);
            ASSERT_EQ(finals[ev.choice], 0) << s.id << ": event after the final one";
            tokens[ev.choice] += static_cast<int64_t>(ev.tokens.size());
            if (ev.finish) {
                ++finals[ev.choice];
                ++done;
                ++reasons[*ev.finish];
                EXPECT_NE(*ev.finish, FinishReason::Error) << s.id << ": " << ev.error;
            }
        }
        ASSERT_EQ(done, s.n) << s.id << ": lost";
        for (int c = 0; c < s.n; ++c) EXPECT_LE(tokens[c], s.max_tokens) << s.id;
        StreamEvent extra;
        EXPECT_FALSE(s.stream->pop(extra, 0ms)) << s.id << ": duplicate events";
        EXPECT_TRUE(s.stream->finished());
    }
    EXPECT_GT(rejected.load(), 0);
    EXPECT_GT(reasons[FinishReason::Length], 0);
    EXPECT_GT(reasons[FinishReason::Cancelled], 0);
    const EngineStats st = e->stats();
    EXPECT_GT(st.preemptions, 0u);
    EXPECT_GT(st.prefix.hits_tokens, 0u);
    if (tiers) {
        EXPECT_GT(st.prefix.tier_hits_tokens, 0u);
        ASSERT_EQ(st.tiers.size(), 2u);
        EXPECT_GT(st.tiers[0].puts, 0u);
        EXPECT_LE(st.tiers[0].bytes_used, st.tiers[0].bytes_budget);
        EXPECT_LE(st.tiers[1].bytes_used, st.tiers[1].bytes_budget);
        EXPECT_EQ(st.tiers[1].errors + st.tiers[1].corrupt, 0u);
    }
    e->shutdown(true);
    const Status idle = e->check_idle();
    EXPECT_TRUE(idle.ok()) << idle.error().message;
}

TEST(EngineStress, RandomRequestsUnderMemoryPressureLoseNothing) {
    stress(false, 700);
}

TEST(EngineStress, WithHostAndDiskTiers) {
    stress(true, 250);
}

}  // namespace
}  // namespace ig::test
