// The engine over a disk tier whose reads hang (a dead network mount,
// simulated by a pread that blocks): a request whose prefix is on disk is
// served by recompute once the load deadline passes, with the same greedy
// tokens; an engine restarted while the scan of its directory hangs starts
// and serves at once; and shutdown ends within bounded time while reads are
// still stuck.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <thread>

#include "engine_harness.h"
#include "support/hung_reads.h"

namespace ig::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class EngineTiersHang : public ::testing::Test {
  protected:
    // Threads of this process (Linux: /proc/self/task).
    static size_t thread_count() {
        size_t n = 0;
        for ([[maybe_unused]] const auto& e :
             std::filesystem::directory_iterator("/proc/self/task"))
            ++n;
        return n;
    }
    void SetUp() override {
        threads_before_ = thread_count();
        m_ = synth_and_load(dir_, "tiny-llama", DType::F32);
        ASSERT_TRUE(m_.model);
        const auto V = static_cast<int32_t>(m_.model->config().n_vocab);
        const int64_t bb = m_.model->kv_layout(16, DType::F16).block_bytes();
        std::mt19937_64 rng(11);
        prompt_ = random_tokens(rng, 100, V);
        cfg_.kv_bytes = 16 * bb;
        cfg_.threads = 2;
        cfg_.enable_prefix_cache = false;
        auto ref = make_engine(m_, cfg_);
        ASSERT_TRUE(ref);
        expected_ = collect(*ref->submit(greedy(prompt_, kOut)).value())[0].tokens;
        ASSERT_EQ(expected_.size(), static_cast<size_t>(kOut));

        cfg_.enable_prefix_cache = true;
        cfg_.kv_disk_dir = disk_.path().string();
        cfg_.kv_disk_bytes = 256 * bb;
        cfg_.kv_disk_load_timeout = 300ms;
        cfg_.kv_disk_read_at = HungReads::pread_fn(hung_);
        auto e = make_engine(m_, cfg_);
        ASSERT_TRUE(e);
        EXPECT_EQ(collect(*e->submit(greedy(prompt_, kOut)).value())[0].tokens, expected_);
        e.reset();  // shutdown writes the prompt's blocks to disk
    }
    void TearDown() override {
        hung_->release();  // a thread left stuck ends on its own
        EXPECT_TRUE(hung_->wait_unblocked(2s));
        // ... and is gone before the process exits: one still finishing its
        // abandoned load while static destructors run crashed the test
        // (rarely, under ctest -j2).
        const auto until = Clock::now() + 2s;
        while (thread_count() > threads_before_ && Clock::now() < until)
            std::this_thread::sleep_for(1ms);
    }
    // Serves the prompt again: same tokens, none from the disk.
    void serve_by_recompute(Engine& e) {
        const auto t0 = Clock::now();
        auto r = collect(*e.submit(greedy(prompt_, kOut)).value(), 10s);
        EXPECT_EQ(r[0].finish, FinishReason::Length) << "the request waited on the disk";
        EXPECT_EQ(r[0].tokens, expected_);
        EXPECT_EQ(r[0].usage.cached_tokens, 0);
        EXPECT_LT(Clock::now() - t0, 5s);
    }
    // Destroys the engine; true if that took well under the limit.
    bool shutdown_in_time(std::unique_ptr<Engine>& e) {
        const auto t0 = Clock::now();
        const bool ended = finishes_within(
            5s, [&] { e.reset(); }, [&] { hung_->release(); });
        return ended && Clock::now() - t0 < 3s;
    }

    static constexpr int64_t kOut = 8;
    TempDir dir_, disk_;
    LoadedModel m_;
    std::shared_ptr<HungReads> hung_ = HungReads::create();
    EngineConfig cfg_;
    std::vector<int32_t> prompt_, expected_;
    size_t threads_before_ = 0;
};

TEST_F(EngineTiersHang, StuckDiskReadsAreRecomputedAndShutdownEnds) {
    auto e = make_engine(m_, cfg_);
    ASSERT_TRUE(e);
    ASSERT_TRUE(e->wait_kv_disk_scanned(5s));
    hung_->hang();
    serve_by_recompute(*e);
    EXPECT_GE(hung_->blocked(), 1);
    uint64_t timeouts = 0;
    for (const TierStats& t : e->stats().tiers) timeouts += t.load_timeouts;
    EXPECT_GT(timeouts, 0u);
    EXPECT_TRUE(shutdown_in_time(e)) << "shutdown waited for stuck disk reads";
}

TEST_F(EngineTiersHang, StartsAndServesWhileTheDiskScanHangs) {
    hung_->hang();
    std::unique_ptr<Engine> e;
    EXPECT_TRUE(finishes_within(
        3s, [&] { e = make_engine(m_, cfg_); }, [&] { hung_->release(); }))
        << "Engine::create waited for the disk scan";
    ASSERT_TRUE(e);
    EXPECT_FALSE(e->wait_kv_disk_scanned(10ms));
    serve_by_recompute(*e);
    EXPECT_TRUE(shutdown_in_time(e)) << "shutdown waited for the stuck scan";
}

}  // namespace
}  // namespace ig::test
