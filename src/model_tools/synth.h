#pragma once
// `infergrid synth`: GGUF models with seeded random weights at the scale of
// real initialisations and a small working SentencePiece-style tokenizer.
// Tests and benchmarks use them for realistic shapes without downloads.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tensor/dtype.h"
#include "util/expected.h"
#include "util/progress.h"
#include "util/thread_pool.h"

namespace ig {

struct SynthSpec {
    std::string arch = "llama";  // llama | qwen2 | qwen3
    int64_t n_embd = 64;
    int64_t n_layer = 2;
    int64_t n_head = 4;
    int64_t n_head_kv = 2;
    int64_t head_dim = 0;  // 0: n_embd / n_head; else written as attention.key_length
    int64_t n_ff = 128;
    int64_t n_vocab = 320;
    int64_t n_ctx = 2048;
    bool tied_output = false;
    bool qkv_bias = false;     // qwen2 always has it, qwen3 never
    bool llama3_rope = false;  // write rope_freqs.weight as Llama 3.1 does
    float rope_base = 10000.0f;
    float rms_eps = 1e-5f;
};

std::optional<SynthSpec> synth_preset(std::string_view name);
std::vector<std::string> synth_preset_names();

// Writes the model; 2-D weight matrices get `type`, norms and biases stay F32.
// qwen3 also gets per-head Q/K norm weights (attn_q_norm / attn_k_norm).
// progress: tensors written so far.
Status synth_model(const SynthSpec& spec, DType type, uint64_t seed, const std::string& path,
                   ThreadPool& pool, const ProgressFn& progress = {});

}  // namespace ig
