// The disk tier against files and file systems that block: FIFOs (and other
// files that are not regular) named like blocks are never opened by the scan
// and read as misses; the scan of a restart runs in the background, so open()
// returns at once and blocks appear as the scan finds them; a scan stuck in
// a hung file system holds up neither open() nor shutdown. Each check runs
// under a time limit, so a regression fails instead of hanging the suite.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <vector>

#include "block_samples.h"
#include "kvcache/disk_block_file.h"
#include "kvcache/disk_tier.h"
#include "support/hung_reads.h"
#include "support/test_support.h"

namespace ig {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
constexpr size_t kBlock = 1024;

BlockHash hash_of(int i) {
    return test::sample_hash(i, 0x17);
}

std::vector<uint8_t> block_bytes(int seed) {
    return test::sample_block(seed, kBlock);
}

DiskTierConfig config(const test::TempDir& dir) {
    DiskTierConfig c;
    c.dir = dir.path().string();
    c.budget_bytes = 100 * static_cast<int64_t>(kBlock + kDiskHeaderBytes);
    c.block_bytes = kBlock;
    c.layout_key = "model|f16";
    c.io_threads = 1;
    c.io_timeout = 200ms;
    return c;
}

std::string block_file(const test::TempDir& dir, int i) {
    return dir.file(hash_hex(hash_of(i)) + ".kvb");
}

void write_blocks(const DiskTierConfig& c, int n) {
    auto t = DiskTier::open(c);
    ASSERT_TRUE(t.ok()) << t.error().message;
    for (int i = 0; i < n; ++i) ASSERT_TRUE((*t)->put(hash_of(i), block_bytes(i)));
    (*t)->flush();
}

bool reads_back(DiskTier& t, int i) {
    std::vector<uint8_t> out(kBlock);
    return t.read(hash_of(i), out).ok() && out == block_bytes(i);
}

// Opens each FIFO for writing and closes it: a reader blocked on one in
// open() or read() goes on (how a test ends the hang of a broken tier).
void poke_fifos(const std::vector<std::string>& fifos) {
    for (const std::string& p : fifos) {
        const int fd = ::open(p.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) ::close(fd);
    }
}

// Opens the tier within `limit` (the scan may go on); `unblock` ends a hang.
std::unique_ptr<DiskTier> open_within(const DiskTierConfig& c, std::chrono::milliseconds limit,
                                      const std::function<void()>& unblock) {
    std::unique_ptr<DiskTier> t;
    const bool in_time = test::finishes_within(
        limit,
        [&] {
            auto o = DiskTier::open(c);
            if (o.ok()) t = std::move(o).value();
        },
        unblock);
    EXPECT_TRUE(in_time) << "DiskTier::open blocked";
    EXPECT_TRUE(t);
    return t;
}

TEST(DiskTierHangTest, FilesThatAreNotRegularAreLeftAloneAndMiss) {
    test::TempDir dir;
    const DiskTierConfig c = config(dir);
    write_blocks(c, 4);
    // Opening a FIFO for reading waits for a writer, forever: one in block
    // 1's place, one under a hash never written; a directory and a link
    // (to block 0's file) named like blocks.
    const std::vector<std::string> fifos = {block_file(dir, 1), block_file(dir, 9)};
    fs::remove(fifos[0]);
    for (const std::string& p : fifos) ASSERT_EQ(::mkfifo(p.c_str(), 0644), 0);
    fs::create_directory(block_file(dir, 10));
    fs::create_symlink(block_file(dir, 0), block_file(dir, 11));

    auto t = open_within(c, 2s, [&] { poke_fifos(fifos); });
    ASSERT_TRUE(t);
    bool scanned = false;
    EXPECT_TRUE(test::finishes_within(
        2s, [&] { scanned = t->wait_scanned(2s); }, [&] { poke_fifos(fifos); }));
    ASSERT_TRUE(scanned);
    EXPECT_EQ(t->recovered_blocks(), 3);  // 0, 2, 3
    for (int i : {1, 9, 10, 11}) EXPECT_FALSE(t->lookup(hash_of(i))) << i;
    for (int i : {0, 2, 3}) EXPECT_TRUE(reads_back(*t, i)) << i;
    EXPECT_EQ(t->stats().skipped, 4u);
    EXPECT_EQ(t->stats().corrupt, 0u);
    // Not ours: nothing deleted.
    for (const std::string& p : fifos) EXPECT_TRUE(fs::is_fifo(p)) << p;
    EXPECT_TRUE(fs::is_directory(block_file(dir, 10)));
    EXPECT_TRUE(fs::is_symlink(block_file(dir, 11)));

    // Block 2's file becomes a FIFO after the scan indexed it: reading it is
    // a miss, at once, and the FIFO stays.
    const std::string p2 = block_file(dir, 2);
    fs::remove(p2);
    ASSERT_EQ(::mkfifo(p2.c_str(), 0644), 0);
    std::vector<uint8_t> out(kBlock);
    bool read_ok = true;
    EXPECT_TRUE(test::finishes_within(
        2s, [&] { read_ok = t->read(hash_of(2), out).ok(); }, [&] { poke_fifos({p2}); }))
        << "read of a FIFO blocked";
    EXPECT_FALSE(read_ok);
    EXPECT_FALSE(t->lookup(hash_of(2)));
    EXPECT_TRUE(fs::is_fifo(p2));
    EXPECT_EQ(t->stats().skipped, 5u);
    EXPECT_EQ(t->stats().errors, 0u);
}

TEST(DiskTierHangTest, OpenReturnsBeforeTheScanAndBlocksAppearAsItGoes) {
    test::TempDir dir;
    DiskTierConfig c = config(dir);
    write_blocks(c, 20);
    // Every header read of the scan hangs until released.
    auto hung = test::HungReads::create();
    hung->hang();
    c.read_at = test::HungReads::pread_fn(hung);
    auto t = open_within(c, 2s, [&] { hung->release(); });
    ASSERT_TRUE(t);
    ASSERT_TRUE(hung->wait_blocked(1, 2s)) << "the scan never read a header";
    EXPECT_FALSE(t->scanned());
    EXPECT_TRUE(t->stats().scanning);
    EXPECT_FALSE(t->wait_scanned(20ms));
    EXPECT_EQ(t->recovered_blocks(), 0);
    for (int i = 0; i < 20; ++i) EXPECT_FALSE(t->lookup(hash_of(i))) << i;  // not found yet
    // The tier stores meanwhile (writes do not wait for the scan).
    ASSERT_TRUE(t->put(hash_of(100), block_bytes(100)));
    t->flush();
    EXPECT_TRUE(t->lookup(hash_of(100)));

    hung->release();
    ASSERT_TRUE(t->wait_scanned(5s));
    EXPECT_FALSE(t->stats().scanning);
    EXPECT_EQ(t->recovered_blocks(), 20);
    for (int i = 0; i < 20; ++i) EXPECT_TRUE(reads_back(*t, i)) << i;
    EXPECT_TRUE(reads_back(*t, 100));
    EXPECT_EQ(t->stats().blocks, 21);
}

TEST(DiskTierHangTest, ShutdownLeavesAScanStuckInTheFileSystemBehind) {
    test::TempDir dir;
    DiskTierConfig c = config(dir);
    write_blocks(c, 3);
    auto hung = test::HungReads::create();
    hung->hang();
    c.read_at = test::HungReads::pread_fn(hung);
    auto t = open_within(c, 2s, [&] { hung->release(); });
    ASSERT_TRUE(t);
    ASSERT_TRUE(hung->wait_blocked(1, 2s));
    // A write queued at shutdown still reaches the disk: only the stuck scan is left.
    ASSERT_TRUE(t->put(hash_of(50), block_bytes(50)));
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_TRUE(test::finishes_within(
        3s, [&] { t.reset(); }, [&] { hung->release(); }))
        << "~DiskTier waited for the stuck scan";
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
    EXPECT_TRUE(fs::exists(block_file(dir, 50)));
    hung->release();  // the abandoned scan thread ends on its own
    EXPECT_TRUE(hung->wait_unblocked(2s));
    // Before the process exits: the scan still logs, and logging during
    // static destruction crashes. Its core holds the last other reference
    // to `hung` (through read_at) until the thread is done with it.
    c.read_at = nullptr;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (hung.use_count() > 1 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(10ms);
    EXPECT_EQ(hung.use_count(), 1) << "the abandoned scan never ended";
}

}  // namespace
}  // namespace ig
