// The pool, the prefix walk and the tiers together: blocks evicted from the
// pool come back from host RAM or disk with the same bytes.
#include "kvcache/kv_tiers.h"

#include <gtest/gtest.h>

#include <fstream>
#include <numeric>
#include <vector>

#include "kvcache/kv_cache_manager.h"
#include "support/test_support.h"

namespace ig {
namespace {

constexpr int32_t kBlocks = 8, kBlockTokens = 4;
constexpr size_t kBlockBytes = 256;

struct Rig {
    KvArena arena = KvArena::create(kBlocks, kBlockBytes).value();
    BlockPool pool{kBlocks};
    KvCacheManager kv{pool, kBlockTokens};
    std::unique_ptr<KvTiers> tiers;
    BlockHash root = root_hash("fp", "");

    explicit Rig(KvTiersConfig c) {
        c.block_tokens = kBlockTokens;
        auto t = KvTiers::create(c, arena);
        EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
        if (!t.ok()) return;
        tiers = std::move(t).value();
        if (!tiers) return;
        pool.set_evict_hook([this](BlockId id, const BlockHash& h) { tiers->on_evict(id, h); });
        kv.set_tiers(tiers.get());
    }
    // "Computes" the KV of `tokens`: block b of the sequence gets bytes derived from its tokens.
    void compute(SeqBlocks& s, const std::vector<int32_t>& tokens, int64_t from) {
        ASSERT_TRUE(kv.ensure(s, static_cast<int64_t>(tokens.size())));
        for (size_t b = static_cast<size_t>(from / kBlockTokens); b < s.table.size(); ++b)
            for (size_t i = 0; i < kBlockBytes; ++i)
                arena.block(s.table[b])[i] = expected_byte(tokens, b, i);
        kv.publish_full(s, root, tokens, static_cast<int64_t>(tokens.size()));
    }
    static uint8_t expected_byte(const std::vector<int32_t>& tokens, size_t b, size_t i) {
        return static_cast<uint8_t>(tokens[b * kBlockTokens] * 7 + i);
    }
};

std::vector<int32_t> seq_tokens(int32_t first, int32_t n) {
    std::vector<int32_t> v(static_cast<size_t>(n));
    std::iota(v.begin(), v.end(), first);
    return v;
}

void round_trip(KvTiersConfig c, const char* tier_name) {
    Rig r(std::move(c));
    ASSERT_TRUE(r.tiers);
    const auto a = seq_tokens(100, kBlocks * kBlockTokens),
               b = seq_tokens(500, kBlocks * kBlockTokens);
    SeqBlocks sa, sb;
    r.compute(sa, a, 0);
    r.kv.free(sa);
    r.compute(sb, b, 0);  // evicts every block of a: written down
    r.kv.free(sb);
    r.tiers->flush();

    auto a_more = a;
    a_more.push_back(1);
    SeqBlocks again;
    EXPECT_EQ(r.kv.match_prefix(again, r.root, a_more), kBlocks * kBlockTokens);
    ASSERT_EQ(again.table.size(), static_cast<size_t>(kBlocks));
    for (size_t blk = 0; blk < again.table.size(); ++blk)
        for (size_t i = 0; i < kBlockBytes; ++i)
            ASSERT_EQ(r.arena.block(again.table[blk])[i], Rig::expected_byte(a, blk, i))
                << "block " << blk << " byte " << i;
    EXPECT_EQ(r.kv.stats().tier_hits_tokens, static_cast<uint64_t>(kBlocks * kBlockTokens));
    EXPECT_TRUE(r.pool.check().ok());
    const auto stats = r.tiers->stats();
    uint64_t hits = 0;
    for (const TierStats& s : stats) {
        hits += s.hit_blocks;
        if (s.name == tier_name) {
            EXPECT_EQ(s.hit_blocks, static_cast<uint64_t>(kBlocks));
        }
        EXPECT_EQ(s.load_count, s.hit_blocks);
    }
    EXPECT_EQ(hits, static_cast<uint64_t>(kBlocks));
    r.kv.free(again);

    // A prompt nobody computed misses everywhere.
    SeqBlocks none;
    EXPECT_EQ(r.kv.match_prefix(none, r.root, seq_tokens(900, 20)), 0);
    r.kv.free(none);
    EXPECT_TRUE(r.pool.check().ok());
}

TEST(KvTiersTest, HostTierRoundTrip) {
    KvTiersConfig c;
    c.host_bytes = 1 << 20;
    round_trip(c, "host");
}

TEST(KvTiersTest, DiskTierRoundTrip) {
    test::TempDir dir;
    KvTiersConfig c;
    c.disk_dir = dir.path().string();
    c.disk_bytes = 1 << 20;
    c.layout_key = "fp|test";
    round_trip(c, "disk");
}

TEST(KvTiersTest, HostFirstThenDisk) {
    test::TempDir dir;
    KvTiersConfig c;
    c.host_bytes = 4 * kBlockBytes;  // holds half of a
    c.disk_dir = dir.path().string();
    c.disk_bytes = 1 << 20;
    c.layout_key = "fp|test";
    Rig r(c);
    ASSERT_TRUE(r.tiers);
    const auto a = seq_tokens(100, kBlocks * kBlockTokens),
               b = seq_tokens(500, kBlocks * kBlockTokens);
    SeqBlocks sa, sb;
    r.compute(sa, a, 0);
    r.kv.free(sa);
    r.compute(sb, b, 0);
    r.kv.free(sb);
    r.tiers->flush();
    auto a_more = a;
    a_more.push_back(1);
    SeqBlocks again;
    EXPECT_EQ(r.kv.match_prefix(again, r.root, a_more), kBlocks * kBlockTokens);
    const auto stats = r.tiers->stats();
    ASSERT_EQ(stats.size(), 2u);
    EXPECT_GT(stats[0].hit_blocks, 0u);  // host
    EXPECT_GT(stats[1].hit_blocks, 0u);  // disk
    EXPECT_EQ(stats[0].hit_blocks + stats[1].hit_blocks, static_cast<uint64_t>(kBlocks));
    for (size_t blk = 0; blk < again.table.size(); ++blk)
        for (size_t i = 0; i < kBlockBytes; ++i)
            ASSERT_EQ(r.arena.block(again.table[blk])[i], Rig::expected_byte(a, blk, i));
    r.kv.free(again);
    EXPECT_TRUE(r.pool.check().ok());
}

// Disk loads run in the background: the walk returns at once, a second walk
// over the same prefix shares the blocks being loaded, and a walk cancelled
// mid-load neither corrupts the pool nor loses the loaded blocks.
struct TempDirHolder {
    test::TempDir dir;  // constructed before the Rig that uses it
};

struct DiskRig : TempDirHolder, Rig {
    std::vector<int32_t> a = seq_tokens(100, kBlocks*kBlockTokens), a_more;
    std::vector<BlockHash> a_hashes;

