#pragma once
// The prefix index: content hash -> the one block holding that content, and
// each block's published hash. BlockPool decides when a block is published
// or evicted; this class only keeps the two directions in agreement. O(1),
// not thread-safe (the engine thread owns the pool).
#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>
#include <vector>

#include "kvcache/block_hash.h"
#include "util/expected.h"

namespace ig {

class PrefixIndex {
  public:
    explicit PrefixIndex(int32_t num_blocks);

    // Publishes `id` as holding `h`. False when another block already holds
    // `h` (this one stays unhashed) or `id` holds a different hash.
    bool insert(BlockId id, const BlockHash& h);
    // Drops `id`'s hash (eviction); no-op for an unhashed block.
    void erase(BlockId id);
    std::optional<BlockId> find(const BlockHash& h) const;

    bool hashed(BlockId id) const { return hashed_[static_cast<size_t>(id)] != 0; }
    const BlockHash& hash_of(BlockId id) const { return hash_[static_cast<size_t>(id)]; }
    int32_t size() const { return static_cast<int32_t>(index_.size()); }

    // Every hashed block, in no order.
    void for_each(const std::function<void(BlockId, const BlockHash&)>& fn) const {
        for (const auto& [h, id] : index_) fn(id, h);
    }
    // Both directions agree (tests).
    Status check() const;

  private:
    std::vector<uint8_t> hashed_;
    std::vector<BlockHash> hash_;
    std::unordered_map<BlockHash, BlockId, BlockHashHasher> index_;
};

}  // namespace ig
