#include "server/request_fields.h"

#include <algorithm>
#include <span>
#include <string_view>

#include <fmt/format.h>

namespace ig::server {

namespace {

using nlohmann::json;

// Parsed and acted on by openai_request.cpp.
constexpr std::string_view kCommon[] = {"model",
                                        "max_tokens",
                                        "max_completion_tokens",
                                        "n",
                                        "stream",
                                        "stream_options",
                                        "temperature",
                                        "top_p",
                                        "presence_penalty",
                                        "frequency_penalty",
                                        "top_k",
                                        "min_p",
                                        "repetition_penalty",
                                        "seed",
                                        "logit_bias",
                                        "logprobs",
                                        "stop",
                                        "ignore_eos",
                                        "include_stop_str_in_output",
                                        "min_tokens",
                                        "priority",
                                        "user"};
constexpr std::string_view kChatOnly[] = {"messages", "top_logprobs", "tools", "tool_choice",
                                          "response_format"};
constexpr std::string_view kCompletionsOnly[] = {"prompt", "echo", "suffix", "best_of"};

// Defined by OpenAI or vLLM, not implemented here yet (structured output,
// tool calls, and the rest): refused whatever their value.
constexpr std::string_view kNotSupported[] = {"functions",
                                              "function_call",
                                              "parallel_tool_calls",
                                              "guided_json",
                                              "guided_regex",
                                              "guided_choice",
                                              "guided_grammar",
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
                                              "prompt_logprobs",
                                              "response_format"};

bool in(std::span<const std::string_view> list, std::string_view key) {
    return std::find(list.begin(), list.end(), key) != list.end();
}

// `tools`: a list of {"type": "function", "function": {"name": ...}}. An
// empty list asks for nothing; any tool is refused until tool calls are
// parsed out of the model's answer.
std::optional<ApiError> check_tools(const json& tools) {
    if (!tools.is_array()) return invalid_field("tools", "'tools' must be a list");
    for (size_t i = 0; i < tools.size(); ++i) {
        const json& t = tools[i];
        const std::string p = fmt::format("tools[{}]", i);
        if (!t.is_object() || t.value("type", json()) != "function")
            return invalid_field(
                p, fmt::format("'{}' must be an object with \"type\": \"function\"", p));
        const auto f = t.find("function");
        if (f == t.end() || !f->is_object() || !f->contains("name") || !(*f)["name"].is_string())
            return invalid_field(
                p + ".function",
                fmt::format("'{}.function' must be an object with a string 'name'", p));
    }
    if (!tools.empty())
        return not_supported("tools", " (tool calls are not parsed from the model's output yet)");
    return std::nullopt;
}

// `tool_choice`: "none" asks for what the server does anyway; the rest needs tools.
std::optional<ApiError> check_tool_choice(const json& c) {
    if (c.is_string()) {
        const std::string s = c.get<std::string>();
        if (s == "none") return std::nullopt;
        if (s == "auto" || s == "required") return not_supported("tool_choice", "");
        return invalid_field("tool_choice",
                             fmt::format("'tool_choice' must be none, auto, required or an object, "
                                         "got '{}'",
                                         s));
    }
    if (c.is_object() && c.value("type", json()) == "function" && c.contains("function") &&
        c["function"].is_object() && c["function"].contains("name") &&
        c["function"]["name"].is_string())
        return not_supported("tool_choice", "");
    return invalid_field("tool_choice",
                         "'tool_choice' must be none, auto, required or "
                         "{\"type\": \"function\", \"function\": {\"name\": ...}}");
}

// `response_format`: {"type": "text"} is plain generation, which the server
// does; JSON modes wait for constrained decoding.
std::optional<ApiError> check_response_format(const json& f) {
    if (!f.is_object() || !f.contains("type") || !f["type"].is_string())
        return invalid_field("response_format",
                             "'response_format' must be an object with a string 'type'");
    const std::string t = f["type"].get<std::string>();
    if (t == "text") return std::nullopt;
    if (t == "json_object" || t == "json_schema")
        return not_supported("response_format",
                             fmt::format(" (type '{}' needs constrained decoding)", t));
    return invalid_field("response_format.type",
                         fmt::format("'response_format.type' must be text, json_object or "
                                     "json_schema, got '{}'",
                                     t));
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
        if (chat && key == "tools") {
            if (auto e = check_tools(value)) return e;
            continue;
        }
        if (chat && key == "tool_choice") {
            if (auto e = check_tool_choice(value)) return e;
            continue;
        }
        if (chat && key == "response_format") {
            if (auto e = check_response_format(value)) return e;
            continue;
        }
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
