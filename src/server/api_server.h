#pragma once
// The OpenAI-compatible API over one served model: routes, validation,
// templating and tokenizing, submission to the engine, health and readiness,
// and the SIGTERM drain.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/engine.h"
#include "server/http_server.h"
#include "server/server_config.h"
#include "server/server_counters.h"
#include "tokenizer/tokenizer.h"

namespace ig::server {

// A rendered chat prompt; special_allowed marks, per byte, where special
// tokens may be matched (template text yes, message content no).
struct ChatPrompt {
    std::string text;
    std::vector<uint8_t> special_allowed;
};
// Renders normalised messages (every content a string) with the model's chat
// template, adding the generation prompt.
using ChatRenderer = std::function<Expected<ChatPrompt>(const nlohmann::json& messages,
                                                        const nlohmann::json& tools)>;

struct ServedModel {
    std::shared_ptr<Engine> engine;
    std::shared_ptr<const Tokenizer> tokenizer;
    ChatRenderer chat;    // empty: the model has no chat template
    std::string name;     // the `model` clients must send
    int64_t created = 0;  // unix seconds, for /v1/models
};

class ApiServer {
  public:
    ApiServer(ServerConfig cfg, ServedModel model);
    ~ApiServer();

    Status start();
    uint16_t port() const;
    // Readiness off, new generation requests get 503, open connections close
    // after their current response. In-flight requests go on.
    void begin_drain();
    bool draining() const { return draining_.load(); }
    int64_t in_flight() const { return counters_->in_flight.load(); }
    // Waits for SIGTERM or SIGINT, drains (in-flight requests get the grace
    // period, then are cancelled), stops the engine, returns.
    void run_until_signal();
    // Drains as on a signal, waiting at most the grace period.
    void drain_and_stop();
    void stop();

  private:
    Reply handle(HttpRequest&& req);
    Reply completions(HttpRequest&& req, bool chat);
    HttpResponse json_response(const nlohmann::json& body, unsigned version,
                               http::status status = http::status::ok) const;
    std::string next_id(const char* prefix);

    ServerConfig cfg_;
    ServedModel model_;
    std::shared_ptr<ServerCounters> counters_ = std::make_shared<ServerCounters>();
    std::atomic<bool> draining_{false};
    std::atomic<uint64_t> next_id_{0};
    std::string id_salt_;
    std::unique_ptr<HttpServer> http_;
};

}  // namespace ig::server
