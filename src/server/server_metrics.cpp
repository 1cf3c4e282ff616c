#include "server/server_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace ig::server {

using Clock = std::chrono::steady_clock;
using metrics::MetricWriter;

namespace {

constexpr const char* kVersion = "0.1.0";
constexpr double kUtilWindowSeconds = 10;

double seconds(Clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

// Resident set size from /proc (0 where there is no /proc).
double resident_bytes() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (!f) return 0;
    long pages = 0, resident = 0;
    const int n = std::fscanf(f, "%ld %ld", &pages, &resident);
    std::fclose(f);
    return n == 2 ? double(resident) * double(sysconf(_SC_PAGESIZE)) : 0;
}

double cpu_seconds() {
    rusage ru{};
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    auto tv = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) * 1e-6; };
    return tv(ru.ru_utime) + tv(ru.ru_stime);
}

// One TierStats number as a sample value (bool: 1 or 0).
template <auto Member>
double field(const TierStats& t) {
    return static_cast<double>(t.*Member);
}

// KV tiers below the pool (host RAM, disk), one series per tier. Each
// family's samples are written together, as the text format requires.
void render_tiers(MetricWriter& w, const std::vector<TierStats>& tiers, const std::string& model) {
    if (tiers.empty()) return;
    auto labels = [&](const TierStats& t) {
        return metrics::Labels{{"model", model}, {"tier", t.name}};
    };
    using metrics::MetricType;
    struct Series {
        const char* name;
        const char* help;
        MetricType type;
        double (*value)(const TierStats&);
    };
    static constexpr Series kSeries[] = {
        {"infergrid_kv_tier_hit_blocks_total", "Prefix blocks found in this tier.",
         MetricType::Counter, field<&TierStats::hit_blocks>},
        {"infergrid_kv_tier_miss_blocks_total",
         "Prefix blocks looked up in this tier and not found.", MetricType::Counter,
         field<&TierStats::miss_blocks>},
        {"infergrid_kv_tier_hit_tokens_total", "Prompt tokens found in this tier.",
         MetricType::Counter, field<&TierStats::hit_tokens>},
        {"infergrid_kv_tier_miss_tokens_total",
         "Prompt tokens looked up in this tier and not found.", MetricType::Counter,
         field<&TierStats::miss_tokens>},
        {"infergrid_kv_tier_read_bytes_total", "Bytes read from this tier.", MetricType::Counter,
         field<&TierStats::bytes_read>},
        {"infergrid_kv_tier_written_bytes_total", "Bytes written to this tier.",
         MetricType::Counter, field<&TierStats::bytes_written>},
        {"infergrid_kv_tier_read_seconds_total", "Time spent reading this tier.",
         MetricType::Counter, field<&TierStats::read_seconds>},
        {"infergrid_kv_tier_write_seconds_total", "Time spent writing this tier.",
         MetricType::Counter, field<&TierStats::write_seconds>},
        {"infergrid_kv_tier_stored_blocks_total", "Blocks stored into this tier.",
         MetricType::Counter, field<&TierStats::puts>},
        {"infergrid_kv_tier_evicted_blocks_total", "Blocks removed from this tier for room.",
         MetricType::Counter, field<&TierStats::evictions>},
        {"infergrid_kv_tier_io_errors_total", "IO errors in this tier.", MetricType::Counter,
         field<&TierStats::errors>},
        {"infergrid_kv_tier_corrupt_blocks_total",
         "Blocks rejected by header or checksum checks (served as misses).", MetricType::Counter,
         field<&TierStats::corrupt>},
        {"infergrid_kv_tier_load_timeouts_total",
         "Loads abandoned at their deadline (a hung file system; served as misses).",
         MetricType::Counter, field<&TierStats::load_timeouts>},
        {"infergrid_kv_tier_skipped_files_total",
         "Files named like blocks that are not regular files (left alone, never opened).",
         MetricType::Counter, field<&TierStats::skipped>},
        {"infergrid_kv_tier_blocks", "Blocks held by this tier.", MetricType::Gauge,
         field<&TierStats::blocks>},
        {"infergrid_kv_tier_used_bytes", "Bytes held by this tier.", MetricType::Gauge,
         field<&TierStats::bytes_used>},
        {"infergrid_kv_tier_capacity_bytes", "Byte budget of this tier.", MetricType::Gauge,
         field<&TierStats::bytes_budget>},
        {"infergrid_kv_tier_enabled", "1 while this tier serves, 0 once it disabled itself.",
         MetricType::Gauge, field<&TierStats::enabled>},
        {"infergrid_kv_tier_scanning",
         "1 while the tier still indexes the blocks stored before a restart.", MetricType::Gauge,
         field<&TierStats::scanning>},
    };
    for (const Series& s : kSeries)
        for (const TierStats& t : tiers) w.sample(s.name, s.help, s.type, s.value(t), labels(t));
    for (const TierStats& t : tiers)
        for (size_t r = 0; r < kDropReasons; ++r) {
            metrics::Labels l = labels(t);
            l.emplace_back("reason", std::string(drop_reason_name(static_cast<DropReason>(r))));
            w.sample("infergrid_kv_tier_dropped_blocks_total",
                     "Blocks not stored, by reason (queue_full: a write queue was full; no_room, "
                     "disabled, write_error, bad_size).",
                     MetricType::Counter, static_cast<double>(t.dropped_by[r]), l);
        }
    const std::vector<double> bounds(kTierLatencyBounds.begin(), kTierLatencyBounds.end());
    for (const TierStats& t : tiers) {
        metrics::Histogram::Snapshot snap;
        uint64_t running = 0;
        for (size_t i = 0; i <= bounds.size(); ++i) {
            running += i < t.load_latency_buckets.size() ? t.load_latency_buckets[i] : 0;
            snap.cumulative.push_back(running);
        }
        snap.sum = t.load_latency_sum_s;
        snap.count = running;
        w.histogram("infergrid_kv_tier_load_seconds",
                    "Time to load one block from this tier into the pool.", bounds, snap,
                    labels(t));
    }
}

}  // namespace

