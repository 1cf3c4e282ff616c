// Write-behind: full blocks reach the host tier and the disk without any
// eviction, once per content hash, and a full staging area drops (counted)
// instead of making the engine thread wait. Disk sync modes fsync as stated.
#include "kvcache/write_behind.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <numeric>
#include <vector>

#include "block_samples.h"
#include "kvcache/kv_cache_manager.h"
#include "kvcache/kv_tiers.h"
#include "support/test_support.h"

namespace ig {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int32_t kBlocks = 16, kBlockTokens = 4;
constexpr size_t kBlockBytes = 256;

// Holds the writer thread inside its test hook until opened.
struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    bool open = false;
    int entered = 0;
    void pass() {
        std::unique_lock lk(mu);
        ++entered;
        cv.notify_all();
        cv.wait(lk, [&] { return open; });
    }
    void wait_entered(int n) {
        std::unique_lock lk(mu);
        cv.wait(lk, [&] { return entered >= n; });
    }
    void release() {
        std::lock_guard lk(mu);
        open = true;
        cv.notify_all();
    }
};

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
        if (!t.ok() || !*t) return;
        tiers = std::move(t).value();
        pool.set_evict_hook([this](BlockId id, const BlockHash& h) { tiers->on_evict(id, h); });
        kv.set_tiers(tiers.get());
    }
    void compute(SeqBlocks& s, const std::vector<int32_t>& tokens) {
        ASSERT_TRUE(kv.ensure(s, static_cast<int64_t>(tokens.size())));
        for (size_t b = 0; b < s.table.size(); ++b)
            for (size_t i = 0; i < kBlockBytes; ++i)
                arena.block(s.table[b])[i] = static_cast<uint8_t>(tokens[b * kBlockTokens] * 7 + i);
        kv.publish_full(s, root, tokens, static_cast<int64_t>(tokens.size()));
    }
};

std::vector<int32_t> seq_tokens(int32_t first, int32_t n) {
    std::vector<int32_t> v(static_cast<size_t>(n));
    std::iota(v.begin(), v.end(), first);
    return v;
}

KvTiersConfig both_tiers(const test::TempDir& dir) {
    KvTiersConfig c;
    c.host_bytes = 1 << 20;
    c.disk_dir = dir.path().string();
    c.disk_bytes = 1 << 20;
    c.layout_key = "fp|test";
    return c;
}

const TierStats& tier(const std::vector<TierStats>& v, const char* name) {
    for (const TierStats& s : v)
        if (s.name == name) return s;
    static TierStats none;
    ADD_FAILURE() << "no tier " << name;
    return none;
}

TEST(WriteBehindTest, FullBlocksReachBothTiersWithoutEviction) {
    test::TempDir dir;
    Rig r(both_tiers(dir));
    ASSERT_TRUE(r.tiers);
    SeqBlocks s;
    r.compute(s, seq_tokens(100, 6 * kBlockTokens + 2));  // 6 full blocks and a partial one
    r.tiers->flush();
    EXPECT_EQ(r.pool.evictions(), 0u);
    ASSERT_EQ(s.hashes.size(), 6u);
    for (const BlockHash& h : s.hashes) {
        EXPECT_TRUE(r.tiers->host()->lookup(h));
        EXPECT_TRUE(fs::exists(r.tiers->disk()->block_path(h)));
    }
    // Exactly the full blocks: the partial one is never published.
    const auto st = r.tiers->stats();
    EXPECT_EQ(tier(st, "host").puts, 6u);
    EXPECT_EQ(tier(st, "disk").puts, 6u);
    // The bytes on disk are the block's: a fresh tier set over the directory reads them.
    std::vector<uint8_t> out(kBlockBytes);
    ASSERT_TRUE(r.tiers->disk()->read(s.hashes[2], out).ok());
    EXPECT_EQ(out[0], static_cast<uint8_t>((100 + 2 * kBlockTokens) * 7));
    r.kv.free(s);
}

TEST(WriteBehindTest, EvictionDoesNotWriteAgain) {
    test::TempDir dir;
    Rig r(both_tiers(dir));
    ASSERT_TRUE(r.tiers);
    SeqBlocks a, b;
    r.compute(a, seq_tokens(100, kBlocks * kBlockTokens));
    r.tiers->flush();
    r.kv.free(a);
    r.compute(b, seq_tokens(900, kBlocks * kBlockTokens));  // evicts every block of a
    r.tiers->flush();
    EXPECT_EQ(r.pool.evictions(), static_cast<uint64_t>(kBlocks));
    const auto st = r.tiers->stats();
    // a's blocks once (written behind, not again at eviction), b's once.
    EXPECT_EQ(tier(st, "host").puts, 2u * kBlocks);
    EXPECT_EQ(tier(st, "disk").puts, 2u * kBlocks);
    EXPECT_EQ(tier(st, "disk").bytes_written, 2u * kBlocks * (kBlockBytes + 96));
    r.kv.free(b);
}

