// Many streaming clients at once, clients that vanish mid-stream or while
// waiting for a non-streaming answer, and the in-process drain.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "support/server_fixture.h"

namespace ig::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class ConcurrencyTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (server_model_path().empty()) GTEST_SKIP() << "no model";
        server_ = TestServer::start();
        ASSERT_NE(server_, nullptr);
    }
    std::unique_ptr<TestServer> server_;
};

TEST_F(ConcurrencyTest, SixtyFourStreamingClientsGetAllTheirTokens) {
    constexpr int kClients = 64;
    constexpr int kTokens = 16;
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kClients; ++i) {
        threads.emplace_back([&, i] {
            json body = {{"prompt", i % 2 ? "Once upon a time" : "The little dog"},
                         {"max_tokens", kTokens},
                         {"ignore_eos", true},
                         {"temperature", 0.8},
                         {"seed", i},
                         {"stream", true},
                         {"stream_options", {{"include_usage", true}}}};
            HttpReply r = fetch(server_->port, "POST", "/v1/completions", body.dump(), 120s);
            if (r.status != 200) return;
            int content_chunks = 0;
            bool done = false, length = false;
            int64_t completion_tokens = -1;
            for (const std::string& d : r.sse_data()) {
                if (d == "[DONE]") {
                    done = true;
                    continue;
                }
                json j = json::parse(d, nullptr, false);
                if (j.is_discarded()) return;
                if (!j["usage"].is_null()) completion_tokens = j["usage"]["completion_tokens"];
                for (const json& c : j["choices"]) {
                    ++content_chunks;
                    if (c["finish_reason"] == "length") length = true;
                }
            }
            // One chunk per token at most (tokens with no text yet are merged).
            if (done && length && completion_tokens == kTokens && content_chunks >= 1 &&
                content_chunks <= kTokens)
                ok.fetch_add(1);
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok.load(), kClients);
    EXPECT_TRUE(server_->wait_blocks_free());
}

TEST_F(ConcurrencyTest, ClientKilledMidStreamFreesItsBlocks) {
    const EngineStats before = server_->engine->stats();
    Conn c(server_->port);
    ASSERT_TRUE(c.send(http_request("POST", "/v1/completions",
                                    completion_body(R"("stream":true,"ignore_eos":true)", 1500))));
    // Wait for the first token, then check blocks are held.
    ASSERT_TRUE(c.read_until(
        [](const std::string& b) { return b.find("data: ") != std::string::npos; }, 30s));
    // The engine's counters are a snapshot taken after each step.
    bool held = false;
    for (int i = 0; i < 1000 && !held; ++i) {
        held = server_->engine->stats().blocks_free < before.blocks_total;
        if (!held) std::this_thread::sleep_for(2ms);
    }
    EXPECT_TRUE(held);
    c.abort();
    EXPECT_TRUE(server_->wait_blocks_free(5s));
    EXPECT_EQ(server_->engine->stats().blocks_free, before.blocks_total);
    // The server still serves.
    EXPECT_EQ(fetch(server_->port, "POST", "/v1/completions", completion_body("", 2)).status, 200);
}

TEST_F(ConcurrencyTest, ClientGoneWhileWaitingForNonStreamingAnswerCancels) {
    Conn c(server_->port);
    ASSERT_TRUE(c.send(
        http_request("POST", "/v1/completions", completion_body(R"("ignore_eos":true)", 1900))));
    // Wait until the engine holds blocks for it, then hang up.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
        const EngineStats s = server_->engine->stats();
        if (s.blocks_free < s.blocks_total) break;
        std::this_thread::sleep_for(5ms);
    }
    c.close();
    EXPECT_TRUE(server_->wait_blocks_free(5s));
    EXPECT_EQ(server_->api->in_flight(), 0);
}

TEST_F(ConcurrencyTest, DrainFinishesInFlightAndRefusesNew) {
    Conn c(server_->port);
    ASSERT_TRUE(c.send(http_request("POST", "/v1/completions",
                                    completion_body(R"("stream":true,"ignore_eos":true)", 64))));
    ASSERT_TRUE(c.read_until(
        [](const std::string& b) { return b.find("data: ") != std::string::npos; }, 30s));
    server_->api->begin_drain();
    EXPECT_EQ(fetch(server_->port, "GET", "/ready").status, 503);
    EXPECT_EQ(fetch(server_->port, "GET", "/health").status, 200);
    HttpReply refused = fetch(server_->port, "POST", "/v1/completions", completion_body("", 2));
    EXPECT_EQ(refused.status, 503);
    EXPECT_FALSE(refused.headers["retry-after"].empty());
    // The accepted stream runs to its end.
    HttpReply r = c.read_response(60s);
    ASSERT_EQ(r.status, 200);
    auto data = r.sse_data();
    ASSERT_FALSE(data.empty());
    EXPECT_EQ(data.back(), "[DONE]");
    std::thread stopper([&] { server_->api->drain_and_stop(); });
    stopper.join();
    EXPECT_EQ(server_->api->in_flight(), 0);
}

}  // namespace
}  // namespace ig::test
