#include "server/api_error.h"

#include <cctype>

#include <nlohmann/json.hpp>

namespace ig::server {

ApiError invalid_field(std::string param, std::string message) {
    ApiError e;
    e.status = 400;
    e.message = std::move(message);
    e.param = std::move(param);
    return e;
}

ApiError not_found(std::string message, std::string code) {
    ApiError e;
    e.status = 404;
    e.message = std::move(message);
    e.code = std::move(code);
    return e;
}

// Engine and library messages start with the field they are about
// ("max_tokens: 0 must be >= 1"): that is the OpenAI `param`.
static std::optional<std::string> field_prefix(const std::string& msg) {
    const size_t colon = msg.find(": ");
    if (colon == std::string::npos || colon == 0 || colon > 64) return std::nullopt;
    for (size_t i = 0; i < colon; ++i) {
        const char c = msg[i];
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '[' ||
              c == ']'))
            return std::nullopt;
    }
    return msg.substr(0, colon);
}

ApiError from_error(const Error& err, std::optional<std::string> param) {
    ApiError e;
    e.message = err.message;
    e.param = param ? std::move(param)
                    : (err.code == ErrorCode::Invalid ? field_prefix(err.message) : std::nullopt);
    switch (err.code) {
        case ErrorCode::Invalid:
        case ErrorCode::Unsupported:
            e.status = 400;
            break;
        case ErrorCode::NotFound:
            e.status = 404;
            e.code = "not_found";
            break;
        case ErrorCode::QueueFull:
            e.status = 429;
            e.type = "rate_limit_error";
            e.code = "queue_full";
            break;
        case ErrorCode::Unavailable:
        case ErrorCode::Cancelled:
            e.status = 503;
            e.type = "service_unavailable";
            e.code = "service_unavailable";
            break;
        case ErrorCode::Io:
        case ErrorCode::Internal:
            e.status = 500;
            e.type = "server_error";
            e.code = "internal_error";
            break;
    }
    return e;
}

std::string error_body(const ApiError& e) {
    nlohmann::json j = {{"error",
                         {{"message", e.message},
                          {"type", e.type},
                          {"param", e.param ? nlohmann::json(*e.param) : nlohmann::json()},
                          {"code", e.code ? nlohmann::json(*e.code) : nlohmann::json()}}}};
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

HttpResponse error_response(const ApiError& e, unsigned http_version, int retry_after_seconds) {
    HttpResponse res{static_cast<http::status>(e.status), http_version};
    res.set(http::field::content_type, "application/json");
    if (e.status == 429 || e.status == 503)
        res.set(http::field::retry_after, std::to_string(retry_after_seconds));
    res.body() = error_body(e);
    res.prepare_payload();
    return res;
}

}  // namespace ig::server