std::string request_log_line(const RequestRecord& r, std::string_view model) {
    using nlohmann::json;
    auto opt = [](const std::optional<double>& v) { return v ? json(*v) : json(); };
    json j = {{"event", "request"},
              {"request_id", r.request_id},
              {"model", model},
              {"tenant", r.tenant},
              {"endpoint", r.endpoint},
              {"stream", r.stream},
              {"status", r.status},
              {"finish_reason", r.finish_reason.empty() ? json() : json(r.finish_reason)},
              {"prompt_tokens", r.prompt_tokens},
              {"cached_tokens", r.cached_tokens},
              {"completion_tokens", r.completion_tokens},
              {"queue_time_s", opt(r.queue_seconds)},
              {"ttft_s", opt(r.ttft_seconds)},
              {"e2e_s", r.e2e_seconds}};
    if (!r.error_type.empty()) j["error_type"] = r.error_type;
    if (!r.user.empty()) j["user"] = r.user.substr(0, 128);  // bounded: clients choose it
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::shared_ptr<ServerMetrics> ServerMetrics::create(std::string model, size_t max_tenants) {
    return std::shared_ptr<ServerMetrics>(new ServerMetrics(std::move(model), max_tenants));
}

ServerMetrics::ServerMetrics(std::string model, size_t max_tenants)
    : model_(std::move(model)), tenants_(max_tenants) {
    using namespace metrics;
    const std::vector<std::string> m = {"model"};
    auto hist = [&](const char* name, const char* help, std::vector<double> b) {
        return &reg_.histogram(name, help, m, std::move(b)).with({model_});
    };
    ttft_ = hist("infergrid_time_to_first_token_seconds",
                 "Time from receiving a request to its first generated token.", latency_buckets());
    itl_ = hist("infergrid_inter_token_latency_seconds",
                "Time between consecutive generated tokens of a choice.", fine_latency_buckets());
    tpot_ = hist("infergrid_request_time_per_output_token_seconds",
                 "Decode time divided by (generated tokens - 1), per engine request.",
                 fine_latency_buckets());
    e2e_ = hist("infergrid_e2e_request_latency_seconds",
                "Time from receiving a generation request to its last byte.", latency_buckets());
    queue_ =
        hist("infergrid_request_queue_time_seconds",
             "Time an engine request waited before it was first scheduled.", latency_buckets());
    prefill_ = hist("infergrid_request_prefill_time_seconds",
                    "Time from first scheduling to the first token (prefill).", latency_buckets());
    decode_ = hist("infergrid_request_decode_time_seconds",
                   "Time from the first token to the last (decode).", latency_buckets());
    prompt_len_ = hist("infergrid_request_prompt_tokens", "Prompt tokens per request.",
                       token_count_buckets());
    gen_len_ = hist("infergrid_request_generation_tokens", "Generated tokens per request.",
                    token_count_buckets());
    step_ = hist("infergrid_engine_step_duration_seconds",
                 "Wall time of engine steps that ran a batch.", fine_latency_buckets());
    step_tokens_ = hist("infergrid_iteration_tokens", "Tokens in the forward batch per step.",
                        token_count_buckets());

    const std::vector<std::string> mt = {"model", "tenant"};
    success_ = &reg_.counter("infergrid_request_success_total",
                             "Generation requests answered, by finish reason.",
                             {"model", "tenant", "finished_reason"});
    prompt_tokens_ = &reg_.counter("infergrid_prompt_tokens_total", "Prompt tokens processed.", mt);
    gen_tokens_ = &reg_.counter("infergrid_generation_tokens_total", "Tokens generated.", mt);
    errors_ = &reg_.counter("infergrid_request_errors_total",
                            "Generation requests answered with an error, by error type.",
                            {"model", "tenant", "type"});
    http_ = &reg_.counter("infergrid_http_requests_total", "HTTP responses by route and status.",
                          {"endpoint", "status"});
    rate_limited_ = &reg_.counter("infergrid_tenant_rate_limited_total",
                                  "Generation requests refused with 429 by a tenant limit.",
                                  {"model", "tenant", "limit"});
    load_seconds_ = &reg_.gauge("infergrid_model_load_seconds",
                                "Time to load the model and start the engine.", m)
                         .with({model_});
    reg_.gauge("infergrid_build_info", "Build and model information (value 1).",
               {"version", "model"})
        .with({kVersion, model_})
        .set(1);
    util_samples_.push_back({Clock::now(), 0});
}

void ServerMetrics::observe_phases(const RequestTimings& t, Clock::time_point finish,
                                   int64_t completion_tokens) {
    const Clock::time_point never{};
    if (t.first_scheduled != never && t.arrival != never)
        queue_->observe(seconds(t.first_scheduled - t.arrival));
    if (t.first_token != never && t.first_scheduled != never)
        prefill_->observe(seconds(t.first_token - t.first_scheduled));
    if (t.first_token != never && finish >= t.first_token) {
        const double d = seconds(finish - t.first_token);
        decode_->observe(d);
        if (completion_tokens > 1) tpot_->observe(d / double(completion_tokens - 1));
    }
}

void ServerMetrics::record_sequence(const std::string& tenant, const std::string& finish_reason,
                                    int64_t prompt_tokens, int64_t completion_tokens,
                                    double e2e_seconds) {
    success_->with({model_, tenant, finish_reason}).inc();
    prompt_len_->observe(double(prompt_tokens));
    gen_len_->observe(double(completion_tokens));
    e2e_->observe(e2e_seconds);
}

void ServerMetrics::record(const RequestRecord& r) {
    if (!r.error_type.empty()) errors_->with({model_, r.tenant, r.error_type}).inc();
    if (r.finish_reason.empty()) return;  // rejected before the engine
    prompt_tokens_->with({model_, r.tenant}).inc(double(r.prompt_tokens));
    gen_tokens_->with({model_, r.tenant}).inc(double(r.completion_tokens));
}

void ServerMetrics::count_http(std::string_view endpoint, int status) {
    const std::string code = std::to_string(status);
    http_->with({endpoint, code}).inc();
}

void ServerMetrics::count_rate_limited(const std::string& tenant, std::string_view limit) {
    rate_limited_->with({model_, tenant, std::string(limit)}).inc();
}

std::function<void(const StepInfo&)> ServerMetrics::step_observer() {
    return [self = shared_from_this()](const StepInfo& s) {
        self->step_->observe(s.seconds);
        self->step_tokens_->observe(double(s.batch_tokens));
    };
}

// Share of wall time the engine computed, over the last ~10 s of scrapes
// (or since the previous scrape when scrapes are further apart).
double ServerMetrics::utilization(double busy) {
    const auto now = Clock::now();
    std::lock_guard lk(util_mu_);
    const auto window = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(kUtilWindowSeconds));
    // The oldest sample inside the window, else the newest one (the previous scrape).
    size_t base = util_samples_.size() - 1;
    for (size_t i = 0; i < util_samples_.size(); ++i)
        if (now - util_samples_[i].t <= window) {
            base = i;
            break;
        }
    const UtilSample b = util_samples_[base];
    const double dt = seconds(now - b.t);
    if (dt > 0.05) last_utilization_ = std::clamp((busy - b.busy) / dt, 0.0, 1.0);
    util_samples_.erase(util_samples_.begin(), util_samples_.begin() + long(base));
    util_samples_.push_back({now, busy});
    return last_utilization_;
}

