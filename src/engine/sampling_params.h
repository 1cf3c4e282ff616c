#pragma once
// Per-request sampling and stopping knobs (OpenAI / vLLM semantics).
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "util/expected.h"

namespace ig {

struct SamplingParams {
    float temperature = 1.0f;         // 0: greedy (argmax; ties → lowest id)
    int32_t top_k = 0;                // <= 0: off
    float top_p = 1.0f;               // (0, 1]
    float min_p = 0.0f;               // [0, 1]
    float repetition_penalty = 1.0f;  // > 0; HF/vLLM semantics over prompt + output tokens
    float presence_penalty = 0.0f;    // [-2, 2], OpenAI semantics over output tokens
    float frequency_penalty = 0.0f;   // [-2, 2]
    std::vector<std::pair<int32_t, float>> logit_bias;  // added to logits; ids validated
    std::optional<uint64_t>
        seed;               // per request: same seed + prompt → same output, whatever the batch
    bool logprobs = false;  // return the sampled token's logprob
    int32_t top_logprobs = 0;                // 0..20 alternatives (requires logprobs)
    Status validate(int32_t n_vocab) const;  // errors name the field and the bound
};

struct StopParams {
    int64_t max_tokens = 16;
    std::vector<std::string> stop;  // stop strings (may span tokens; never streamed)
    std::vector<int32_t> stop_token_ids;
    bool ignore_eos = false;
    bool include_stop_str_in_output = false;
    int64_t min_tokens = 0;  // EOS/stop ignored before this many tokens
};

}  // namespace ig
