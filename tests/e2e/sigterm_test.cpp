// The real binary under SIGTERM while streams are running: readiness turns
// off, new requests get 503, every accepted request completes, exit code 0.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <thread>

#include "support/child_server.h"
#include "support/server_fixture.h"

namespace ig::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

TEST(SigtermTest, DrainsAcceptedRequestsAndExitsZero) {
    const std::string model = server_model_path();
    if (model.empty()) GTEST_SKIP() << "no model";
    ChildServer child;
    ASSERT_TRUE(
        child.start({binary(), "serve", "--model", model, "--port", "0", "--threads", "2",
                     "--kv-budget-mb", "16", "--grace-period", "60", "--log-level", "warn"}));

    constexpr int kStreams = 6;
    std::atomic<int> started{0}, completed{0};
    std::vector<std::thread> clients;
    for (int i = 0; i < kStreams; ++i) {
        clients.emplace_back([&, i] {
            Conn c(child.port);
            // Long enough that the streams are still running when the test
            // polls /ready after SIGTERM: at ~100 tokens the tiny model could
            // finish them, and the server drain and exit, first (seen once
            // under a loaded ctest -j2).
            json body = {{"prompt", "Once upon a time"},
                         {"max_tokens", 400 + i},
                         {"ignore_eos", true},
                         {"stream", true}};
            c.send(http_request("POST", "/v1/completions", body.dump()));
            if (c.read_until(
                    [](const std::string& b) { return b.find("data: ") != std::string::npos; },
                    30s))
                started.fetch_add(1);
            HttpReply r = c.read_response(90s);
            auto data = r.sse_data();
            if (r.status != 200 || data.size() < 2 || data.back() != "[DONE]") return;
            json last = json::parse(data[data.size() - 2]);
            if (last["choices"][0]["finish_reason"] == "length") completed.fetch_add(1);
        });
    }
    while (started.load() < kStreams) std::this_thread::sleep_for(5ms);
    ASSERT_EQ(kill(child.pid, SIGTERM), 0);

    // Readiness goes false; new work is refused with 503 while the streams run.
    HttpReply ready;
    for (int i = 0; i < 200; ++i) {
        ready = fetch(child.port, "GET", "/ready", "", 2s);
        if (ready.status == 503) break;
        std::this_thread::sleep_for(5ms);
    }
    EXPECT_EQ(ready.status, 503);
    HttpReply refused =
        fetch(child.port, "POST", "/v1/completions", R"({"prompt":"hi","max_tokens":2})", 5s);
    if (refused.status != 0) {
        EXPECT_EQ(refused.status, 503);
    }

    for (auto& t : clients) t.join();
    EXPECT_EQ(completed.load(), kStreams);
    EXPECT_EQ(child.wait_exit(30s), 0);
}

}  // namespace
}  // namespace ig::test
