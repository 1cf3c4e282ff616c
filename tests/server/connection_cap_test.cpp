// Over --max-connections, new connections get 503, except GET /health:
// liveness must not depend on load, or a probe would restart a healthy,
// busy server.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "support/server_fixture.h"

namespace ig::test {
namespace {

using namespace std::chrono_literals;

TEST(ConnectionCap, HealthIsAnsweredOverTheCapEverythingElseIs503) {
    server::ServerConfig cfg;
    cfg.limits.max_connections = 2;
    auto srv = TestServer::start(cfg);
    ASSERT_NE(srv, nullptr);
    // Two idle keep-alive connections fill the cap.
    std::vector<std::unique_ptr<Conn>> idle;
    for (int i = 0; i < 2; ++i) {
        idle.push_back(std::make_unique<Conn>(srv->port));
        idle.back()->send(http_request("GET", "/health", ""));
        ASSERT_EQ(idle.back()->read_response(5s).status, 200);
    }
    const HttpReply health = fetch(srv->port, "GET", "/health", "", 5s);
    EXPECT_EQ(health.status, 200) << health.body;
    const HttpReply models = fetch(srv->port, "GET", "/v1/models", "", 5s);
    EXPECT_EQ(models.status, 503) << models.body;
    EXPECT_NE(models.body.find("too_many_connections"), std::string::npos) << models.body;
    const HttpReply gen = fetch(srv->port, "POST", "/v1/completions", completion_body(), 5s);
    EXPECT_EQ(gen.status, 503) << gen.body;
    // Below the cap again, everything is served.
    idle.clear();
    HttpReply again;
    for (int i = 0; i < 100 && again.status != 200; ++i) {
        again = fetch(srv->port, "GET", "/v1/models", "", 5s);
        if (again.status != 200) std::this_thread::sleep_for(20ms);
    }
    EXPECT_EQ(again.status, 200) << again.body;
}

}  // namespace
}  // namespace ig::test
