#pragma once
// Which request fields this server honours. Every field of a request is
// either one it acts on, or refused with a 400 naming it: fields OpenAI or
// vLLM define that are not implemented yet ("not supported"), and fields no
// one defines (OpenAI's "Unrecognized request argument"). Nothing a client
// sends is silently ignored. A null value counts as absent.
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "server/api_error.h"

namespace ig::server {

enum class Endpoint { Chat, Completions };

// 400 "'<param>' is not supported by this server<why>", code unsupported_parameter.
ApiError not_supported(const std::string& param, std::string_view why);

// The first field of `body` (a JSON object) that the endpoint refuses.
std::optional<ApiError> refused_field(const nlohmann::json& body, Endpoint ep);

}  // namespace ig::server
