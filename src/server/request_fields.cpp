#include "server/request_fields.h"

#include <algorithm>
#include <span>
#include <string_view>

#include <fmt/format.h>

namespace ig::server {

namespace {

using nlohmann::json;

// Parsed and acted on by openai_request.cpp.
constexpr std::string_view kCommon[] = {
    "model", "max_tokens", "max_completion_tokens", "n", "stream", "stream_options", "temperature",
    "top_p", "presence_penalty", "frequency_penalty", "top_k", "min_p", "repetition_penalty",
    "seed", "logit_bias", "logprobs", "stop", "ignore_eos", "include_stop_str_in_output",
    "min_tokens", "priority", "user",
    // Structured output (server/structured_output.h).
    "response_format", "guided_json", "guided_regex", "guided_choice", "guided_grammar",
    "json_schema", "grammar"};
// Tools and template variables: server/tool_request.h, server/output_plan.h.
constexpr std::string_view kChatOnly[] = {
    "messages",    "top_logprobs",        "tools",
    "tool_choice", "parallel_tool_calls", "chat_template_kwargs"};
constexpr std::string_view kCompletionsOnly[] = {"prompt", "echo", "suffix", "best_of"};

// Defined by OpenAI or vLLM, not implemented here: refused whatever their value.
constexpr std::string_view kNotSupported[] = {"functions",
                                              "function_call",
                                              "guided_decoding_backend",
                                              "guided_whitespace_pattern",
                                              "structured_outputs",
                                              "reasoning_effort",
                                              "audio",
                                              "modalities",
                                              "prediction",
                                              "web_search_options",
                                              "store",
                                              "metadata",
                                              "service_tier",
                                              "logit_processors",
                                              "prompt_logprobs"};

bool in(std::span<const std::string_view> list, std::string_view key) {
    return std::find(list.begin(), list.end(), key) != list.end();
}

}  // namespace

ApiError not_supported(const std::string& param, std::string_view why) {
    ApiError e =
        invalid_field(param, fmt::format("'{}' is not supported by this server{}", param, why));
    e.code = "unsupported_parameter";
    return e;
}

std::optional<ApiError> refused_field(const json& body, Endpoint ep) {
    using Fields = std::span<const std::string_view>;
    const bool chat = ep == Endpoint::Chat;
    const Fields own = chat ? Fields(kChatOnly) : Fields(kCompletionsOnly);
    const Fields other = chat ? Fields(kCompletionsOnly) : Fields(kChatOnly);
    for (const auto& [key, value] : body.items()) {
        if (value.is_null()) continue;
        if (in(kCommon, key) || in(own, key)) continue;
        if (in(kNotSupported, key)) return not_supported(key, "");
        ApiError e = invalid_field(
            key,
            fmt::format("Unrecognized request argument supplied: {}{}", key,
                        in(other, key) ? fmt::format(" (only on {})", chat ? "/v1/completions"
                                                                           : "/v1/chat/completions")
                                       : ""));
        e.code = "unknown_parameter";
        return e;
    }
    return std::nullopt;
}

}  // namespace ig::server
