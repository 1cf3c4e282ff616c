#include "server/openai_request.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace ig::server {

namespace {

using nlohmann::json;

// Thrown inside this file only; parse_request turns it into the reply.
struct Reject {
    ApiError error;
};

[[noreturn]] void reject(const std::string& param, std::string message) {
    throw Reject{invalid_field(param, std::move(message))};
}

const char* type_name(const json& v) {
    switch (v.type()) {
        case json::value_t::null:
            return "null";
        case json::value_t::boolean:
            return "boolean";
        case json::value_t::string:
            return "string";
        case json::value_t::array:
            return "array";
        case json::value_t::object:
            return "object";
        case json::value_t::number_float:
            return "number";
        case json::value_t::number_integer:
        case json::value_t::number_unsigned:
            return "integer";
        default:
            return "value";
    }
}

// A field that is absent or null counts as not given (OpenAI accepts null
// for every optional field).
const json* field(const json& body, const char* key) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) return nullptr;
    return &*it;
}

std::optional<double> number(const json& body, const char* key, double lo, double hi,
                             bool lo_open = false) {
    const json* v = field(body, key);
    if (!v) return std::nullopt;
    if (!v->is_number())
        reject(key, fmt::format("'{}' must be a number, got {}", key, type_name(*v)));
    const double x = v->get<double>();
    if (!std::isfinite(x) || x < lo || x > hi || (lo_open && x == lo))
        reject(key, fmt::format("'{}' must be {} {} and <= {}, got {}", key,
                                lo_open ? "greater than" : "at least", lo, hi, v->dump()));
    return x;
}

std::optional<int64_t> integer(const json& body, const char* key, int64_t lo, int64_t hi) {
    const json* v = field(body, key);
    if (!v) return std::nullopt;
    if (!v->is_number_integer())
        reject(key, fmt::format("'{}' must be an integer, got {}", key,
                                v->is_number() ? v->dump() : type_name(*v)));
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(hi))
        reject(key, fmt::format("'{}' must be between {} and {}, got {}", key, lo, hi, v->dump()));
    const int64_t x = v->get<int64_t>();
    if (x < lo || x > hi)
        reject(key, fmt::format("'{}' must be between {} and {}, got {}", key, lo, hi, x));
    return x;
}

std::optional<bool> boolean(const json& body, const char* key) {
    const json* v = field(body, key);
    if (!v) return std::nullopt;
    if (!v->is_boolean())
        reject(key, fmt::format("'{}' must be a boolean, got {}", key, type_name(*v)));
    return v->get<bool>();
}

std::optional<std::string> string(const json& body, const char* key) {
    const json* v = field(body, key);
    if (!v) return std::nullopt;
    if (!v->is_string())
        reject(key, fmt::format("'{}' must be a string, got {}", key, type_name(*v)));
    return v->get<std::string>();
}

std::vector<std::string> stop_strings(const json& body, int32_t max_stop) {
    const json* v = field(body, "stop");
    if (!v) return {};
    std::vector<std::string> out;
    if (v->is_string()) {
        out.push_back(v->get<std::string>());
    } else if (v->is_array()) {
        if (static_cast<int64_t>(v->size()) > max_stop)
            reject("stop",
                   fmt::format("'stop' may hold at most {} strings, got {}", max_stop, v->size()));
        for (const json& s : *v) {
            if (!s.is_string())
                reject("stop", fmt::format("'stop' must be a string or a list of strings, "
                                           "found {} in the list",
                                           type_name(s)));
            out.push_back(s.get<std::string>());
        }
    } else {
        reject("stop",
               fmt::format("'stop' must be a string or a list of strings, got {}", type_name(*v)));
    }
    for (const std::string& s : out)
        if (s.empty()) reject("stop", "'stop' strings must not be empty");
    return out;
}

