#pragma once
// The tiers below the hot pool, as the pool and the prefix walk see them:
// blocks the pool evicts are written down (host RAM copy now, disk write
// queued; eviction never waits for the disk), and a prefix walk that misses
// the pool asks host then disk and loads a found block into a pool block:
// host copies at once, disk reads on loader threads so that the engine keeps
// stepping other requests meanwhile. Engine thread only (the disk tier's IO
// threads and the loaders are internal).
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kvcache/disk_tier.h"
#include "kvcache/host_tier.h"
#include "kvcache/kv_arena.h"
#include "kvcache/tier_load.h"

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
    std::string layout_key;  // model fingerprint + KV layout (disk file headers)
    int32_t block_tokens = 16;
};

class KvTiers {
  public:
    ~KvTiers();  // finishes the loads in flight (they write into the arena)
    KvTiers(const KvTiers&) = delete;
    KvTiers& operator=(const KvTiers&) = delete;

    // Null when the config asks for no tier.
    static Expected<std::unique_ptr<KvTiers>> create(const KvTiersConfig& cfg, KvArena& arena);

    // The pool is about to reuse block `id` that held content `h`.
    void on_evict(BlockId id, const BlockHash& h);
    // Whether some tier holds `h`; counts a miss in every tier when none does.
    bool contains(const BlockHash& h);
    // Starts copying `h` from the first tier holding it into pool block
    // `dst`, which nothing may read or write until the load has finished.
    LoadStart begin_load(const BlockHash& h, BlockId dst);
    // Appends the loads finished since the last call (out is cleared first).
    void poll_loads(std::vector<LoadResult>& out);
    void wait_loads();  // until every started load has finished (never while paused)
    // Loaders take no new job while paused (tests hold loads in flight).
    void set_loads_paused(bool paused);
    size_t loads_in_flight() const;
    std::vector<TierStats> stats() const;
    void flush();  // waits for queued disk writes (tests, benchmarks)

    HostTier* host() { return host_.get(); }
    DiskTier* disk() { return disk_.get(); }

  private:
    KvTiers(const KvTiersConfig& cfg, KvArena& arena) : cfg_(cfg), arena_(arena) {}
    void loader();

    struct LoadJob {
        BlockHash hash;
        BlockId block;
    };
    struct FinishedLoad {
        LoadResult result;
        double seconds;
    };
    struct Counters {
        uint64_t hits = 0, misses = 0;
        TierStats latency;  // only the histogram fields are used
    };
    KvTiersConfig cfg_;
    KvArena& arena_;
    std::unique_ptr<HostTier> host_;
    std::unique_ptr<DiskTier> disk_;
    Counters host_c_, disk_c_;

    mutable std::mutex load_mu_;
    std::condition_variable load_cv_, load_idle_cv_;
    std::deque<LoadJob> load_queue_;
    std::vector<FinishedLoad> load_done_;
    std::vector<FinishedLoad> polled_;             // engine thread
    size_t loads_started_ = 0, loads_polled_ = 0;  // engine thread
    int loads_active_ = 0;
    bool load_stop_ = false, load_paused_ = false;
    std::vector<std::thread> loaders_;
};

}  // namespace ig
