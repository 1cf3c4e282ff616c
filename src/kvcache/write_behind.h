#pragma once
// Write-behind of full KV blocks to the tiers below the pool, so that a
// block survives a crash (the disk tier) and a pool eviction (the host tier)
// without waiting for either. The engine thread only copies the block's
// bytes into a free slot of a fixed staging area (one memcpy, no allocation
// of bytes, no IO) and goes on; one writer thread hands each staged block to
// the sink (KvTiers: the host tier's copy, the disk tier's write queue),
// neither of which ever waits on media. A copy rather than a reference to
// the pool block: a referenced block could not be evicted or reused until
// written, which would tie the pool's capacity to the writer's speed.
//
// Bounded: when every slot is taken the block is dropped and counted
// (queue_full), never waited for. A hash already staged is not staged again.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <unordered_set>
#include <vector>

#include "kvcache/block_hash.h"

namespace ig {

struct WriteBehindConfig {
    size_t block_bytes = 0;
    int64_t queue_bytes = 32 << 20;  // staging area; at least 2 blocks, at most 4096
    // Test hook: runs on the writer thread before each block (tests hold the
    // writer to fill the queue). Must return for the destructor to end.
    std::function<void()> before_write;
};

class WriteBehind {
  public:
    // Called on the writer thread with a staged block; must not block on media.
    using Sink = std::function<void(const BlockHash& h, std::span<const uint8_t> bytes)>;
    enum class Offer { Queued, Duplicate, QueueFull };

    WriteBehind(const WriteBehindConfig& cfg, Sink sink);
    // Hands what is staged to the sink, then joins the writer.
    ~WriteBehind();
    WriteBehind(const WriteBehind&) = delete;
    WriteBehind& operator=(const WriteBehind&) = delete;

    // Engine thread: stages a copy of `bytes` (block_bytes long).
    Offer offer(const BlockHash& h, std::span<const uint8_t> bytes);
    bool queued(const BlockHash& h) const;  // staged and not yet handed to the sink
    void flush();                           // until nothing is staged
    uint64_t dropped() const;               // blocks refused with Offer::QueueFull
    size_t slots() const { return slots_; }

  private:
    struct Item {
        BlockHash hash;
        uint32_t slot;
    };
    void writer();
    uint8_t* slot_bytes(uint32_t slot) { return staging_.get() + slot * cfg_.block_bytes; }

    const WriteBehindConfig cfg_;
    const Sink sink_;
    size_t slots_ = 0;
    // Default-initialised: pages are only touched (committed) once used.
    std::unique_ptr<uint8_t[]> staging_;
    mutable std::mutex mu_;
    std::condition_variable work_cv_, idle_cv_;
    std::vector<uint32_t> free_;  // free slots (stack)
    std::vector<Item> ring_;      // staged blocks, FIFO, capacity slots_
    size_t head_ = 0, count_ = 0;
    std::unordered_set<BlockHash, BlockHashHasher> staged_;  // hashes in ring_ or being written
    bool busy_ = false, stop_ = false;
    uint64_t dropped_ = 0;
    std::thread thread_;
};

}  // namespace ig
