#pragma once
// The engine-facing input of one forward call: any mix of prefill chunks and
// single decode tokens of different sequences.
#include <cstdint>
#include <span>
#include <vector>

namespace ig {

struct SequenceInput {
    std::span<const int32_t> tokens;       // new tokens of this sequence
    int64_t start_pos = 0;                 // position of tokens[0]; KV for [0, start_pos) is cached
    std::span<const int32_t> block_table;  // block ids covering positions [0, start_pos + n)
    int64_t n_logits = 1;                  // logits for the last n_logits new tokens (0..n)
};

struct ForwardBatch {
    std::vector<SequenceInput> seqs;

    int64_t n_tokens() const {
        int64_t n = 0;
        for (const auto& s : seqs) n += static_cast<int64_t>(s.tokens.size());
        return n;
    }
    // Rows of logits forward() writes, in sequence order.
    int64_t n_logit_rows() const {
        int64_t n = 0;
        for (const auto& s : seqs) n += s.n_logits;
        return n;
    }
};

}  // namespace ig
