#pragma once
// Hyperparameters of a Llama-family model, read from GGUF metadata and
// checked against the tensors before any weight is used.
#include <cstdint>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "util/expected.h"

namespace ig {

enum class Arch { Llama, Qwen2, Qwen3 };

struct ModelConfig {
    Arch arch = Arch::Llama;
    std::string arch_name;  // "llama" / "qwen2" / "qwen3" as in general.architecture
    std::string name;       // general.name, may be empty
    int64_t n_vocab = 0;
    int64_t n_embd = 0;
    int64_t n_layer = 0;
    int64_t n_head = 0;
    int64_t n_head_kv = 0;
    int64_t head_dim = 0;  // attention.key_length; need not be n_embd / n_head (qwen3)
    int64_t n_ff = 0;
    int64_t n_ctx_train = 0;
    float rms_eps = 1e-5f;
    float rope_freq_base = 10000.0f;
    int64_t rope_dim = 0;            // leading dims of each head that rotate
    float rope_linear_scale = 1.0f;  // positions are divided by this
    bool rope_neox = false;          // qwen2/3 rotate (i, i + d/2), llama (2i, 2i+1)
    bool tied_output = false;        // no output.weight: logits use token_embd
    bool qkv_bias = false;
    bool qk_norm = false;  // qwen3: RMSNorm over each Q and K head before RoPE

    int64_t q_dim() const { return n_head * head_dim; }
    int64_t kv_dim() const { return n_head_kv * head_dim; }

    static Expected<ModelConfig> from_gguf(const GgufFile& f);
};

}  // namespace ig