TEST(WriteBehindTest, SameHashStagedTwiceIsWrittenOnce) {
    test::TempDir dir;
    auto gate = std::make_shared<Gate>();
    KvTiersConfig c = both_tiers(dir);
    c.write_behind_hook = [gate] { gate->pass(); };
    Rig r(c);
    ASSERT_TRUE(r.tiers);
    const BlockHash h = test::sample_hash(1, 7), h2 = test::sample_hash(2, 7);
    r.tiers->on_full(0, h2);
    gate->wait_entered(1);  // the writer holds h2
    r.tiers->on_full(0, h);
    r.tiers->on_full(1, h);   // same content hash, another pool block: staged already
    r.tiers->on_evict(0, h);  // staged: eviction copies it, the writer then finds it held
    gate->release();
    r.tiers->flush();
    const auto st = r.tiers->stats();
    EXPECT_EQ(tier(st, "host").puts, 2u);
    EXPECT_EQ(tier(st, "disk").puts, 2u);
    EXPECT_EQ(tier(st, "disk").dropped, 0u);
    // Held by both tiers now: offering it again stages nothing.
    r.tiers->on_full(0, h);
    r.tiers->flush();
    EXPECT_EQ(tier(r.tiers->stats(), "disk").puts, 2u);
}

TEST(WriteBehindTest, FullQueueDropsAndCountsInsteadOfWaiting) {
    test::TempDir dir;
    auto gate = std::make_shared<Gate>();
    KvTiersConfig c = both_tiers(dir);
    c.write_behind_queue_bytes = 2 * kBlockBytes;  // two staging slots
    c.write_behind_hook = [gate] { gate->pass(); };
    Rig r(c);
    ASSERT_TRUE(r.tiers);
    r.tiers->on_full(0, test::sample_hash(0, 1));
    gate->wait_entered(1);                         // slot 1 held by the writer
    r.tiers->on_full(1, test::sample_hash(1, 1));  // slot 2
    // The writer is stuck: these return at once, dropped (a waiting engine
    // thread would hang this test).
    for (int i = 2; i < 6; ++i) r.tiers->on_full(i, test::sample_hash(i, 1));
    for (const TierStats& s : r.tiers->stats()) {
        EXPECT_EQ(s.dropped_by[static_cast<size_t>(DropReason::QueueFull)], 4u) << s.name;
        EXPECT_EQ(s.dropped, 4u) << s.name;
    }
    gate->release();
    r.tiers->flush();
    const auto st = r.tiers->stats();
    EXPECT_EQ(tier(st, "host").puts, 2u);
    EXPECT_EQ(tier(st, "disk").puts, 2u);
    // A dropped block is still written when the pool evicts it.
    r.tiers->on_evict(3, test::sample_hash(3, 1));
    r.tiers->flush();
    EXPECT_EQ(tier(r.tiers->stats(), "disk").puts, 3u);
}

TEST(WriteBehindTest, OffWritesOnlyOnEviction) {
    test::TempDir dir;
    KvTiersConfig c = both_tiers(dir);
    c.write_behind = false;
    Rig r(c);
    ASSERT_TRUE(r.tiers);
    SeqBlocks s;
    r.compute(s, seq_tokens(100, 4 * kBlockTokens));
    r.tiers->flush();
    EXPECT_EQ(tier(r.tiers->stats(), "disk").puts, 0u);
    r.kv.free(s);
}

TEST(WriteBehindTest, WriterHandsOnStagedBlocksAtDestruction) {
    std::vector<BlockHash> got;
    std::mutex mu;
    {
        WriteBehindConfig c;
        c.block_bytes = 64;
        WriteBehind wb(c, [&](const BlockHash& h, std::span<const uint8_t> b) {
            std::lock_guard lk(mu);
            EXPECT_EQ(b.size(), 64u);
            got.push_back(h);
        });
        const auto bytes = test::sample_block(3, 64);
        for (int i = 0; i < 5; ++i)
            EXPECT_EQ(wb.offer(test::sample_hash(i, 9), bytes), WriteBehind::Offer::Queued);
        // A block of another size is refused, never copied.
        EXPECT_EQ(wb.offer(test::sample_hash(99, 9), test::sample_block(4, 32)),
                  WriteBehind::Offer::QueueFull);
    }
    EXPECT_EQ(got.size(), 5u);  // every staged block, though none was flushed
}

