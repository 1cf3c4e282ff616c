#pragma once
// A Hugging Face config.json read as the GGUF metadata llama.cpp's
// convert_hf_to_gguf.py writes for it, so one model loader serves both.
// Fields that change the math and that the model cannot do (yarn, dynamic or
// longrope scaling, a sliding window shorter than the context, biases
// outside Q/K/V, ...) are refused by name: never silently wrong logits.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/gguf.h"
#include "util/expected.h"

namespace ig {

struct HfConfig {
    std::string arch;  // "llama", "qwen2", "qwen3" (general.architecture)
    int64_t n_head = 0;
    int64_t n_head_kv = 0;
    int64_t head_dim = 0;
    int64_t vocab_size = 0;
    bool tie_word_embeddings = false;
    bool untied_declared = false;  // "tie_word_embeddings": false was written out
    // Llama 3 rope scaling: per-frequency factors llama.cpp stores as
    // rope_freqs.weight (empty otherwise).
    std::vector<float> rope_freqs;
    std::vector<GgufKV> metadata;  // general.architecture, <arch>.* keys
};

Expected<HfConfig> hf_config_from_json(std::string_view config_json);

}  // namespace ig
