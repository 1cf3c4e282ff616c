#include "server/router.h"

#include <fmt/format.h>

#include "server/api_error.h"

namespace ig::server {

std::string_view path_of(std::string_view target) {
    const size_t q = target.find('?');
    return q == std::string_view::npos ? target : target.substr(0, q);
}

void Router::add(http::verb method, std::string path, RouteHandler handler) {
    std::string label = path;
    routes_.push_back({method, std::move(path), std::move(label), false, std::move(handler)});
}

void Router::add_prefix(http::verb method, std::string prefix, std::string label,
                        RouteHandler handler) {
    routes_.push_back({method, std::move(prefix), std::move(label), true, std::move(handler)});
}

std::vector<const Router::Route*> Router::matching(std::string_view path) const {
    std::vector<const Route*> exact, prefixed;
    for (const Route& r : routes_) {
        if (!r.prefix && path == r.path) exact.push_back(&r);
        if (r.prefix && path.substr(0, r.path.size()) == r.path) prefixed.push_back(&r);
    }
    return exact.empty() ? prefixed : exact;
}

Reply Router::dispatch(HttpRequest&& req) const {
    const std::string_view path = path_of({req.target().data(), req.target().size()});
    const std::vector<const Route*> routes = matching(path);
    for (const Route* r : routes) {
        if (r->method != req.method()) continue;
        const std::string_view param = r->prefix ? path.substr(r->path.size()) : std::string_view();
        return r->handler(std::move(req), param);
    }
    const unsigned v = req.version();
    if (routes.empty())
        return {error_response(
                    not_found(fmt::format("no route for {} {}", std::string(req.method_string()),
                                          std::string(path))),
                    v, retry_after_seconds_),
                nullptr};
    ApiError e;
    e.status = 405;
    e.message = fmt::format("method {} not allowed on {}", std::string(req.method_string()),
                            std::string(path));
    e.code = "method_not_allowed";
    Reply reply{error_response(e, v, retry_after_seconds_), nullptr};
    std::string allow;
    for (const Route* r : routes) {
        if (!allow.empty()) allow += ", ";
        allow += std::string(http::to_string(r->method));
    }
    reply.response->set(http::field::allow, allow);
    return reply;
}

std::string Router::endpoint_label(std::string_view path) const {
    const std::vector<const Route*> routes = matching(path);
    return routes.empty() ? "other" : routes.front()->label;
}

}  // namespace ig::server