TEST(WriteBehindTest, HostCopiesGiveWayToEvictedBlocks) {
    auto t = HostTier::create({3 * int64_t{kBlockBytes}, kBlockBytes}).value();
    const auto bytes = test::sample_block(1, kBlockBytes);
    auto h = [](int i) { return test::sample_hash(i, 5); };
    ASSERT_TRUE(t->put(h(0), bytes));         // evicted by the pool
    ASSERT_TRUE(t->put_behind(h(1), bytes));  // still in the pool
    ASSERT_TRUE(t->put_behind(h(2), bytes));
    ASSERT_TRUE(t->put_behind(h(3), bytes));  // replaces a written-behind copy
    EXPECT_TRUE(t->lookup(h(0)));
    EXPECT_EQ(t->stats().blocks, 3);
    ASSERT_TRUE(t->put(h(4), bytes));  // evicted: takes the room of a written-behind copy
    ASSERT_TRUE(t->put(h(5), bytes));
    EXPECT_TRUE(t->lookup(h(0)));
    // Full of evicted blocks: a written-behind copy is dropped, none displaced.
    EXPECT_FALSE(t->put_behind(h(6), bytes));
    EXPECT_TRUE(t->lookup(h(0)) && t->lookup(h(4)) && t->lookup(h(5)));
    EXPECT_EQ(t->stats().dropped_by[static_cast<size_t>(DropReason::NoRoom)], 1u);
}

// fsync calls, by kind (files, the directory), through the disk tier's hook.
struct FsyncCount {
    std::atomic<int> files{0}, dirs{0};
};

std::unique_ptr<DiskTier> sync_tier(const test::TempDir& dir, DiskSync mode,
                                    std::chrono::milliseconds interval,
                                    std::shared_ptr<FsyncCount> n) {
    DiskTierConfig c;
    c.dir = dir.path().string();
    c.budget_bytes = 1 << 20;
    c.block_bytes = kBlockBytes;
    c.layout_key = "fp|test";
    c.sync = mode;
    c.sync_interval = interval;
    c.fsync = [n](int fd) {
        struct stat st {};
        if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
            ++n->dirs;
        else
            ++n->files;
        return ::fsync(fd);
    };
    auto t = DiskTier::open(c);
    EXPECT_TRUE(t.ok());
    return t.ok() ? std::move(t).value() : nullptr;
}

void put_blocks(DiskTier& t, int n) {
    for (int i = 0; i < n; ++i)
        ASSERT_TRUE(t.put(test::sample_hash(i, 3), test::sample_block(i, kBlockBytes)));
    t.flush();
}

TEST(DiskSyncTest, AlwaysSyncsEachFileAndTheDirectory) {
    test::TempDir dir;
    auto n = std::make_shared<FsyncCount>();
    auto t = sync_tier(dir, DiskSync::Always, 200ms, n);
    ASSERT_TRUE(t);
    put_blocks(*t, 3);
    EXPECT_EQ(n->files.load(), 3);
    EXPECT_EQ(n->dirs.load(), 3);
    EXPECT_EQ(t->stats().puts, 3u);
}

TEST(DiskSyncTest, OffNeverSyncs) {
    test::TempDir dir;
    auto n = std::make_shared<FsyncCount>();
    auto t = sync_tier(dir, DiskSync::Off, 1ms, n);
    ASSERT_TRUE(t);
    put_blocks(*t, 3);
    t.reset();
    EXPECT_EQ(n->files.load() + n->dirs.load(), 0);
}

TEST(DiskSyncTest, BatchSyncsOnceAfterItsInterval) {
    test::TempDir dir;
    auto n = std::make_shared<FsyncCount>();
    auto t = sync_tier(dir, DiskSync::Batch, 20ms, n);
    ASSERT_TRUE(t);
    put_blocks(*t, 4);
    for (int i = 0; i < 500 && (n->files.load() < 4 || n->dirs.load() < 1); ++i)
        std::this_thread::sleep_for(10ms);
    // A batch may still be between its files and its directory: wait until
    // nothing changes for a while (nothing new is written, so it settles).
    for (int stable = 0, i = 0; stable < 10 && i < 500; ++i) {
        const int before = n->files.load() + n->dirs.load();
        std::this_thread::sleep_for(20ms);
        stable = n->files.load() + n->dirs.load() == before ? stable + 1 : 0;
    }
    EXPECT_EQ(n->files.load(), 4);  // each written file once
    EXPECT_GE(n->dirs.load(), 1);   // and the directory once per batch
    EXPECT_LE(n->dirs.load(), 4);
}

TEST(DiskSyncTest, BatchNotDueIsSyncedAtShutdownInOneBatch) {
    test::TempDir dir;
    auto n = std::make_shared<FsyncCount>();
    auto t = sync_tier(dir, DiskSync::Batch, std::chrono::hours(1), n);
    ASSERT_TRUE(t);
    put_blocks(*t, 5);
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(n->files.load() + n->dirs.load(), 0);  // the batch is not due
    t.reset();
    EXPECT_EQ(n->files.load(), 5);
    EXPECT_EQ(n->dirs.load(), 1);
}

TEST(DiskSyncTest, ParsesModes) {
    EXPECT_EQ(*parse_disk_sync("off"), DiskSync::Off);
    EXPECT_EQ(*parse_disk_sync("batch"), DiskSync::Batch);
    EXPECT_EQ(*parse_disk_sync("always"), DiskSync::Always);
    EXPECT_FALSE(parse_disk_sync("sometimes").ok());
    EXPECT_EQ(disk_sync_name(DiskSync::Batch), "batch");
}

}  // namespace
}  // namespace ig
