#pragma once
// Parsing and validation of OpenAI /v1/chat/completions and /v1/completions
// bodies. Every rejection names the offending field (`param`) and says what
// was expected; nothing here touches the engine.
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/sampling_params.h"
#include "server/api_error.h"
#include "server/request_fields.h"

namespace ig::server {

// One completions prompt: text to tokenize, or token ids as given.
using PromptInput = std::variant<std::string, std::vector<int32_t>>;

struct ParsedRequest {
    Endpoint endpoint = Endpoint::Completions;
    std::optional<std::string> model;
    nlohmann::json messages;  // chat: normalised, every content a string
    std::vector<PromptInput> prompts;
    std::optional<int64_t> max_tokens;  // absent: up to the context window (chat) or 16
    int32_t n = 1;
    bool stream = false;
    bool include_usage = false;
    SamplingParams sampling;
    StopParams stop;                  // max_tokens is filled later, against the prompt length
    std::optional<int32_t> priority;  // absent: the tenant's class (0 without tenants)
    std::string user;                 // the end user, for the request log
};

struct RequestBounds {
    int32_t n_vocab = 0;
    int32_t max_n = 16;
    int32_t max_stop = 16;  // stop strings
    // The model's defaults (a Hugging Face folder's generation_config.json)
    // for temperature, top_p, top_k, min_p and repetition_penalty when the request
    // leaves them out; OpenAI's otherwise.
    SamplingParams defaults;
};

// Fills `out`, or returns the error to send.
std::optional<ApiError> parse_request(const nlohmann::json& body, Endpoint ep,
                                      const RequestBounds& bounds, ParsedRequest& out);

}  // namespace ig::server