void ServerMetrics::render_tenant_lags(MetricWriter& w, const std::vector<TenantLag>& lags) {
    // Folded labels may merge tenants ("other"): the largest lag stands for them.
    std::vector<std::pair<std::string, double>> by_label;
    for (const TenantLag& l : lags) {
        if (l.tenant.empty()) continue;  // the anonymous tenant (no keys)
        std::string label = tenants_.fold(l.tenant);
        auto it = std::find_if(by_label.begin(), by_label.end(),
                               [&](const auto& p) { return p.first == label; });
        if (it == by_label.end())
            by_label.emplace_back(std::move(label), l.tokens);
        else
            it->second = std::max(it->second, l.tokens);
    }
    for (const auto& [label, tokens] : by_label)
        w.gauge("infergrid_tenant_virtual_token_lag",
                "Weighted tokens a tenant with requests in the engine has received beyond the "
                "least served such tenant (fair share: near 0 for backlogged tenants).",
                tokens, {{"model", model_}, {"tenant", label}});
}

std::string ServerMetrics::render(const EngineStats& e, const ServerCounters& s,
                                  int64_t open_connections, bool ready) {
    std::string out;
    out.reserve(32 << 10);
    MetricWriter w(out);
    const metrics::Labels m = {{"model", model_}};
    w.gauge("infergrid_num_requests_running", "Sequences in the running batch.", e.running, m);
    w.gauge("infergrid_num_requests_waiting", "Requests waiting to be scheduled.", e.waiting, m);
    w.gauge("infergrid_kv_cache_usage_perc", "Fraction (0-1) of KV cache blocks in use.",
            e.blocks_total > 0 ? 1.0 - double(e.blocks_free) / double(e.blocks_total) : 0.0, m);
    w.gauge("infergrid_kv_blocks_capacity", "KV cache blocks in the pool.", e.blocks_total, m);
    w.gauge("infergrid_kv_blocks_free", "KV cache blocks allocatable now.", e.blocks_free, m);
    w.gauge("infergrid_kv_blocks_used", "KV cache blocks referenced by sequences.", e.blocks_used,
            m);
    w.gauge("infergrid_kv_blocks_cached", "KV cache blocks holding a reusable prefix.",
            e.blocks_cached, m);
    w.counter("infergrid_num_preemptions_total", "Sequences preempted.", double(e.preemptions), m);
    w.counter("infergrid_prefix_cache_queries_total",
              "Prompt tokens looked up in the prefix cache.", double(e.prefix.queries_tokens), m);
    w.counter("infergrid_prefix_cache_hits_total", "Prompt tokens found in the prefix cache.",
              double(e.prefix.hits_tokens), m);
    w.counter("infergrid_engine_steps_total", "Engine steps that ran a batch.", double(e.steps), m);
    w.counter("infergrid_engine_busy_seconds_total", "Wall time the engine spent in steps.",
              e.busy_seconds, m);
    w.gauge("infergrid_engine_utilization_ratio",
            "Share of wall time the engine spent computing over the last ~10 s of scrapes "
            "(use rate(infergrid_engine_busy_seconds_total[1m]) across scrapers).",
            utilization(e.busy_seconds), m);
    w.gauge("infergrid_engine_batch_tokens", "Tokens in the last step's forward batch.",
            e.last_batch_tokens, m);
    w.gauge("infergrid_engine_step_seconds", "Duration of the last step that ran a batch.",
            e.last_step_seconds, m);
    render_tiers(w, e.tiers, model_);
    render_tenant_lags(w, e.tenant_lags);
    w.gauge("infergrid_http_requests_in_flight", "Generation requests not yet answered.",
            double(s.in_flight.load()));
    w.counter("infergrid_http_requests_cancelled_total",
              "Generation requests cancelled because the client went away.",
              double(s.cancelled_total.load()));
    w.counter("infergrid_usage_ledger_errors_total",
              "Finished requests whose usage record could not be committed to --usage-db.",
              double(s.ledger_errors_total.load()));
    w.counter("infergrid_http_server_overhead_seconds_total",
              "Time spent on generation requests outside the engine.",
              double(s.overhead_ns_total.load()) * 1e-9);
    w.gauge("infergrid_http_open_connections", "Open HTTP connections.", double(open_connections));
    w.gauge("infergrid_ready", "1 when serving, 0 while draining.", ready ? 1 : 0);
    w.gauge("process_resident_memory_bytes", "Resident memory size in bytes.", resident_bytes());
    w.counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
              cpu_seconds());
    out += reg_.render();
    return out;
}

}  // namespace ig::server
