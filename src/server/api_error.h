#pragma once
// Errors in OpenAI's shape: {"error":{"message","type","param","code"}} with
// the HTTP status a client library expects.
#include <optional>
#include <string>

#include "server/http_types.h"
#include "util/expected.h"

namespace ig::server {

struct ApiError {
    int status = 400;
    std::string message;
    std::string type = "invalid_request_error";
    std::optional<std::string> param;
    std::optional<std::string> code;
};

ApiError invalid_field(std::string param, std::string message);
ApiError not_found(std::string message, std::string code = "not_found");
// Engine/library errors by ErrorCode: Invalid/Unsupported 400, NotFound 404,
// QueueFull 429, Unavailable 503, the rest 500.
ApiError from_error(const Error& e, std::optional<std::string> param = std::nullopt);

std::string error_body(const ApiError& e);
// A complete response; 429 and 503 carry Retry-After.
HttpResponse error_response(const ApiError& e, unsigned http_version, int retry_after_seconds);

}  // namespace ig::server
