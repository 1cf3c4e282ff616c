#pragma once
// The route table: method + path -> handler. Exact paths, then prefixes
// whose remainder is a path parameter (/v1/models/{id}). A path no route
// knows is a 404, a known path with another method a 405 with Allow: both
// are decided here and nowhere else.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "server/http_types.h"

namespace ig::server {

// The target without its query string.
std::string_view path_of(std::string_view target);

class Router {
  public:
    // `param` is the path after a prefix route's prefix ("" for exact routes).
    using RouteHandler = std::function<Reply(HttpRequest&& req, std::string_view param)>;

    explicit Router(int retry_after_seconds) : retry_after_seconds_(retry_after_seconds) {}

    void add(http::verb method, std::string path, RouteHandler handler);
    // Paths that start with `prefix`; `label` names them in metrics.
    void add_prefix(http::verb method, std::string prefix, std::string label, RouteHandler handler);

    Reply dispatch(HttpRequest&& req) const;
    // The `endpoint` metrics label of a path: its route's path or label, else
    // "other" (so the label set stays bounded whatever clients send).
    std::string endpoint_label(std::string_view path) const;

  private:
    struct Route {
        http::verb method;
        std::string path;   // the exact path, or the prefix
        std::string label;  // metrics label
        bool prefix = false;
        RouteHandler handler;
    };
    // Routes whose path matches: exact ones if any, else prefix ones.
    std::vector<const Route*> matching(std::string_view path) const;

    int retry_after_seconds_;
    std::vector<Route> routes_;
};

}  // namespace ig::server
