#pragma once
// What a client hands the engine (GenerationRequest) and what it gets back,
// one StreamEvent per new token of a choice and one final event per choice.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/sampler.h"
#include "engine/sampling_params.h"
#include "grammar/grammar.h"

namespace ig {

enum class FinishReason { Stop, Length, Cancelled, Error };  // Stop: EOS / stop string / stop token

// The API's finish_reason: "stop", "length", "abort", "error".
std::string_view finish_reason_name(FinishReason r);

struct GenerationRequest {
    std::string id;               // unique; the engine generates one if empty
    std::vector<int32_t> prompt;  // token ids (the server tokenizes and renders templates)
    SamplingParams sampling;
    StopParams stop;
    int32_t n = 1;           // choices sharing the prompt's blocks
    int32_t priority = 0;    // lower value = more urgent (vLLM convention); 0 interactive
    std::string cache_salt;  // per tenant by default
    // Requests with the same group share one fair share of the seats (the
    // server: every prompt of one HTTP request). Empty: the request alone.
    std::string group;
    // The tenant whose share of tokens this request draws on (fairness
    // between tenants, TokenCounters) and its weight (> 0). Empty: the
    // anonymous tenant, shared by every request without one.
    std::string tenant;
    double tenant_weight = 1.0;
    std::optional<std::chrono::steady_clock::time_point> deadline;
    // Constrained decoding: every choice's output is a string of this
    // grammar; where the grammar is complete the choice stops ("stop").
    // Shared: the same compiled grammar shares one automaton in the engine.
    std::shared_ptr<const grammar::Grammar> grammar;
    // Control tokens appear in the streamed text by their own text (tool-call
    // formats whose markers are control tokens: <|python_tag|>, [TOOL_CALLS]).
    // End-of-generation tokens never do.
    bool render_special = false;

    // Greedy and blind to EOS: exactly max_tokens tokens (benchmarks, tests).
    static GenerationRequest greedy(std::vector<int32_t> prompt, int64_t max_tokens) {
        GenerationRequest r;
        r.prompt = std::move(prompt);
        r.sampling.temperature = 0.0f;
        r.stop.max_tokens = max_tokens;
        r.stop.ignore_eos = true;
        return r;
    }
};

struct Usage {
    int64_t prompt_tokens = 0;
    int64_t cached_tokens = 0;      // prompt tokens re-used from the prefix cache at admission
    int64_t completion_tokens = 0;  // all choices of the request so far
};

// Additive: engine-side timings of one choice, carried by its final event
// (a default time_point: it never happened, e.g. cancelled while waiting).
struct RequestTimings {
    std::chrono::steady_clock::time_point arrival{};          // accepted by the engine loop
    std::chrono::steady_clock::time_point first_scheduled{};  // queue time ends
    std::chrono::steady_clock::time_point first_token{};      // prefill ends
};

struct StreamEvent {
    int32_t choice = 0;
    std::vector<int32_t> tokens;         // new token ids (0 or 1 normally)
    std::string text;                    // new text safe to show (stop strings held back)
    std::vector<SampledToken> logprobs;  // when requested
    std::optional<FinishReason> finish;  // set on the choice's last event
    std::string error;                   // with FinishReason::Error (or why it was cancelled)
    Usage usage;                         // cumulative, complete on the final event
    // Additive: when the engine produced the event (TTFT/ITL metrics, benchmarks).
    std::chrono::steady_clock::time_point time{};
    std::optional<RequestTimings> timings;  // additive: set on the choice's final event
};

}  // namespace ig
