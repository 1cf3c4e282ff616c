#pragma once
// infergrid's metric set for one served model, named like vLLM's but by
// Prometheus conventions (infergrid_ prefix, base units, _total counters),
// and the per-request record that feeds it and the JSON request log.
//
// Labels: `model` everywhere; `tenant` on per-request counters only (from
// the X-Tenant-Id header, folded to a bounded set: metrics::BoundedLabel).
// Histograms carry `model` only, to keep series counts bounded.
//
// Other components add their own families to registry() (or collectors for
// values they keep themselves); render() appends them after the built-ins.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "engine/engine.h"
#include "server/server_counters.h"
#include "util/metrics.h"

namespace ig::server {

// One finished HTTP generation request (rejected ones included).
struct RequestRecord {
    std::string request_id;
    std::string tenant;    // folded label value
    std::string user;      // the request's `user` field; empty when not given
    std::string endpoint;  // "chat" | "completions"
    bool stream = false;
    int status = 200;
    std::string error_type;     // empty unless the answer is an error (OpenAI code or type)
    std::string finish_reason;  // stop | length | abort | error; empty when rejected
    int64_t prompt_tokens = 0, cached_tokens = 0, completion_tokens = 0;
    std::optional<double> queue_seconds, ttft_seconds;
    double e2e_seconds = 0;
};

// The request log line: one JSON object, no prompt text, no credentials.
std::string request_log_line(const RequestRecord& r, std::string_view model);

class ServerMetrics : public std::enable_shared_from_this<ServerMetrics> {
  public:
    static constexpr size_t kDefaultMaxTenants = 100;
    static std::shared_ptr<ServerMetrics> create(std::string model,
                                                 size_t max_tenants = kDefaultMaxTenants);

    metrics::Registry& registry() { return reg_; }
    const std::string& model() const { return model_; }
    // The tenant label for an X-Tenant-Id value ("none" when absent).
    std::string tenant_label(std::string_view header_value) { return tenants_.fold(header_value); }
    void set_max_tenants(size_t n) { tenants_.set_cap(n); }

    // One observation of a per-request family is one sequence: a choice of a
    // prompt (vLLM's child request), so a request with 2 prompts and n 3
    // adds 6 to every such histogram's count and to request_success_total.
    // Token counters count tokens once (a prompt shared by n choices once).

    // Hot path (IO threads), lock-free.
    void observe_ttft(double seconds) { ttft_->observe(seconds); }  // per sequence
    void observe_inter_token(double seconds) { itl_->observe(seconds); }
    // Engine-side phases of one sequence, from its final event.
    void observe_phases(const RequestTimings& t, std::chrono::steady_clock::time_point finish,
                        int64_t completion_tokens);
    // One finished (or abandoned) sequence.
    void record_sequence(const std::string& tenant, const std::string& finish_reason,
                         int64_t prompt_tokens, int64_t completion_tokens, double e2e_seconds);
    // Once per HTTP generation request, finished or rejected: errors and token counters.
    void record(const RequestRecord& r);
    // Counts a response of any API route by status.
    void count_http(std::string_view endpoint, int status);
    // A request refused with 429 by one of its tenant's limits (limit: its
    // name in the tenants file, or "quota"); `tenant` is a folded label.
    void count_rate_limited(const std::string& tenant, std::string_view limit);

    // For EngineConfig::step_observer; keeps this object alive.
    std::function<void(const StepInfo&)> step_observer();
    void set_model_load_seconds(double s) { load_seconds_->set(s); }

    // The whole exposition: built-in families, engine and server snapshots,
    // process figures, then registry() families and collectors.
    std::string render(const EngineStats& engine, const ServerCounters& server,
                       int64_t open_connections, bool ready);

  private:
    ServerMetrics(std::string model, size_t max_tenants);
    double utilization(double busy_seconds);
    void render_tenant_lags(metrics::MetricWriter& w, const std::vector<TenantLag>& lags);

    const std::string model_;
    metrics::Registry reg_;
    metrics::BoundedLabel tenants_;
    metrics::Histogram *ttft_, *itl_, *e2e_, *queue_, *prefill_, *decode_, *tpot_, *prompt_len_,
        *gen_len_, *step_, *step_tokens_;
    metrics::CounterFamily *success_, *prompt_tokens_, *gen_tokens_, *errors_, *http_,
        *rate_limited_;
    metrics::Gauge* load_seconds_;

    // Engine utilisation over a trailing window of render-time samples.
    std::mutex util_mu_;
    struct UtilSample {
        std::chrono::steady_clock::time_point t;
        double busy;
    };
    std::vector<UtilSample> util_samples_;
    double last_utilization_ = 0;
};

}  // namespace ig::server
