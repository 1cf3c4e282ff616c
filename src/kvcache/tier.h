#pragma once
// A KV tier below the hot pool: content-addressed block bytes keyed by the
// block's chain hash (the prefix index's key). Tiers hold copies of blocks
// the pool filled (written behind, KvTiers) or evicted; the pool loads them
// back on a prefix hit. A tier that
// fails (IO error, damaged data) answers "miss", never wrong bytes.
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kvcache/block_hash.h"
#include "util/expected.h"

namespace ig {

// Upper bounds (seconds) of the load-latency histogram buckets; a last
// bucket (+Inf) follows them.
inline constexpr std::array<double, 12> kTierLatencyBounds = {
    1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 5e-2, 0.25};

// Why a block was not stored (the `reason` label of the dropped-blocks metric).
enum class DropReason : uint8_t {
    QueueFull,   // a bounded write queue was full (the writer never waits)
    NoRoom,      // the budget or the file system had no room for it
    Disabled,    // the tier had turned itself off
    WriteError,  // the write failed (IO error)
    BadSize,     // not a block of this tier's size (a caller bug)
};
inline constexpr size_t kDropReasons = 5;
std::string_view drop_reason_name(DropReason r);  // "queue_full", "no_room", ...

// Plain data for metrics (the server renders it). Counters are monotonic.
struct TierStats {
    std::string name;  // "host", "disk"
    bool enabled = true;
    // Prefix lookups that reached this tier (the pool missed).
    uint64_t hit_blocks = 0, miss_blocks = 0;
    uint64_t hit_tokens = 0, miss_tokens = 0;
    uint64_t bytes_read = 0, bytes_written = 0;
    double read_seconds = 0, write_seconds = 0;  // time spent in IO: bandwidth = bytes / seconds
    uint64_t puts = 0;                           // blocks stored
    uint64_t dropped = 0;  // blocks not stored, for any reason (the sum of dropped_by)
    std::array<uint64_t, kDropReasons> dropped_by{};  // indexed by DropReason
    uint64_t evictions = 0;                           // blocks removed for room
    uint64_t errors = 0;                              // IO errors
    uint64_t corrupt = 0;                             // blocks rejected by header/checksum checks
    // Files named like blocks that are not regular files (a FIFO, socket,
    // device, link): never opened, never deleted.
    uint64_t skipped = 0;
    uint64_t load_timeouts = 0;  // loads abandoned at their deadline (served as misses)
    bool scanning = false;       // the start-up scan of stored blocks is still running
    int64_t blocks = 0, bytes_used = 0, bytes_budget = 0;  // occupancy
    // Load latency per block (read + copy into the pool): bucket counts for
    // kTierLatencyBounds then +Inf (not cumulative), sum and count.
    std::vector<uint64_t> load_latency_buckets =
        std::vector<uint64_t>(kTierLatencyBounds.size() + 1);
    double load_latency_sum_s = 0;
    uint64_t load_count = 0;

    void observe_load(double seconds);
    void count_drop(DropReason r, uint64_t n = 1) {
        dropped += n;
        dropped_by[static_cast<size_t>(r)] += n;
    }
};

class Tier {
  public:
    virtual ~Tier() = default;
    virtual std::string_view name() const = 0;
    // Stores a copy of a block's bytes. Never blocks on slow media; false
    // when the block was not taken (full, disabled, wrong size).
    virtual bool put(const BlockHash& h, std::span<const uint8_t> bytes) = 0;
    // Whether the tier (probably) holds the block; a later read may still miss.
    virtual bool lookup(const BlockHash& h) = 0;
    // Copies the block into `out` (block_bytes long). An error is a miss; the
    // tier drops blocks it finds damaged.
    virtual Status read(const BlockHash& h, std::span<uint8_t> out) = 0;
    virtual void evict(const BlockHash& h) = 0;
    virtual TierStats stats() const = 0;
};

}  // namespace ig
