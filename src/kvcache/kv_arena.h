#pragma once
// The KV bytes: num_blocks x block_bytes in one anonymous mapping (64-byte
// aligned, zero-initialised pages committed on first touch).
#include <cstddef>
#include <cstdint>

#include "kvcache/block_hash.h"
#include "util/expected.h"

namespace ig {

class KvArena {
  public:
    // Errors on 0 blocks, 0-byte blocks, overflow or a failed mapping.
    static Expected<KvArena> create(int64_t num_blocks, size_t block_bytes);
    // As many blocks as fit in `budget_bytes` (at most INT32_MAX); errors if none fits.
    static Expected<KvArena> for_budget(int64_t budget_bytes, size_t block_bytes);

    KvArena(KvArena&& o) noexcept;
    KvArena& operator=(KvArena&& o) noexcept;
    KvArena(const KvArena&) = delete;
    KvArena& operator=(const KvArena&) = delete;
    ~KvArena();

    uint8_t* base() { return base_; }
    const uint8_t* base() const { return base_; }
    int64_t num_blocks() const { return num_blocks_; }
    size_t block_bytes() const { return block_bytes_; }
    uint8_t* block(BlockId id) { return base_ + static_cast<size_t>(id) * block_bytes_; }
    void copy_block(BlockId dst, BlockId src);

  private:
    KvArena(uint8_t* base, size_t mapped, int64_t num_blocks, size_t block_bytes)
        : base_(base), mapped_(mapped), num_blocks_(num_blocks), block_bytes_(block_bytes) {}
    void reset();

    uint8_t* base_ = nullptr;
    size_t mapped_ = 0;
    int64_t num_blocks_ = 0;
    size_t block_bytes_ = 0;
};

// Default KV budget: 40 % of MemAvailable (/proc/meminfo) minus `reserve_bytes`,
// clamped >= 0.
int64_t default_kv_budget_bytes(int64_t reserve_bytes);

}  // namespace ig
