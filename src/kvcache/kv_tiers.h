#pragma once
// The tiers below the hot pool, as the pool and the prefix walk see them:
// every block that becomes full and gets its chain hash is written behind
// to both tiers at once (WriteBehind: the engine thread copies it into a
// bounded staging area, the writer thread stores it in host RAM and queues
// the disk write), so that a crash loses at most the last moments' blocks.
// A block the pool evicts is written down only where no tier holds it yet
// (the write-behind dropped it or has not reached it, or write-behind is
// off): host RAM copy now, disk write queued; eviction never waits for the
// disk. Written-behind host copies give way to evicted blocks
// (HostTier::put_behind), so the host budget still favours what the pool
// no longer holds. A prefix
// walk that misses
// the pool asks host then disk and loads a found block into a pool block:
// host copies at once, disk reads on loader threads (DiskLoader) so that the
// engine keeps stepping other requests meanwhile. A disk load not finished
// within disk_load_timeout is reported failed (the sequence recomputes) and
// its thread, if stuck in the file system, is abandoned without ever
// touching the pool block again: no wait of the engine's (loads, shutdown)
// is unbounded. Engine thread only (the disk tier's IO threads and the
// loaders are internal).
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kvcache/disk_loader.h"
#include "kvcache/disk_tier.h"
#include "kvcache/host_tier.h"
#include "kvcache/kv_arena.h"
#include "kvcache/tier_load.h"
#include "kvcache/write_behind.h"

namespace ig {

struct KvTiersConfig {
    int64_t host_bytes = 0;  // 0: no host tier
    bool host_q8 = false;
    int32_t elem_bytes = 2;  // KV element size (F16: 2, F32: 4), for Q8
    std::string disk_dir;    // empty: no disk tier
    int64_t disk_bytes = 0;
    int disk_io_threads = 2;
    int disk_load_threads = 2;  // background reads of blocks found on disk
    int64_t disk_queue_bytes = 64 << 20;
    DiskSync disk_sync = DiskSync::Batch;
    FsyncFn disk_fsync;  // fault injection / counting (tests): DiskTierConfig::fsync
    // Full blocks are written behind as they are published (off: only on
    // eviction and at a clean exit, which a crash loses).
    bool write_behind = true;
    int64_t write_behind_queue_bytes = 32 << 20;
    std::function<void()> write_behind_hook;  // tests: WriteBehindConfig::before_write
    std::string layout_key;                   // model fingerprint + KV layout (disk file headers)
    int32_t block_tokens = 16;
    // A disk load not done this long after it started is a miss (a hung
    // mount must not stall requests); also how long shutdown waits for disk IO.
    std::chrono::milliseconds disk_load_timeout{5000};
    ReadAtFn disk_read_at;  // fault injection (tests): DiskTierConfig::read_at
};

class KvTiers {
  public:
    // Abandons the loads in flight (none writes into the arena afterwards),
    // waits for a read in progress until its deadline and for queued disk
    // writes while they progress (disk_load_timeout without progress ends
    // it); threads still blocked in the file system are left behind.
    ~KvTiers();
    KvTiers(const KvTiers&) = delete;
    KvTiers& operator=(const KvTiers&) = delete;

    // Null when the config asks for no tier.
    static Expected<std::unique_ptr<KvTiers>> create(const KvTiersConfig& cfg, KvArena& arena);

    // Block `id` became full and was published as `h`: stage it for both
    // tiers unless they hold it (one memcpy; a full staging area drops it).
    void on_full(BlockId id, const BlockHash& h);
    // The pool is about to reuse block `id` that held content `h`: stores it
    // in the tiers that do not hold it.
    void on_evict(BlockId id, const BlockHash& h);
    // Whether some tier holds `h`; counts a miss in every tier when none does.
    bool contains(const BlockHash& h);
    // Starts copying `h` from the first tier holding it into pool block
    // `dst`, which nothing may read or write until the load has finished.
    LoadStart begin_load(const BlockHash& h, BlockId dst);
    // Appends the loads finished since the last call, and those past their
    // deadline as failed (out is cleared first).
    void poll_loads(std::vector<LoadResult>& out);
    // Until every started load has finished or passed its deadline.
    void wait_loads();
    // Loaders take no new job while paused (tests hold loads in flight).
    void set_loads_paused(bool paused);
    size_t loads_in_flight() const;
    // Loader threads still blocked in a read abandoned at its deadline.
    size_t stuck_disk_reads() const { return loader_ ? loader_->stuck() : 0; }
    std::vector<TierStats> stats() const;
    // Waits for staged blocks and queued disk writes (tests, benchmarks).
    void flush();

    HostTier* host() { return host_.get(); }
    DiskTier* disk() { return disk_.get(); }

  private:
    KvTiers(const KvTiersConfig& cfg, KvArena& arena) : cfg_(cfg), arena_(arena) {}
    // The disk tier, when it is on and some loader thread is not stuck.
    bool disk_readable() const { return disk_ && loader_->available(); }
    // The write-behind's sink (writer thread): each tier not holding `h` stores it.
    void store_behind(const BlockHash& h, std::span<const uint8_t> bytes);

    struct Counters {
        uint64_t hits = 0, misses = 0, timeouts = 0;
        TierStats latency;  // only the histogram fields are used
    };
    KvTiersConfig cfg_;
    KvArena& arena_;
    std::unique_ptr<HostTier> host_;
    std::shared_ptr<DiskTier> disk_;  // shared with loader threads that may outlive us
    std::unique_ptr<DiskLoader> loader_;
    std::unique_ptr<WriteBehind> write_behind_;  // after the tiers: destroyed first
    Counters host_c_, disk_c_;
    std::vector<DiskLoader::Finished> polled_;     // engine thread
    size_t loads_started_ = 0, loads_polled_ = 0;  // engine thread
};

}  // namespace ig
