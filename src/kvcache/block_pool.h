#pragma once
// Block ids of the paged KV cache: reference counts, a free list, the prefix
// index (PrefixIndex: content hash -> block) and LRU eviction of cached blocks
// that no sequence references. Ids only, no bytes (see KvArena).
//
// Every block is in exactly one state:
//   free    - refcount 0, unhashed, on the free stack;
//   cached  - refcount 0, hashed, on the LRU list (evictable, still findable);
//   in use  - refcount > 0, hashed or not.
// All operations are O(1). Not thread-safe: the engine thread owns the pool.
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "kvcache/block_hash.h"
#include "kvcache/prefix_index.h"
#include "util/expected.h"

namespace ig {

class BlockPool {
  public:
    explicit BlockPool(int32_t num_blocks);

    int32_t num_blocks() const { return static_cast<int32_t>(refcount_.size()); }
    // Allocatable now: never-used/freed + cached-but-unreferenced (evictable).
    int32_t num_free() const { return static_cast<int32_t>(free_.size()) + num_lru_; }
    int32_t num_used() const { return num_used_; }  // refcount > 0
    // Blocks holding a published hash (referenced or not).
    int32_t num_cached() const { return index_.size(); }

    // Refcount 1; takes a free block, else evicts the least recently used
    // unreferenced cached block (its hash is dropped). nullopt when all are in use.
    std::optional<BlockId> allocate();
    // Refcount + 1 (an evictable block leaves the LRU). `id` must be in use or cached.
    void retain(BlockId id);
    // Refcount - 1; at 0 a hashed block becomes the LRU tail (evictable), others are freed.
    void release(BlockId id);
    // Registers an in-use full block's content hash. If the hash is already
    // held by another block, this block stays unhashed and the call returns false.
    bool publish(BlockId id, const BlockHash& h);
    std::optional<BlockId> lookup(const BlockHash& h) const {  // no refcount change
        return index_.find(h);
    }

    // Called by allocate() just before it reuses an evicted cached block, while
    // the block's bytes still hold content `h` (the tiers' write-down point).
    using EvictHook = std::function<void(BlockId id, const BlockHash& h)>;
    void set_evict_hook(EvictHook hook) { evict_hook_ = std::move(hook); }

    // Every block holding a published hash (referenced or not), in no order.
    void for_each_cached(const std::function<void(BlockId, const BlockHash&)>& fn) const {
        index_.for_each(fn);
    }

    int32_t refcount(BlockId id) const;
    uint64_t evictions() const { return evictions_; }
    Status check() const;  // verifies all invariants (tests)

  private:
    enum class State : uint8_t { Free, Cached, InUse };
    static constexpr BlockId kNone = -1;

    bool valid(BlockId id) const { return id >= 0 && id < num_blocks(); }
    void lru_push_back(BlockId id);
    void lru_unlink(BlockId id);

    std::vector<int32_t> refcount_;
    std::vector<State> state_;
    std::vector<BlockId> prev_, next_;  // intrusive LRU list (cached blocks only)
    BlockId lru_head_ = kNone;          // least recently released: evicted first
    BlockId lru_tail_ = kNone;
    int32_t num_lru_ = 0;
    int32_t num_used_ = 0;
    std::vector<BlockId> free_;  // stack
    PrefixIndex index_;
    uint64_t evictions_ = 0;
    EvictHook evict_hook_;
};

}  // namespace ig
