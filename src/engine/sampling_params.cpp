#include "engine/sampling_params.h"

#include <cmath>

namespace ig {

namespace {
// Generous upper bound: OpenAI documents 0..2, vLLM accepts any finite value.
constexpr float kMaxTemperature = 100.0f;
constexpr int32_t kMaxTopLogprobs = 20;
}  // namespace

Status SamplingParams::validate(int32_t n_vocab) const {
    if (!std::isfinite(temperature) || temperature < 0.0f || temperature > kMaxTemperature)
        return make_error("temperature must be in [0, {}], got {}", kMaxTemperature, temperature);
    if (top_k < -1) return make_error("top_k must be -1, 0 (disabled) or >= 1, got {}", top_k);
    if (!(top_p > 0.0f && top_p <= 1.0f))
        return make_error("top_p must be in (0, 1], got {}", top_p);
    if (!(min_p >= 0.0f && min_p <= 1.0f))
        return make_error("min_p must be in [0, 1], got {}", min_p);
    if (!(std::isfinite(repetition_penalty) && repetition_penalty > 0.0f))
        return make_error("repetition_penalty must be finite and > 0, got {}", repetition_penalty);
    if (!(presence_penalty >= -2.0f && presence_penalty <= 2.0f))
        return make_error("presence_penalty must be in [-2, 2], got {}", presence_penalty);
    if (!(frequency_penalty >= -2.0f && frequency_penalty <= 2.0f))
        return make_error("frequency_penalty must be in [-2, 2], got {}", frequency_penalty);
    for (const auto& [id, bias] : logit_bias) {
        if (id < 0 || id >= n_vocab)
            return make_error("logit_bias token id must be in [0, {}), got {}", n_vocab, id);
        if (!(bias >= -100.0f && bias <= 100.0f))
            return make_error("logit_bias value for token {} must be in [-100, 100], got {}", id,
                              bias);
    }
    if (top_logprobs < 0 || top_logprobs > kMaxTopLogprobs)
        return make_error("top_logprobs must be in [0, {}], got {}", kMaxTopLogprobs, top_logprobs);
    if (top_logprobs > 0 && !logprobs)
        return make_error("top_logprobs requires logprobs to be true, got top_logprobs={}",
                          top_logprobs);
    return {};
}

}  // namespace ig
