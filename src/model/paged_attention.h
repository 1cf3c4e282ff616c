#pragma once
// Causal attention of a batch's new tokens over the paged KV cache, one layer.
//
// Work is split into (query tile, KV head) tasks. A tile is up to a few
// consecutive tokens of one sequence; its queries and the KV head's group of
// query heads go through each chunk of keys together, so K/V bytes are read
// and converted once per tile instead of once per token, and the scores and
// the weighted sum of values are small matrix products (the kernel table's
// matmul). Every query row is computed by the same sequence of operations
// whatever tile it lands in (masked keys contribute exact zeros), so a
// token's output does not depend on how the batch was chunked.
#include <cstdint>

#include "kernels/kernels.h"
#include "model/forward_batch.h"
#include "model/kv_layout.h"
#include "util/thread_pool.h"

namespace ig {

struct AttentionInput {
    const ForwardBatch* batch = nullptr;
    const KvCacheView* kv = nullptr;
    int64_t layer = 0;
    int64_t n_tokens = 0;
    const int32_t* seq = nullptr;  // per token: index into batch->seqs
    const int64_t* pos = nullptr;  // per token: position (K/V of it already stored)
    const float* q = nullptr;      // n_tokens x n_head x head_dim (rope applied)
    float* out = nullptr;          // n_tokens x n_head x head_dim
    int64_t n_head = 0;
    float scale = 1.0f;
};

// Largest (n_head / n_head_kv) x head_dim, and 16 x head_dim, the tasks'
// stack buffers hold (LlamaModel::validate checks it).
inline constexpr int64_t kMaxAttentionRowFloats = 16384;

void paged_attention(ThreadPool& pool, const KernelTable& kt, const AttentionInput& in);

}  // namespace ig
