#pragma once
// Byte layout of paged KV blocks. The caller (kvcache/ later, tests now)
// owns the memory; the model reads and writes it only through block tables.
//
// One block holds `block_tokens` positions for every layer:
//   block -> layer -> {K, V} -> kv_head -> token -> head_dim elements
// so one KV head's keys for a block are contiguous (GQA reads them once for
// all query heads of the group).
#include <cstddef>
#include <cstdint>

#include "tensor/dtype.h"

namespace ig {

struct KvLayout {
    int64_t n_layer = 0;
    int64_t n_head_kv = 0;
    int64_t head_dim = 0;
    int64_t block_tokens = 16;
    DType type = DType::F16;  // F16 or F32

    size_t elem_bytes() const { return type == DType::F32 ? 4 : 2; }
    size_t head_bytes() const {
        return static_cast<size_t>(block_tokens * head_dim) * elem_bytes();
    }
    size_t kv_bytes() const { return head_bytes() * static_cast<size_t>(n_head_kv); }
    size_t layer_bytes() const { return 2 * kv_bytes(); }
    size_t block_bytes() const { return layer_bytes() * static_cast<size_t>(n_layer); }

    // Offset of the first element of (layer, K or V, head, token in block).
    size_t offset(int64_t layer, bool v, int64_t head, int64_t tok) const {
        return static_cast<size_t>(layer) * layer_bytes() + (v ? kv_bytes() : 0) +
               static_cast<size_t>(head) * head_bytes() +
               static_cast<size_t>(tok * head_dim) * elem_bytes();
    }
};

// A view of caller-owned block memory: n_blocks blocks of layout.block_bytes().
struct KvCacheView {
    KvLayout layout;
    uint8_t* base = nullptr;
    int64_t n_blocks = 0;

    uint8_t* block(int64_t b) const { return base + static_cast<size_t>(b) * layout.block_bytes(); }
};

}  // namespace ig
