#include "server/api_auth.h"

#include "server/api_error.h"
#include "server/router.h"

namespace ig::server {

namespace {

std::string_view field(const HttpRequest& req, std::string_view name) {
    auto it = req.find(boost::beast::string_view(name.data(), name.size()));
    if (it == req.end()) return {};
    return {it->value().data(), it->value().size()};
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

}  // namespace

bool open_without_key(const HttpRequest& req) {
    if (req.method() != http::verb::get) return false;
    const std::string_view path = path_of({req.target().data(), req.target().size()});
    return path == "/health" || path == "/ready" || path == "/version";
}

bool needs_admin(const HttpRequest& req) {
    const std::string_view path = path_of({req.target().data(), req.target().size()});
    return path == "/metrics" || path == "/admin" || path.substr(0, 7) == "/admin/";
}

HttpResponse forbidden(unsigned http_version) {
    ApiError e;
    e.status = 403;
    e.type = "invalid_request_error";
    e.code = "permission_denied";
    e.message = "This route needs an admin key (a tenant with admin = true).";
    return error_response(e, http_version, 0);
}

std::string_view presented_key(const HttpRequest& req) {
    const std::string_view auth = trim(field(req, "Authorization"));
    if (!auth.empty()) {
        // RFC 7235: the scheme is case-insensitive. Another scheme (Basic)
        // presents no bearer key: a 401, not a guess.
        constexpr std::string_view kScheme = "bearer";
        if (auth.size() <= kScheme.size() || !iequals(auth.substr(0, kScheme.size()), kScheme) ||
            (auth[kScheme.size()] != ' ' && auth[kScheme.size()] != '\t'))
            return {};
        return trim(auth.substr(kScheme.size()));
    }
    return trim(field(req, "x-api-key"));
}

HttpResponse unauthorized(unsigned http_version, bool key_given) {
    ApiError e;
    e.status = 401;
    e.code = "invalid_api_key";
    e.message = key_given ? "Incorrect API key provided."
                          : "You didn't provide an API key. You need to provide your API key in "
                            "an Authorization header using Bearer auth (i.e. Authorization: "
                            "Bearer YOUR_KEY), or in an x-api-key header.";
    HttpResponse res = error_response(e, http_version, 0);
    res.set(http::field::www_authenticate, "Bearer");
    return res;
}

void strip_key_headers(HttpRequest& req) {
    req.erase(http::field::authorization);
    req.erase("x-api-key");
}

}  // namespace ig::server