std::vector<std::pair<int32_t, float>> logit_bias(const json& body, int32_t n_vocab) {
    const json* v = field(body, "logit_bias");
    if (!v) return {};
    if (!v->is_object())
        reject("logit_bias", fmt::format("'logit_bias' must be an object mapping token ids to "
                                         "numbers, got {}",
                                         type_name(*v)));
    std::vector<std::pair<int32_t, float>> out;
    for (auto it = v->begin(); it != v->end(); ++it) {
        const std::string& key = it.key();
        int64_t id = -1;
        size_t used = 0;
        try {
            id = std::stoll(key, &used);
        } catch (...) {
            used = 0;
        }
        if (used == 0 || used != key.size())
            reject("logit_bias",
                   fmt::format("'logit_bias' keys must be token ids, got \"{}\"", key));
        if (id < 0 || id >= n_vocab)
            reject("logit_bias", fmt::format("'logit_bias' token id {} is outside the vocabulary "
                                             "[0, {})",
                                             id, n_vocab));
        if (!it->is_number())
            reject("logit_bias", fmt::format("'logit_bias' value for token {} must be a number, "
                                             "got {}",
                                             id, type_name(*it)));
        const double b = it->get<double>();
        if (!std::isfinite(b) || b < -100 || b > 100)
            reject("logit_bias", fmt::format("'logit_bias' value for token {} must be between -100 "
                                             "and 100, got {}",
                                             id, it->dump()));
        out.emplace_back(static_cast<int32_t>(id), static_cast<float>(b));
    }
    return out;
}

std::vector<int32_t> token_ids(const json& arr, const std::string& param, int32_t n_vocab) {
    std::vector<int32_t> ids;
    ids.reserve(arr.size());
    for (const json& t : arr) {
        if (!t.is_number_integer())
            reject(param, fmt::format("'{}' token ids must be integers, got {}", param,
                                      t.is_number() ? t.dump() : type_name(t)));
        const bool neg = t.is_number_integer() && !t.is_number_unsigned() && t.get<int64_t>() < 0;
        if (neg || t.get<uint64_t>() >= static_cast<uint64_t>(n_vocab))
            reject(param, fmt::format("'{}' token id {} is outside the vocabulary [0, {})", param,
                                      t.dump(), n_vocab));
        ids.push_back(t.get<int32_t>());
    }
    return ids;
}

std::vector<PromptInput> prompts(const json& body, int32_t n_vocab) {
    const json* v = field(body, "prompt");
    if (!v) reject("prompt", "'prompt' is required");
    if (v->is_string()) return {v->get<std::string>()};
    if (!v->is_array())
        reject("prompt", fmt::format("'prompt' must be a string, a list of strings, a list of "
                                     "token ids or a list of lists of token ids, got {}",
                                     type_name(*v)));
    if (v->empty()) reject("prompt", "'prompt' must not be an empty list");
    const json& first = v->front();
    if (first.is_number()) return {token_ids(*v, "prompt", n_vocab)};
    std::vector<PromptInput> out;
    for (size_t i = 0; i < v->size(); ++i) {
        const json& p = (*v)[i];
        const std::string param = fmt::format("prompt[{}]", i);
        if (first.is_string()) {
            if (!p.is_string())
                reject(param, fmt::format("'{}' must be a string like the other prompts, got {}",
                                          param, type_name(p)));
            out.emplace_back(p.get<std::string>());
        } else if (first.is_array()) {
            if (!p.is_array())
                reject(param, fmt::format("'{}' must be a list of token ids, got {}", param,
                                          type_name(p)));
            if (p.empty()) reject(param, fmt::format("'{}' must not be empty", param));
            out.emplace_back(token_ids(p, param, n_vocab));
        } else {
            reject("prompt", fmt::format("'prompt' list items must be strings, token ids or lists "
                                         "of token ids, got {}",
                                         type_name(first)));
        }
    }
    return out;
}

