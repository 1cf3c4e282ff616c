#pragma once
// Host-RAM tier: a byte budget of block copies with LRU replacement.
// Optionally Q8: each group of 32 KV elements (F16 or F32) is stored as
// int8 + a float scale, ~1.8x (F16) / 3.6x (F32) more blocks per byte, at
// the cost of exactness (a Q8 hit may change later tokens slightly).
#include <cstdint>
#include <list>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "kvcache/tier.h"

namespace ig {

struct HostTierConfig {
    int64_t budget_bytes = 0;
    size_t block_bytes = 0;
    bool q8 = false;
    int32_t elem_bytes = 2;  // 2: F16 KV, 4: F32 KV (Q8 needs to know)
};

class HostTier final : public Tier {
  public:
    static Expected<std::unique_ptr<HostTier>> create(HostTierConfig cfg);

    std::string_view name() const override { return "host"; }
    bool put(const BlockHash& h, std::span<const uint8_t> bytes) override;
    // A copy of a block the pool still holds (written behind): stored at the
    // cold end, only into free room or in place of another such copy, so
    // that blocks the pool evicted (put) keep the budget. A later put or
    // read of it makes it an ordinary block. Dropped (no_room) otherwise.
    bool put_behind(const BlockHash& h, std::span<const uint8_t> bytes);
    bool lookup(const BlockHash& h) override;
    Status read(const BlockHash& h, std::span<uint8_t> out) override;
    void evict(const BlockHash& h) override;
    TierStats stats() const override;

    size_t stored_block_bytes() const { return stored_bytes_; }  // per block, after Q8

  private:
    explicit HostTier(HostTierConfig cfg);
    void evict_locked(BlockHash h);  // by value: callers pass lru_.front()

    struct Node {
        std::vector<uint8_t> data;
        std::list<BlockHash>::iterator lru;
        bool behind = false;  // put_behind's copy, not used since (the LRU front)
    };
    void store_locked(const BlockHash& h, std::span<const uint8_t> bytes, bool behind);
    HostTierConfig cfg_;
    size_t stored_bytes_;
    mutable std::mutex mu_;
    std::unordered_map<BlockHash, Node, BlockHashHasher> map_;
    std::list<BlockHash> lru_;  // front: least recently used
    TierStats stats_;
};

// Q8 codec of a KV block (exposed for tests): groups of 32 elements.
size_t q8_encoded_bytes(size_t block_bytes, int32_t elem_bytes);
void q8_encode(std::span<const uint8_t> in, int32_t elem_bytes, std::span<uint8_t> out);
void q8_decode(std::span<const uint8_t> in, int32_t elem_bytes, std::span<uint8_t> out);

}  // namespace ig
