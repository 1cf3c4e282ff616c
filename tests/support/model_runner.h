#pragma once
// Drives LlamaModel::forward for tests: owns KV memory and hands each
// sequence its own (deliberately scattered) blocks.
#include <algorithm>
#include <numeric>
#include <random>
#include <span>
#include <vector>

#include "model/llama_model.h"

namespace ig::test {

class KvArena {
  public:
    KvArena(const LlamaModel& m, int64_t n_blocks, int64_t block_tokens, DType type,
            uint64_t shuffle_seed = 7)
        : layout_(m.kv_layout(block_tokens, type)),
          mem_(static_cast<size_t>(n_blocks) * layout_.block_bytes()),
          free_(static_cast<size_t>(n_blocks)) {
        std::iota(free_.begin(), free_.end(), 0);
        // Non-contiguous block ids catch any code that assumes a linear cache.
        std::shuffle(free_.begin(), free_.end(), std::mt19937_64(shuffle_seed));
        view_ = {layout_, mem_.data(), n_blocks};
    }
    // Takes enough blocks for n_tokens positions.
    std::vector<int32_t> take(int64_t n_tokens) {
        const auto n =
            static_cast<size_t>((n_tokens + layout_.block_tokens - 1) / layout_.block_tokens);
        std::vector<int32_t> t(free_.end() - static_cast<std::ptrdiff_t>(n), free_.end());
        free_.resize(free_.size() - n);
        return t;
    }
    const KvCacheView& view() const { return view_; }

  private:
    KvLayout layout_;
    std::vector<uint8_t> mem_;
    std::vector<int32_t> free_;
    KvCacheView view_;
};

// Runs tokens [start, start + n) of one sequence, returning n_logits rows.
inline std::vector<float> run_seq(LlamaModel& m, const KvArena& kv, ThreadPool& pool,
                                  std::span<const int32_t> tokens, int64_t start,
                                  std::span<const int32_t> table, int64_t n_logits) {
    ForwardBatch b;
    b.seqs.push_back({tokens, start, table, n_logits});
    std::vector<float> logits(static_cast<size_t>(n_logits * m.config().n_vocab));
    auto st = m.forward(b, kv.view(), pool, logits);
    if (!st.ok()) throw std::runtime_error(st.error().message);
    return logits;
}

}  // namespace ig::test