// Content as a string: a string, or the text of a list of text parts.
std::string content_text(const json& content, const std::string& param) {
    if (content.is_string()) return content.get<std::string>();
    if (!content.is_array())
        reject(param, fmt::format("'{}' must be a string or a list of content parts, got {}", param,
                                  type_name(content)));
    std::string text;
    for (size_t i = 0; i < content.size(); ++i) {
        const json& part = content[i];
        const std::string pp = fmt::format("{}[{}]", param, i);
        if (!part.is_object())
            reject(pp, fmt::format("'{}' must be an object, got {}", pp, type_name(part)));
        auto type = part.find("type");
        if (type == part.end() || !type->is_string())
            reject(pp + ".type", fmt::format("'{}.type' must be a string", pp));
        if (*type != "text") {
            ApiError e =
                invalid_field(pp + ".type", fmt::format("content part type '{}' is not supported: "
                                                        "this model takes text only",
                                                        type->get<std::string>()));
            throw Reject{e};
        }
        auto t = part.find("text");
        if (t == part.end() || !t->is_string())
            reject(pp + ".text", fmt::format("'{}.text' must be a string", pp));
        text += t->get<std::string>();
    }
    return text;
}

json messages(const json& body) {
    const json* v = field(body, "messages");
    if (!v) reject("messages", "'messages' is required");
    if (!v->is_array())
        reject("messages", fmt::format("'messages' must be a list, got {}", type_name(*v)));
    if (v->empty()) reject("messages", "'messages' must hold at least one message");
    json out = json::array();
    for (size_t i = 0; i < v->size(); ++i) {
        const json& m = (*v)[i];
        const std::string p = fmt::format("messages[{}]", i);
        if (!m.is_object())
            reject(p, fmt::format("'{}' must be an object, got {}", p, type_name(m)));
        auto role = m.find("role");
        if (role == m.end() || !role->is_string())
            reject(p + ".role", fmt::format("'{}.role' is required and must be a string", p));
        const std::string r = role->get<std::string>();
        if (r != "system" && r != "developer" && r != "user" && r != "assistant" && r != "tool")
            reject(p + ".role", fmt::format("'{}.role' must be one of system, developer, user, "
                                            "assistant, tool; got '{}'",
                                            p, r));
        json msg = json::object();
        msg["role"] = r;
        auto content = m.find("content");
        const bool has_tool_calls = m.contains("tool_calls") && !m["tool_calls"].is_null();
        if (content == m.end() || content->is_null()) {
            if (r != "assistant")
                reject(p + ".content", fmt::format("'{}.content' is required", p));
            msg["content"] = has_tool_calls ? json() : json("");
        } else {
            msg["content"] = content_text(*content, p + ".content");
        }
        for (const char* k : {"name", "tool_call_id"}) {
            if (auto it = m.find(k); it != m.end() && !it->is_null()) {
                if (!it->is_string())
                    reject(fmt::format("{}.{}", p, k),
                           fmt::format("'{}.{}' must be a string", p, k));
                msg[k] = *it;
            }
        }
        if (has_tool_calls) {
            if (!m["tool_calls"].is_array())
                reject(p + ".tool_calls", fmt::format("'{}.tool_calls' must be a list", p));
            msg["tool_calls"] = m["tool_calls"];
        }
        out.push_back(std::move(msg));
    }
    return out;
}

