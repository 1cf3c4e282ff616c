#pragma once
// The OpenAI-compatible API over the served models (ModelSet): routes, validation,
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
#include "server/model_set.h"
#include "server/openai_request.h"
#include "server/output_plan.h"
#include "server/router.h"
#include "server/served_model.h"
#include "server/server_config.h"
#include "server/server_counters.h"
#include "server/server_metrics.h"
#include "tenants/tenant_directory.h"
#include "tokenizer/tokenizer.h"

namespace ig::server {

class ApiServer {
  public:
    // One model, loaded.
    ApiServer(ServerConfig cfg, ServedModel model);
    // Several models, loaded on demand (the first is the default of
    // requests that name none).
    ApiServer(ServerConfig cfg, std::shared_ptr<ModelSet> models);
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
    // The default model's metrics (they also count the routes of no model).
    ServerMetrics& metrics() { return *front_metrics_; }
    ModelSet& models() { return *models_; }
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
        std::string model;  // resolved name, once known
    };
    void add_routes();
    void add_model_routes();
    void add_admin_routes();
    void add_model_admin_routes();
    // The tenants in force now (null without keys); hold it while using its pointers.
    std::shared_ptr<const tenants::KeyStore> keys() const {
        return tenants_ ? tenants_->current() : nullptr;
    }
    // Whether the request's tenant may use the model (always, without keys).
    bool tenant_allowed(const HttpRequest& req, const std::string& model) const;
    ServerMetrics& metrics_for(const std::string& model) const;
    // A refused generation request: counted, logged, tagged with its id.
    void finish_rejected(const RequestContext& ctx, bool chat, HttpResponse& res);
    // The two generation endpoints: request context, then completions().
    Reply generate(HttpRequest&& req, bool chat);
    void log_rejected(const RequestContext& ctx, bool chat, const HttpResponse& res);
    Reply handle(HttpRequest&& req);
    // Parses the body and finds its model: completions_on when it is
    // loaded, else a ModelWaitJob that loads it first.
    Reply completions(HttpRequest&& req, bool chat, RequestContext& ctx);
    // Validates a generation request for a loaded model, then tokenize_prompts and submit.
    Reply completions_on(const std::shared_ptr<ServedModel>& model, const HttpRequest& req,
                         const nlohmann::json& body, bool chat, RequestContext& ctx);
    std::optional<ApiError> tokenize_prompts(const ServedModel& model, ParsedRequest& pr, bool chat,
                                             OutputPlan& plan,
                                             std::vector<std::vector<int32_t>>& prompts) const;
    Reply submit(const std::shared_ptr<ServedModel>& model, ParsedRequest& pr,
                 std::vector<std::vector<int32_t>> prompts, bool chat, const RequestContext& ctx,
                 unsigned http_version, tenants::Lease lease, const OutputPlan& plan);
    HttpResponse json_response(const nlohmann::json& body, unsigned version,
                               http::status status = http::status::ok) const;
    std::string next_id(const char* prefix);

    ServerConfig cfg_;
    std::shared_ptr<ModelSet> models_;
    std::shared_ptr<ServerMetrics> front_metrics_;  // the default model's
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
