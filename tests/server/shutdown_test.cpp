// Requests cut off when the grace period ends get an error the client can
// read: a 503 body, or an error event after the text streamed so far, never
// a finish_reason ("abort") that no OpenAI client knows.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "support/server_fixture.h"

namespace ig::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

TEST(ShutdownCutOff, StreamGetsAnErrorEventAndNonStreamingA503) {
    server::ServerConfig cfg;
    cfg.grace_period = 0ms;
    EngineConfig ecfg;
    // Slow steps, so both requests are still generating when the server stops.
    ecfg.step_observer = [](const StepInfo&) { std::this_thread::sleep_for(5ms); };
    auto srv = TestServer::start(cfg, ecfg);
    ASSERT_NE(srv, nullptr);
    const std::string body = R"({"model":"test-model","prompt":"Once upon a time",)"
                             R"("max_tokens":300,"ignore_eos":true)";

    HttpReply streamed, full;
    std::atomic<bool> stream_started{false};
    std::thread a([&] {
        Conn c(srv->port);
        c.send(http_request("POST", "/v1/completions", body + R"(,"stream":true})"));
        if (c.read_until([](const std::string& b) { return b.find("data: ") != std::string::npos; },
                         30s))
            stream_started = true;
        streamed = c.read_response(30s);
    });
    std::thread b([&] { full = fetch(srv->port, "POST", "/v1/completions", body + "}", 30s); });
    while (!stream_started || srv->engine->stats().running < 2) std::this_thread::sleep_for(5ms);
    srv->api->drain_and_stop();
    a.join();
    b.join();

    EXPECT_EQ(full.status, 503) << full.body;
    EXPECT_EQ(full.json()["error"]["code"], "request_cancelled") << full.body;

    ASSERT_EQ(streamed.status, 200);
    const auto data = streamed.sse_data();
    ASSERT_GE(data.size(), 2u);
    EXPECT_EQ(data.back(), "[DONE]");
    bool error_event = false;
    for (const std::string& d : data) {
        if (d == "[DONE]") continue;
        const json j = json::parse(d);
        if (j.contains("error")) {
            error_event = true;
            EXPECT_EQ(j["error"]["code"], "request_cancelled") << d;
            continue;
        }
        EXPECT_TRUE(j["choices"][0]["finish_reason"].is_null()) << d;  // no "abort"
    }
    EXPECT_TRUE(error_event) << streamed.body;
}

}  // namespace
}  // namespace ig::test