void parse(const json& body, Endpoint ep, const RequestBounds& b, ParsedRequest& out) {
    if (!body.is_object())
        throw Reject{invalid_field("body", fmt::format("the request body must be a JSON object, "
                                                       "got {}",
                                                       type_name(body)))};
    if (auto e = refused_field(body, ep)) throw Reject{*e};
    out.endpoint = ep;
    out.model = string(body, "model");
    if (ep == Endpoint::Chat) {
        out.messages = messages(body);
    } else {
        out.prompts = prompts(body, b.n_vocab);
    }

    constexpr int64_t kMaxTokens = std::numeric_limits<int32_t>::max();
    auto mt = integer(body, "max_tokens", 1, kMaxTokens);
    if (auto mct = integer(body, "max_completion_tokens", 1, kMaxTokens)) mt = mct;
    out.max_tokens = mt;
    out.n = static_cast<int32_t>(integer(body, "n", 1, b.max_n).value_or(1));
    out.stream = boolean(body, "stream").value_or(false);
    if (const json* so = field(body, "stream_options")) {
        if (!so->is_object()) reject("stream_options", "'stream_options' must be an object");
        if (!out.stream)
            reject("stream_options", "'stream_options' is only allowed when 'stream' is true");
        auto iu = so->find("include_usage");
        if (iu != so->end() && !iu->is_null()) {
            if (!iu->is_boolean())
                reject("stream_options.include_usage",
                       "'stream_options.include_usage' must be a boolean");
            out.include_usage = iu->get<bool>();
        }
    }

    SamplingParams& s = out.sampling;
    const SamplingParams& d = b.defaults;
    s.temperature = static_cast<float>(number(body, "temperature", 0, 2).value_or(d.temperature));
    s.top_p = static_cast<float>(number(body, "top_p", 0, 1, /*lo_open=*/true).value_or(d.top_p));
    s.presence_penalty = static_cast<float>(number(body, "presence_penalty", -2, 2).value_or(0));
    s.frequency_penalty = static_cast<float>(number(body, "frequency_penalty", -2, 2).value_or(0));
    s.top_k = static_cast<int32_t>(integer(body, "top_k", -1, b.n_vocab).value_or(d.top_k));
    if (s.top_k < 0) s.top_k = 0;  // vLLM's -1: off
    s.min_p = static_cast<float>(number(body, "min_p", 0, 1).value_or(d.min_p));
    s.repetition_penalty = static_cast<float>(
        number(body, "repetition_penalty", 0, 2, /*lo_open=*/true).value_or(d.repetition_penalty));
    if (auto seed = integer(body, "seed", std::numeric_limits<int64_t>::min(),
                            std::numeric_limits<int64_t>::max()))
        s.seed = static_cast<uint64_t>(*seed);
    s.logit_bias = logit_bias(body, b.n_vocab);

    if (ep == Endpoint::Chat) {
        s.logprobs = boolean(body, "logprobs").value_or(false);
        s.top_logprobs = static_cast<int32_t>(integer(body, "top_logprobs", 0, 20).value_or(0));
        if (field(body, "top_logprobs") && !s.logprobs)
            reject("top_logprobs", "'top_logprobs' requires 'logprobs' to be true");
    } else {
        // Completions: `logprobs` is the number of alternatives per position.
        if (auto lp = integer(body, "logprobs", 0, 20)) {
            s.logprobs = true;
            s.top_logprobs = static_cast<int32_t>(*lp);
        }
        if (auto echo = boolean(body, "echo"); echo && *echo)
            throw Reject{not_supported("echo", "")};
        if (auto suffix = string(body, "suffix"); suffix && !suffix->empty())
            throw Reject{not_supported("suffix", "")};
        if (auto bo = integer(body, "best_of", 1, b.max_n); bo && *bo != out.n)
            throw Reject{not_supported("best_of", " (other than 'n')")};
    }

    out.stop.stop = stop_strings(body, b.max_stop);
    out.stop.ignore_eos = boolean(body, "ignore_eos").value_or(false);
    out.stop.include_stop_str_in_output =
        boolean(body, "include_stop_str_in_output").value_or(false);
    out.stop.min_tokens = integer(body, "min_tokens", 0, kMaxTokens).value_or(0);
    if (out.max_tokens && out.stop.min_tokens > *out.max_tokens)
        reject("min_tokens", fmt::format("'min_tokens' ({}) must not exceed the maximum number of "
                                         "tokens ({})",
                                         out.stop.min_tokens, *out.max_tokens));
    if (auto pr = integer(body, "priority", -1'000'000, 1'000'000))
        out.priority = static_cast<int32_t>(*pr);
    out.user = string(body, "user").value_or("");
}

}  // namespace

std::optional<ApiError> parse_request(const json& body, Endpoint ep, const RequestBounds& bounds,
                                      ParsedRequest& out) {
    try {
        parse(body, ep, bounds, out);
    } catch (const Reject& r) {
        return r.error;
    } catch (const json::exception& e) {
        return invalid_field("body", fmt::format("invalid request: {}", e.what()));
    }
    return std::nullopt;
}

}  // namespace ig::server
