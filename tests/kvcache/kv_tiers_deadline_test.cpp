// Disk loads with a deadline: a read that hangs (a dead network mount,
// simulated by a pread that blocks) is a miss once the deadline passes, the
// sequence recomputes, its pool block is reused at once, and the stuck read,
// when it finally returns, never writes into that block. Shutdown with a read
// still stuck ends within about the deadline.
#include <gtest/gtest.h>

#include <chrono>
#include <numeric>
#include <thread>
#include <vector>

#include "kvcache/kv_cache_manager.h"
#include "kvcache/kv_tiers.h"
#include "support/hung_reads.h"
#include "support/test_support.h"

namespace ig {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
constexpr int32_t kBlocks = 8, kBlockTokens = 4;
constexpr size_t kBlockBytes = 256;
constexpr auto kDeadline = 300ms;

std::vector<int32_t> seq_tokens(int32_t first, int32_t n) {
    std::vector<int32_t> v(static_cast<size_t>(n));
    std::iota(v.begin(), v.end(), first);
    return v;
}

uint8_t expected_byte(const std::vector<int32_t>& tokens, size_t b, size_t i) {
    return static_cast<uint8_t>(tokens[b * kBlockTokens] * 7 + i);
}

struct HangRig {
    test::TempDir dir;
    std::shared_ptr<test::HungReads> hung = test::HungReads::create();
    KvArena arena = KvArena::create(kBlocks, kBlockBytes).value();
    BlockPool pool{kBlocks};
    KvCacheManager kv{pool, kBlockTokens};
    std::unique_ptr<KvTiers> tiers;
    BlockHash root = root_hash("fp", "");
    std::vector<int32_t> a = seq_tokens(100, kBlocks*kBlockTokens), a_more;

