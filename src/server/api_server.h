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

#include "chat/chat_output_parser.h"
#include "engine/engine.h"
#include "server/completion_job.h"
#include "server/http_server.h"
#include "server/openai_request.h"
#include "server/output_plan.h"
#include "server/router.h"
#include "server/server_config.h"
#include "server/server_counters.h"
#include "server/server_metrics.h"
#include "tenants/tenant_directory.h"
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
// `tools`: null or the request's tool list; `kwargs`: null or an object of
// extra template variables (chat_template_kwargs, e.g. enable_thinking).
using ChatRenderer = std::function<Expected<ChatPrompt>(const nlohmann::json& messages,
                                                        const nlohmann::ordered_json& tools,
                                                        const nlohmann::json& kwargs)>;

struct ServedModel {
    std::shared_ptr<Engine> engine;
    std::shared_ptr<const Tokenizer> tokenizer;
    ChatRenderer chat;  // empty: the model has no chat template
    // How answers are read back: tool calls in the template's format, and
    // thinking split off (reasoning_content).
    ToolCallFormat tool_format = ToolCallFormat::None;
    ReasoningFormat reasoning_format = ReasoningFormat::None;
    std::string name;     // the `model` clients must send
    int64_t created = 0;  // unix seconds, for /v1/models
    // Metrics of this model; server::load_served_model makes it before the engine so
    // that the engine's step observer feeds it. Null: the ApiServer makes one.
    std::shared_ptr<ServerMetrics> metrics;
    double load_seconds = 0;  // model load + engine start, for infergrid_model_load_seconds
    // Sampling for fields a request leaves out (generation_config.json).
    SamplingParams sampling_defaults;
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
    ServerMetrics& metrics() { return *model_.metrics; }
    // Reads the tenants file again (SIGHUP): the new tenants apply to the
    // next request; a bad file is refused and the old tenants stay.
    Status reload_tenants();

  private:
    // Observability context of one generation request.
    struct RequestContext {
        std::string id;          // OpenAI response id (chatcmpl-..., cmpl-...)
        std::string request_id;  // X-Request-Id: the client's if valid, else `id`
        std::string tenant_id;   // X-Tenant-Id: with keys on, the authenticated tenant
        std::string tenant;      // folded X-Tenant-Id (metrics label)
        std::chrono::steady_clock::time_point received;
        bool stream = false;  // known once the body is parsed
        // The usage ledger's: the key's tenant id (unfolded) and key id,
        // empty without keys; arrival as unix ms.
        std::string billing_tenant;
        std::string key_id;
        int64_t received_unix_ms = 0;
    };
    void add_routes();
    void add_admin_routes();
    // The tenants in force now (null without keys); hold it while using its pointers.
    std::shared_ptr<const tenants::KeyStore> keys() const {
        return tenants_ ? tenants_->current() : nullptr;
    }
    // Whether the request's tenant may use the served model (always, without keys).
    bool tenant_allowed(const HttpRequest& req) const;
    // The two generation endpoints: request context, then completions().
    Reply generate(HttpRequest&& req, bool chat);
    void log_rejected(const RequestContext& ctx, bool chat, const HttpResponse& res);
    Reply handle(HttpRequest&& req);
    // Parses and validates a generation request, then tokenize_prompts and submit.
    Reply completions(HttpRequest&& req, bool chat, RequestContext& ctx);
    std::optional<ApiError> tokenize_prompts(ParsedRequest& pr, bool chat, OutputPlan& plan,
                                             std::vector<std::vector<int32_t>>& prompts) const;
    Reply submit(ParsedRequest& pr, std::vector<std::vector<int32_t>> prompts, bool chat,
                 const RequestContext& ctx, unsigned http_version, tenants::Lease lease,
                 const OutputPlan& plan);
    HttpResponse json_response(const nlohmann::json& body, unsigned version,
                               http::status status = http::status::ok) const;
    std::string next_id(const char* prefix);

    ServerConfig cfg_;
    ServedModel model_;
    GrammarCache grammars_;  // compiled output constraints, shared by requests
    std::shared_ptr<tenants::TenantDirectory> tenants_;  // null without keys
    std::shared_ptr<ServerCounters> counters_ = std::make_shared<ServerCounters>();
    std::atomic<bool> draining_{false};
    std::atomic<uint64_t> next_id_{0};
    std::string id_salt_;
    Router router_;
    std::unique_ptr<HttpServer> http_;
    std::function<void(const std::string&)> request_log_;
    std::shared_ptr<WakeGate> wake_gate_ = std::make_shared<WakeGate>();
};

}  // namespace ig::server
