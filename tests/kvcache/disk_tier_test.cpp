// The disk tier under LevelDB-style abuse: reopen, flipped bytes, truncated
// files, crash leftovers, a full disk, a directory removed or replaced.
#include "kvcache/disk_tier.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "block_samples.h"
#include "kvcache/disk_block_file.h"
#include "support/test_support.h"

namespace ig {
namespace {

namespace fs = std::filesystem;
constexpr size_t kBlock = 2048;

BlockHash hash_of(int i) {
    return test::sample_hash(i, 0x42);
}

std::vector<uint8_t> block_bytes(int seed) {
    return test::sample_block(seed, kBlock);
}

DiskTierConfig config(const std::string& dir, int64_t budget_blocks = 100,
                      std::string key = "model-a|f16") {
    DiskTierConfig c;
    c.dir = dir;
    c.budget_bytes = budget_blocks * static_cast<int64_t>(kBlock + kDiskHeaderBytes);
    c.block_bytes = kBlock;
    c.layout_key = std::move(key);
    c.io_threads = 2;
    return c;
}

// Opened, and its directory scanned (open() leaves the scan to a thread).
std::unique_ptr<DiskTier> open_tier(const DiskTierConfig& c) {
    auto t = DiskTier::open(c);
    EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
    if (!t.ok()) return nullptr;
    EXPECT_TRUE((*t)->wait_scanned());
    return std::move(t).value();
}

void fill(DiskTier& t, int from, int to) {
    for (int i = from; i < to; ++i) ASSERT_TRUE(t.put(hash_of(i), block_bytes(i)));
    t.flush();
}

bool reads_back(DiskTier& t, int i) {
    std::vector<uint8_t> out(kBlock);
    return t.read(hash_of(i), out).ok() && out == block_bytes(i);
}

TEST(DiskTierTest, WritesReadsAndSurvivesReopen) {
    test::TempDir dir;
    {
        auto t = open_tier(config(dir.path().string()));
        ASSERT_TRUE(t);
        fill(*t, 0, 10);
        for (int i = 0; i < 10; ++i) EXPECT_TRUE(reads_back(*t, i)) << i;
        EXPECT_FALSE(t->lookup(hash_of(99)));
        const TierStats s = t->stats();
        EXPECT_EQ(s.blocks, 10);
        EXPECT_EQ(s.puts, 10u);
        EXPECT_EQ(s.bytes_written, 10 * (kBlock + kDiskHeaderBytes));
        EXPECT_EQ(s.bytes_read, 10 * (kBlock + kDiskHeaderBytes));
        EXPECT_TRUE(fs::exists(t->block_path(hash_of(3))));
    }
    auto t = open_tier(config(dir.path().string()));
    ASSERT_TRUE(t);
    EXPECT_EQ(t->recovered_blocks(), 10);
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(reads_back(*t, i)) << i;

    // Another model or KV layout sees none of them, and leaves them alone.
    test::TempDir unused;
    auto other = open_tier(config(dir.path().string(), 100, "model-b|f16"));
    ASSERT_TRUE(other);
    EXPECT_EQ(other->recovered_blocks(), 0);
    EXPECT_FALSE(other->lookup(hash_of(0)));
    EXPECT_TRUE(fs::exists(t->block_path(hash_of(0))));
}

TEST(DiskTierTest, PendingWritesAreReadableAndQueueIsBounded) {
    test::TempDir dir;
    auto c = config(dir.path().string());
    c.queue_bytes = 4 * kBlock;
    c.io_threads = 1;
    auto t = open_tier(c);
    ASSERT_TRUE(t);
    int taken = 0;
    for (int i = 0; i < 200; ++i) taken += t->put(hash_of(i), block_bytes(i));
    // put never waits: a full queue drops blocks instead (how many depends on the disk).
    EXPECT_GE(taken, 4);
    t->flush();
    const TierStats s = t->stats();
    EXPECT_EQ(s.puts + s.dropped, 200u);
    EXPECT_EQ(static_cast<int>(s.puts), taken);
    for (int i = 0; i < 200; ++i)
        if (t->lookup(hash_of(i))) {
            EXPECT_TRUE(reads_back(*t, i)) << i;
        }
}

TEST(DiskTierTest, BudgetEvictsOldestFiles) {
    test::TempDir dir;
    auto t = open_tier(config(dir.path().string(), 4));
    ASSERT_TRUE(t);
    for (int i = 0; i < 10; ++i) fill(*t, i, i + 1);  // one at a time: a defined order
    const TierStats s = t->stats();
    EXPECT_EQ(s.blocks, 4);
    EXPECT_LE(s.bytes_used, s.bytes_budget);
    EXPECT_EQ(s.evictions, 6u);
    for (int i = 0; i < 6; ++i) EXPECT_FALSE(fs::exists(t->block_path(hash_of(i)))) << i;
    for (int i = 6; i < 10; ++i) EXPECT_TRUE(reads_back(*t, i)) << i;
    int files = 0;
    for (const auto& e : fs::directory_iterator(dir.path())) files += e.is_regular_file();
    EXPECT_EQ(files, 4);
}

void flip_byte(const std::string& path, size_t offset) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(offset));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x10);
    f.seekp(static_cast<std::streamoff>(offset));
    f.write(&c, 1);
}