    static KvTiersConfig config(const test::TempDir& d) {
        KvTiersConfig c;
        c.disk_dir = d.path().string();
        c.disk_bytes = 1 << 20;
        c.layout_key = "fp|test";
        return c;
    }
    DiskRig() : Rig(config(dir)) {}
    // Computes a, then pushes it out of the pool onto disk.
    void spill_a() {
        SeqBlocks sa, sb;
        compute(sa, a, 0);
        a_hashes = sa.hashes;
        kv.free(sa);
        compute(sb, seq_tokens(500, kBlocks * kBlockTokens), 0);
        kv.free(sb);
        tiers->flush();
        a_more = a;
        a_more.push_back(1);
    }
    void expect_bytes(const SeqBlocks& s) {
        for (size_t blk = 0; blk < s.table.size(); ++blk)
            for (size_t i = 0; i < kBlockBytes; ++i)
                ASSERT_EQ(arena.block(s.table[blk])[i], expected_byte(a, blk, i))
                    << "block " << blk << " byte " << i;
    }
};

TEST(KvTiersAsyncTest, DiskLoadsAreBackgroundAndShared) {
    DiskRig r;
    ASSERT_TRUE(r.tiers);
    r.spill_a();
    r.tiers->set_loads_paused(true);
    SeqBlocks s1, s2;
    EXPECT_FALSE(r.kv.begin_match(s1, r.root, r.a_more));
    EXPECT_EQ(r.kv.loads_in_flight(), static_cast<size_t>(kBlocks));
    EXPECT_FALSE(r.kv.loads_done(s1));
    EXPECT_FALSE(r.kv.begin_match(s2, r.root, r.a_more));
    EXPECT_EQ(s2.table, s1.table);  // shared, not loaded twice
    EXPECT_EQ(r.kv.loads_in_flight(), static_cast<size_t>(kBlocks));
    r.kv.poll_loads();  // nothing finished yet
    EXPECT_FALSE(r.kv.loads_done(s1));

    r.tiers->set_loads_paused(false);
    r.kv.wait_loads();
    EXPECT_EQ(r.kv.loads_in_flight(), 0u);
    ASSERT_TRUE(r.kv.loads_done(s1));
    ASSERT_TRUE(r.kv.loads_done(s2));
    EXPECT_EQ(r.kv.settle(s1), kBlocks * kBlockTokens);
    EXPECT_EQ(r.kv.settle(s2), kBlocks * kBlockTokens);
    r.expect_bytes(s1);
    EXPECT_EQ(r.kv.stats().tier_hits_tokens, static_cast<uint64_t>(kBlocks * kBlockTokens));
    EXPECT_EQ(r.tiers->stats()[0].hit_blocks, static_cast<uint64_t>(kBlocks));
    r.kv.free(s1);
    r.kv.free(s2);
    EXPECT_EQ(r.pool.num_used(), 0);
    EXPECT_TRUE(r.pool.check().ok());
}

TEST(KvTiersAsyncTest, CancelledWalkLeavesLoadedBlocksCached) {
    DiskRig r;
    ASSERT_TRUE(r.tiers);
    r.spill_a();
    r.tiers->set_loads_paused(true);
    SeqBlocks s;
    EXPECT_FALSE(r.kv.begin_match(s, r.root, r.a_more));
    r.kv.free(s);                           // the client went away mid-load
    EXPECT_EQ(r.pool.num_used(), kBlocks);  // the loads still hold their blocks
    r.tiers->set_loads_paused(false);
    r.kv.wait_loads();
    EXPECT_EQ(r.pool.num_used(), 0);
    EXPECT_TRUE(r.pool.check().ok());

    // The next walk finds every block in the pool: no load, same bytes.
    SeqBlocks again;
    EXPECT_TRUE(r.kv.begin_match(again, r.root, r.a_more));
    EXPECT_EQ(again.num_cached_tokens, kBlocks * kBlockTokens);
    EXPECT_EQ(r.kv.loads_in_flight(), 0u);
    r.expect_bytes(again);
    r.kv.free(again);
    EXPECT_TRUE(r.pool.check().ok());
}

TEST(KvTiersAsyncTest, DamagedBlockEndsTheCachedPrefix) {
    DiskRig r;
    ASSERT_TRUE(r.tiers);
    r.spill_a();
    ASSERT_EQ(r.a_hashes.size(), static_cast<size_t>(kBlocks));
    {
        // Flip one payload byte of block 3's file: its checksum no longer matches.
        std::fstream f(r.tiers->disk()->block_path(r.a_hashes[3]),
                       std::ios::in | std::ios::out | std::ios::binary);
        ASSERT_TRUE(f.good());
        f.seekg(-1, std::ios::end);
        const char c = static_cast<char>(f.get() ^ 0x5a);
        f.seekp(-1, std::ios::end);
        f.put(c);
    }
    SeqBlocks s;
    EXPECT_EQ(r.kv.match_prefix(s, r.root, r.a_more), 3 * kBlockTokens);
    ASSERT_EQ(s.table.size(), 3u);
    r.expect_bytes(s);
    r.kv.free(s);
    EXPECT_EQ(r.pool.num_used(), 0);
    EXPECT_TRUE(r.pool.check().ok());
    EXPECT_EQ(r.tiers->stats()[0].corrupt, 1u);
}

TEST(KvTiersTest, ConfigErrors) {
    KvArena arena = KvArena::create(2, 64).value();
    KvTiersConfig c;
    auto none = KvTiers::create(c, arena);
    ASSERT_TRUE(none.ok());
    EXPECT_EQ(none.value(), nullptr);
    c.disk_dir = "/tmp/x";
    EXPECT_FALSE(KvTiers::create(c, arena).ok());  // no budget
    c.disk_dir.clear();
    c.disk_bytes = 100;
    EXPECT_FALSE(KvTiers::create(c, arena).ok());  // no directory
    c.disk_bytes = 0;
    c.host_bytes = -1;
    EXPECT_FALSE(KvTiers::create(c, arena).ok());
}

// A disk directory that cannot be used at start (here a regular file, which
// even root cannot make a directory of) turns the tier off with a log line,
// as the same fault at run time does; the host tier stays.
TEST(KvTiersTest, UnusableDiskDirectoryAtStartTurnsTheTierOff) {
    test::TempDir dir;
    const std::string file = dir.file("not-a-dir");
    std::ofstream(file) << "x";
    KvArena arena = KvArena::create(2, 64).value();
    KvTiersConfig c;
    c.disk_dir = file + "/kv";
    c.disk_bytes = 1 << 20;
    auto disk_only = KvTiers::create(c, arena);
    ASSERT_TRUE(disk_only.ok()) << disk_only.error().message;
    EXPECT_EQ(disk_only.value(), nullptr);
    c.host_bytes = 1 << 20;
    auto with_host = KvTiers::create(c, arena);
    ASSERT_TRUE(with_host.ok()) << with_host.error().message;
    ASSERT_NE(with_host.value(), nullptr);
    const auto stats = with_host.value()->stats();
    ASSERT_EQ(stats.size(), 1u);
    EXPECT_EQ(stats[0].name, "host");
}

}  // namespace
}  // namespace ig
