#pragma once
// Disk tier: one file per KV block in a directory under a byte budget (LRU
// replacement). put() only queues a copy (bounded by queue_bytes; a full
// queue drops the block): background IO threads write <hash>.kvb.tmp and
// rename it into place. Reads run on the caller's thread (KvTiers calls them
// from its loader threads) and check the header (model/layout fingerprint,
// hash, size) and the payload CRC32C; a damaged file is deleted and reads as
// a miss.
//
// open() checks the directory and returns at once; the files already there
// are indexed by a background scan (header checks; payload checksums are
// verified when a block is read), so a restarted server keeps its blocks
// without waiting for them: until the scan reaches a block, lookups miss it.
// Only regular files are ever opened, non-blocking and without following
// links: a FIFO, socket, device or link named like a block is counted and
// left alone (not ours to delete), and reading one is a miss. Faults at run
// time (disk full, IO or permission errors, the directory removed) are
// logged and counted: a full disk shrinks the budget, a missing directory is
// re-created once, repeated failures disable the tier. Serving goes on by
// recompute. Durability against a crash of the machine (not only of the
// process, which the rename covers) is DiskSync's. A thread blocked in the
// file system (a dead network mount)
// holds no lock that lookups or put() need, and the destructor leaves it
// behind after io_timeout without progress, so that shutdown ends.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "kvcache/disk_file_io.h"
#include "kvcache/tier.h"

namespace ig {

// When written block files reach stable storage. A process crash loses no
// renamed file in any mode (the page cache survives it); these decide what
// a power loss or kernel crash may lose. A file lost or torn that way reads
// as a miss (header and payload checksums), never as wrong bytes.
enum class DiskSync {
    Off,     // never fsync: the kernel writes back when it likes
    Batch,   // one fsync per file written and one of the directory, per batch,
             // at most every sync_interval (default)
    Always,  // fsync each file before its rename and the directory after it
};
Expected<DiskSync> parse_disk_sync(std::string_view s);  // "off", "batch", "always"
std::string_view disk_sync_name(DiskSync s);

// fsync(2)'s contract; tests count calls (files and the directory).
using FsyncFn = std::function<int(int fd)>;

struct DiskTierConfig {
    std::string dir;
    int64_t budget_bytes = 0;
    size_t block_bytes = 0;
    // Model fingerprint + KV layout: files with another key are left alone.
    std::string layout_key;
    int io_threads = 1;
    int64_t queue_bytes = 64 << 20;  // pending writes held in memory
    // A file operation blocked this long is taken as hung: the destructor
    // waits this long without progress before it leaves threads behind.
    std::chrono::milliseconds io_timeout{5000};
    // Fault injection (tests): replaces ::pread on block files (scan and
    // read), e.g. to simulate a read that hangs in a dead mount.
    ReadAtFn read_at;
    DiskSync sync = DiskSync::Batch;
    std::chrono::milliseconds sync_interval{200};  // DiskSync::Batch
    FsyncFn fsync;                                 // empty: ::fsync (tests count or fail calls)
};

class DiskTier final : public Tier {
  public:
    // Checks the config and that the directory can be created and listed,
    // starts the IO threads and the background scan, and returns.
    static Expected<std::unique_ptr<DiskTier>> open(DiskTierConfig cfg);
    // Stops the scan, writes what is queued and joins the threads; threads
    // that make no progress for io_timeout are detached instead (they hold
    // the tier's shared state, never memory of the caller's).
    ~DiskTier() override;
    DiskTier(const DiskTier&) = delete;
    DiskTier& operator=(const DiskTier&) = delete;

    std::string_view name() const override { return "disk"; }
    bool put(const BlockHash& h, std::span<const uint8_t> bytes) override;
    bool lookup(const BlockHash& h) override;
    Status read(const BlockHash& h, std::span<uint8_t> out) override;
    void evict(const BlockHash& h) override;
    TierStats stats() const override;

    void flush();  // waits until every queued write is done
    // Valid blocks the start-up scan has found so far.
    int64_t recovered_blocks() const;
    bool scanned() const;  // the scan has ended (done, stopped, or the listing failed)
    // Waits until scanned(); false when `timeout` passed first (tests, benchmarks).
    bool wait_scanned(std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;
    std::string block_path(const BlockHash& h) const;

  private:
    struct Core;  // the state the tier's threads share (disk_tier.cpp)
    explicit DiskTier(std::shared_ptr<Core> core) : core_(std::move(core)) {}

    std::shared_ptr<Core> core_;
    std::vector<std::thread> threads_;  // IO threads, then the scan
};

}  // namespace ig