    explicit HangRig(int load_threads) {
        KvTiersConfig c;
        c.disk_dir = dir.path().string();
        c.disk_bytes = 1 << 20;
        c.layout_key = "fp|test";
        c.block_tokens = kBlockTokens;
        c.disk_load_threads = load_threads;
        c.disk_load_timeout = kDeadline;
        c.disk_read_at = test::HungReads::pread_fn(hung);
        auto t = KvTiers::create(c, arena);
        EXPECT_TRUE(t.ok() && t.value()) << (t.ok() ? "no tiers" : t.error().message);
        if (!t.ok()) return;
        tiers = std::move(t).value();
        pool.set_evict_hook([this](BlockId id, const BlockHash& h) { tiers->on_evict(id, h); });
        kv.set_tiers(tiers.get());
        a_more = a;
        a_more.push_back(1);
    }
    ~HangRig() {
        hung->release();  // whatever the test left stuck
        hung->wait_unblocked(2s);
    }
    void compute(SeqBlocks& s, const std::vector<int32_t>& tokens) {
        ASSERT_TRUE(kv.ensure(s, static_cast<int64_t>(tokens.size())));
        for (size_t b = 0; b < s.table.size(); ++b)
            for (size_t i = 0; i < kBlockBytes; ++i)
                arena.block(s.table[b])[i] = expected_byte(tokens, b, i);
        kv.publish_full(s, root, tokens, static_cast<int64_t>(tokens.size()));
    }
    // Computes a, then pushes it out of the pool onto disk.
    void spill_a() {
        SeqBlocks sa, sb;
        compute(sa, a);
        kv.free(sa);
        compute(sb, seq_tokens(500, kBlocks * kBlockTokens));
        kv.free(sb);
        tiers->flush();
    }
    // Polls as the engine loop does until the walk's loads end; the time taken.
    Clock::duration poll_until_done(const SeqBlocks& s) {
        const auto t0 = Clock::now();
        while (!kv.loads_done(s) && Clock::now() - t0 < 5s) {
            kv.poll_loads();
            std::this_thread::sleep_for(2ms);
        }
        return Clock::now() - t0;
    }
};

TEST(KvTiersDeadlineTest, StuckReadIsAMissAndNeverWritesIntoAReusedBlock) {
    HangRig r(1);
    ASSERT_TRUE(r.tiers);
    r.spill_a();
    r.hung->hang();
    SeqBlocks s;
    ASSERT_FALSE(r.kv.begin_match(s, r.root, r.a_more));
    ASSERT_TRUE(r.hung->wait_blocked(1, 2s));
    const auto waited = r.poll_until_done(s);
    ASSERT_TRUE(r.kv.loads_done(s)) << "a load stuck in the file system never ended";
    EXPECT_GE(waited, kDeadline - 50ms);
    EXPECT_LT(waited, 3s);
    EXPECT_EQ(r.kv.settle(s), 0);  // the first block timed out: everything recomputes
    EXPECT_EQ(r.kv.loads_in_flight(), 0u);
    EXPECT_EQ(r.pool.num_used(), 0);
    EXPECT_TRUE(r.pool.check().ok());
    const TierStats st = r.tiers->stats()[0];
    EXPECT_EQ(st.load_timeouts, static_cast<uint64_t>(kBlocks));
    EXPECT_EQ(st.hit_blocks, 0u);
    EXPECT_EQ(r.tiers->stuck_disk_reads(), 1u);

    // The only loader is stuck: walks skip the disk rather than wait on it.
    SeqBlocks skip;
    EXPECT_TRUE(r.kv.begin_match(skip, r.root, r.a_more));
    EXPECT_EQ(skip.num_cached_tokens, 0);
    EXPECT_EQ(r.kv.loads_in_flight(), 0u);
    r.kv.free(skip);

    // Every pool block, the stuck load's included, now holds another sequence.
    const auto b = seq_tokens(900, kBlocks * kBlockTokens);
    SeqBlocks other;
    r.compute(other, b);
    r.hung->release();  // the read returns, with a's bytes for its old block
    ASSERT_TRUE(r.hung->wait_unblocked(2s));
    for (int i = 0; i < 200 && r.tiers->stuck_disk_reads() > 0; ++i)
        std::this_thread::sleep_for(5ms);
    ASSERT_EQ(r.tiers->stuck_disk_reads(), 0u);
    for (size_t blk = 0; blk < other.table.size(); ++blk)
        for (size_t i = 0; i < kBlockBytes; ++i)
            ASSERT_EQ(r.arena.block(other.table[blk])[i], expected_byte(b, blk, i))
                << "block " << blk << " byte " << i << " overwritten by an abandoned read";
    r.kv.free(other);

    // The mount is back: the disk serves again, with the right bytes.
    SeqBlocks again;
    EXPECT_EQ(r.kv.match_prefix(again, r.root, r.a_more), kBlocks * kBlockTokens);
    for (size_t blk = 0; blk < again.table.size(); ++blk)
        for (size_t i = 0; i < kBlockBytes; ++i)
            ASSERT_EQ(r.arena.block(again.table[blk])[i], expected_byte(r.a, blk, i));
    r.kv.free(again);
    EXPECT_TRUE(r.pool.check().ok());
}

TEST(KvTiersDeadlineTest, ShutdownWithAReadStuckEnds) {
    HangRig r(2);
    ASSERT_TRUE(r.tiers);
    r.spill_a();
    r.hung->hang();
    SeqBlocks s;
    ASSERT_FALSE(r.kv.begin_match(s, r.root, r.a_more));
    ASSERT_TRUE(r.hung->wait_blocked(2, 2s));  // both loaders stuck
    // As the engine stops: wait for the loads, release the walk, drop the tiers.
    const auto t0 = Clock::now();
    const bool ended = test::finishes_within(
        5s,
        [&] {
            r.kv.wait_loads();
            r.kv.free(s);
            r.kv.set_tiers(nullptr);
            r.pool.set_evict_hook(nullptr);
            r.tiers.reset();
        },
        [&] { r.hung->release(); });
    EXPECT_TRUE(ended) << "shutdown waited for reads stuck in the file system";
    EXPECT_LT(Clock::now() - t0, 3s);
    EXPECT_EQ(r.pool.num_used(), 0);
    EXPECT_TRUE(r.pool.check().ok());
}

}  // namespace
}  // namespace ig