TEST(DiskTierTest, DamagedBlocksAreMissesNeverWrongBytes) {
    test::TempDir dir;
    std::string paths[6];
    {
        auto t = open_tier(config(dir.path().string()));
        ASSERT_TRUE(t);
        fill(*t, 0, 8);
        for (int i = 0; i < 6; ++i) paths[i] = t->block_path(hash_of(i));
    }
    flip_byte(paths[0], kDiskHeaderBytes + 100);               // payload: caught by the CRC on read
    flip_byte(paths[1], 20);                                   // header: caught at open
    fs::resize_file(paths[2], kDiskHeaderBytes + kBlock / 2);  // truncated: caught at open
    fs::resize_file(paths[3], 10);                             // header cut: caught at open
    flip_byte(paths[4], kDiskHeaderBytes + kBlock - 1);        // last payload byte
    // A block file renamed to another hash: header and name disagree.
    fs::rename(paths[5], dir.file(hash_hex(hash_of(50)) + ".kvb"));
    // A crash mid-write leaves a temp file; garbage lying around is ignored.
    std::ofstream(dir.file(hash_hex(hash_of(60)) + ".kvb.tmp")) << "partial";
    std::ofstream(dir.file("notes.txt")) << "not ours";

    auto t = open_tier(config(dir.path().string()));
    ASSERT_TRUE(t);
    EXPECT_EQ(t->recovered_blocks(), 4);  // 0, 4, 6, 7 pass the header checks
    EXPECT_FALSE(fs::exists(dir.file(hash_hex(hash_of(60)) + ".kvb.tmp")));
    EXPECT_TRUE(fs::exists(dir.file("notes.txt")));
    std::vector<uint8_t> out(kBlock);
    for (int i : {0, 4}) {
        EXPECT_TRUE(t->lookup(hash_of(i)));
        EXPECT_FALSE(t->read(hash_of(i), out).ok()) << i;
        EXPECT_FALSE(t->lookup(hash_of(i))) << i;  // dropped
        EXPECT_FALSE(fs::exists(paths[i])) << i;
    }
    for (int i : {1, 2, 3, 5, 50}) EXPECT_FALSE(t->lookup(hash_of(i))) << i;
    EXPECT_TRUE(reads_back(*t, 6));
    EXPECT_TRUE(reads_back(*t, 7));
    const TierStats s = t->stats();
    EXPECT_EQ(s.corrupt, 6u);  // 4 at open (1, 2, 3, renamed 5), 2 on read (0, 4)
    EXPECT_EQ(s.blocks, 2);

    // Truncated after open: the read notices.
    fs::resize_file(t->block_path(hash_of(6)), kDiskHeaderBytes + 3);
    EXPECT_FALSE(t->read(hash_of(6), out).ok());
    EXPECT_FALSE(t->lookup(hash_of(6)));
    // Deleted under us: a miss, counted as an IO error.
    fs::remove(t->block_path(hash_of(7)));
    EXPECT_FALSE(t->read(hash_of(7), out).ok());
    EXPECT_EQ(t->stats().errors, 1u);
}

TEST(DiskTierTest, DirectoryRemovedUnderUsIsRecreated) {
    test::TempDir dir;
    const std::string sub = dir.file("kv");
    auto t = open_tier(config(sub));
    ASSERT_TRUE(t);
    fill(*t, 0, 3);
    fs::remove_all(sub);
    std::vector<uint8_t> out(kBlock);
    EXPECT_FALSE(t->read(hash_of(0), out).ok());  // gone: a miss
    fill(*t, 10, 12);                             // re-creates the directory once
    EXPECT_TRUE(reads_back(*t, 10));
    EXPECT_TRUE(reads_back(*t, 11));
    EXPECT_TRUE(t->stats().enabled);
}

TEST(DiskTierTest, RepeatedWriteFailuresDisableTheTier) {
    test::TempDir dir;
    const std::string sub = dir.file("kv");
    auto t = open_tier(config(sub));
    ASSERT_TRUE(t);
    fill(*t, 0, 2);
    // Replace the directory by a file: every write fails (ENOTDIR), and
    // re-creating the directory cannot help.
    fs::remove_all(sub);
    std::ofstream(sub) << "in the way";
    for (int i = 10; i < 30; ++i) {
        t->put(hash_of(i), block_bytes(i));
        t->flush();
    }
    const TierStats s = t->stats();
    EXPECT_FALSE(s.enabled);
    EXPECT_GE(s.errors, 8u);
    EXPECT_FALSE(t->lookup(hash_of(0)));
    EXPECT_FALSE(t->put(hash_of(40), block_bytes(40)));
    std::vector<uint8_t> out(kBlock);
    EXPECT_FALSE(t->read(hash_of(1), out).ok());
}

TEST(DiskTierTest, DiskFullShrinksTheBudget) {
    if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
    test::TempDir dir;
    auto t = open_tier(config(dir.path().string()));
    ASSERT_TRUE(t);
    fill(*t, 0, 5);
    // The next block's temp file is /dev/full: its write fails with ENOSPC.
    fs::create_symlink("/dev/full", t->block_path(hash_of(5)) + ".tmp");
    ASSERT_TRUE(t->put(hash_of(5), block_bytes(5)));
    t->flush();
    const TierStats s = t->stats();
    EXPECT_EQ(s.errors, 1u);
    EXPECT_TRUE(s.enabled);
    EXPECT_LT(s.bytes_budget, 100 * static_cast<int64_t>(kBlock + kDiskHeaderBytes));
    EXPECT_LE(s.bytes_used, s.bytes_budget);
    EXPECT_FALSE(t->lookup(hash_of(5)));
    EXPECT_TRUE(reads_back(*t, 4));  // the newest survive the shrink
}

TEST(DiskTierTest, RejectsBadConfig) {
    test::TempDir dir;
    auto c = config(dir.path().string());
    c.budget_bytes = 100;
    EXPECT_FALSE(DiskTier::open(c).ok());
    c = config("");
    EXPECT_FALSE(DiskTier::open(c).ok());
    std::ofstream(dir.file("file")) << "x";
    c = config(dir.file("file"));
    EXPECT_FALSE(DiskTier::open(c).ok());
}

}  // namespace
}  // namespace ig
