// The route table alone: exact and prefix routes, 404 and 405 + Allow
// decided in one place, and bounded metrics labels.
#include "server/router.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace ig::server {
namespace {

HttpRequest request(http::verb method, std::string target) {
    HttpRequest r{method, target, 11};
    return r;
}

Reply text(std::string body) {
    HttpResponse res{http::status::ok, 11};
    res.body() = std::move(body);
    return {std::move(res), nullptr};
}

Router make_router() {
    Router r(7);
    r.add(http::verb::get, "/health", [](HttpRequest&&, std::string_view) { return text("ok"); });
    r.add(http::verb::post, "/v1/completions",
          [](HttpRequest&& req, std::string_view) { return text("post " + req.body()); });
    r.add(http::verb::get, "/v1/models",
          [](HttpRequest&&, std::string_view) { return text("list"); });
    r.add_prefix(
        http::verb::get, "/v1/models/", "/v1/models/{id}",
        [](HttpRequest&&, std::string_view id) { return text("model " + std::string(id)); });
    return r;
}

std::string error_code(const Reply& r) {
    const auto j = nlohmann::json::parse(r.response->body());
    return j["error"]["code"].is_string() ? j["error"]["code"].get<std::string>() : "";
}

TEST(Router, DispatchesExactAndPrefixRoutesIgnoringTheQuery) {
    const Router r = make_router();
    auto h = r.dispatch(request(http::verb::get, "/health?verbose=1"));
    ASSERT_TRUE(h.response);
    EXPECT_EQ(h.response->body(), "ok");
    HttpRequest post = request(http::verb::post, "/v1/completions");
    post.body() = "x";
    EXPECT_EQ(r.dispatch(std::move(post)).response->body(), "post x");
    // The exact route wins over the prefix route that would also match its parent.
    EXPECT_EQ(r.dispatch(request(http::verb::get, "/v1/models")).response->body(), "list");
    EXPECT_EQ(r.dispatch(request(http::verb::get, "/v1/models/a/b")).response->body(), "model a/b");
}

TEST(Router, UnknownPathIs404KnownPathOtherMethodIs405WithAllow) {
    const Router r = make_router();
    auto nf = r.dispatch(request(http::verb::get, "/nope"));
    ASSERT_TRUE(nf.response);
    EXPECT_EQ(nf.response->result_int(), 404u);
    EXPECT_NE(nf.response->body().find("no route for GET /nope"), std::string::npos);

    auto wrong = r.dispatch(request(http::verb::delete_, "/health"));
    ASSERT_TRUE(wrong.response);
    EXPECT_EQ(wrong.response->result_int(), 405u);
    EXPECT_EQ(error_code(wrong), "method_not_allowed");
    EXPECT_EQ((*wrong.response)[http::field::allow], "GET");

    auto prefix = r.dispatch(request(http::verb::post, "/v1/models/m"));
    EXPECT_EQ(prefix.response->result_int(), 405u);
    EXPECT_EQ((*prefix.response)[http::field::allow], "GET");
}

TEST(Router, SeveralMethodsOnOnePathAreAllAllowed) {
    Router r(1);
    r.add(http::verb::get, "/x", [](HttpRequest&&, std::string_view) { return text("g"); });
    r.add(http::verb::put, "/x", [](HttpRequest&&, std::string_view) { return text("p"); });
    EXPECT_EQ(r.dispatch(request(http::verb::put, "/x")).response->body(), "p");
    auto no = r.dispatch(request(http::verb::post, "/x"));
    EXPECT_EQ(no.response->result_int(), 405u);
    EXPECT_EQ((*no.response)[http::field::allow], "GET, PUT");
}

TEST(Router, EndpointLabelsAreRoutesOrOther) {
    const Router r = make_router();
    EXPECT_EQ(r.endpoint_label("/health"), "/health");
    EXPECT_EQ(r.endpoint_label("/v1/models"), "/v1/models");
    EXPECT_EQ(r.endpoint_label("/v1/models/anything"), "/v1/models/{id}");
    EXPECT_EQ(r.endpoint_label("/random/attacker/path"), "other");
}

}  // namespace
}  // namespace ig::server
