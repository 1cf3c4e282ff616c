#pragma once
// The tiers below the hot pool, as the pool and the prefix walk see them:
// blocks the pool evicts are written down (host RAM copy now, disk write
// queued; eviction never waits for the disk), and a prefix walk that misses
// the pool asks host then disk and loads a found block into a pool block.
// Engine thread only (the disk tier's IO threads are internal).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kvcache/disk_tier.h"
#include "kvcache/host_tier.h"
#include "kvcache/kv_arena.h"

namespace ig {

struct KvTiersConfig {
    int64_t host_bytes = 0;  // 0: no host tier
    bool host_q8 = false;
    int32_t elem_bytes = 2;  // KV element size (F16: 2, F32: 4), for Q8
    std::string disk_dir;    // empty: no disk tier
    int64_t disk_bytes = 0;
    int disk_io_threads = 2;
    int64_t disk_queue_bytes = 64 << 20;
    std::string layout_key;  // model fingerprint + KV layout (disk file headers)
    int32_t block_tokens = 16;
};

class KvTiers {
  public:
    // Null when the config asks for no tier.
    static Expected<std::unique_ptr<KvTiers>> create(const KvTiersConfig& cfg, KvArena& arena);

    // The pool is about to reuse block `id` that held content `h`.
    void on_evict(BlockId id, const BlockHash& h);
    // Whether some tier holds `h`; counts a miss in every tier when none does.
    bool contains(const BlockHash& h);
    // Copies `h` from the first tier holding it into pool block `dst`. False:
    // every tier missed or failed (the caller frees `dst`, recomputes).
    bool load(const BlockHash& h, BlockId dst);
    std::vector<TierStats> stats() const;
    void flush();  // waits for queued disk writes (tests, benchmarks)

    HostTier* host() { return host_.get(); }
    DiskTier* disk() { return disk_.get(); }

  private:
    KvTiers(const KvTiersConfig& cfg, KvArena& arena) : cfg_(cfg), arena_(arena) {}
    struct Counters {
        uint64_t hits = 0, misses = 0;
        TierStats latency;  // only the histogram fields are used
    };
    KvTiersConfig cfg_;
    KvArena& arena_;
    std::unique_ptr<HostTier> host_;
    std::unique_ptr<DiskTier> disk_;
    Counters host_c_, disk_c_;
};

}  // namespace ig
