#pragma once
// A stand-in OpenAI-compatible server with known latencies, for checking
// `bench serve` itself: every streamed request gets its first token exactly
// `ttft_ms` after the request arrived and each next one `itl_ms` later (on
// an absolute schedule, so sleeps do not drift). With zero latencies it
// measures how many requests/s the load generator can drive.
#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "util/expected.h"

namespace ig {

struct StubServerOptions {
    std::string host = "127.0.0.1";
    uint16_t port = 0;  // 0: any free port
    double ttft_ms = 0;
    double itl_ms = 0;
    int32_t default_max_tokens = 16;
};

class StubOpenAiServer {
  public:
    static Expected<std::unique_ptr<StubOpenAiServer>> start(const StubServerOptions& o);
    ~StubOpenAiServer();
    StubOpenAiServer(const StubOpenAiServer&) = delete;
    StubOpenAiServer& operator=(const StubOpenAiServer&) = delete;

    uint16_t port() const { return port_; }
    int64_t requests_served() const { return served_.load(); }
    void stop();

    struct Impl;

  private:
    StubOpenAiServer() = default;
    StubServerOptions o_;
    uint16_t port_ = 0;
    std::atomic<int64_t> served_{0};
    std::unique_ptr<Impl> impl_;
};

}  // namespace ig
