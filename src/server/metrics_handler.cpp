#include "server/metrics_handler.h"

#include <fmt/format.h>

namespace ig::server {

namespace {

void metric(std::string& out, const char* name, const char* type, const char* help, double v) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, v);
}

}  // namespace

std::string render_metrics(const EngineStats& e, const ServerCounters& s, int64_t open_connections,
                           bool ready) {
    std::string out;
    metric(out, "infergrid_num_requests_running", "gauge", "Sequences in the running batch.",
           e.running);
    metric(out, "infergrid_num_requests_waiting", "gauge", "Requests waiting to be scheduled.",
           e.waiting);
    metric(out, "infergrid_kv_blocks_total", "gauge", "KV cache blocks in the pool.",
           e.blocks_total);
    metric(out, "infergrid_kv_blocks_free", "gauge", "KV cache blocks allocatable now.",
           e.blocks_free);
    metric(out, "infergrid_kv_cache_usage_perc", "gauge", "Fraction of KV blocks in use.",
           e.blocks_total > 0 ? 1.0 - double(e.blocks_free) / double(e.blocks_total) : 0.0);
    metric(out, "infergrid_num_preemptions_total", "counter", "Sequences preempted.",
           double(e.preemptions));
    metric(out, "infergrid_prefix_cache_queries_total", "counter",
           "Prompt tokens looked up in the prefix cache.", double(e.prefix.queries_tokens));
    metric(out, "infergrid_prefix_cache_hits_total", "counter",
           "Prompt tokens found in the prefix cache.", double(e.prefix.hits_tokens));
    metric(out, "infergrid_engine_steps_total", "counter", "Engine steps run.", double(e.steps));
    metric(out, "infergrid_engine_busy_seconds_total", "counter", "Time the engine spent in steps.",
           e.busy_seconds);
    metric(out, "infergrid_http_requests_in_flight", "gauge",
           "Generation requests not yet answered.", double(s.in_flight.load()));
    metric(out, "infergrid_http_requests_total", "counter", "Generation requests accepted.",
           double(s.requests_total.load()));
    metric(out, "infergrid_http_requests_rejected_total", "counter",
           "Generation requests answered with an error.", double(s.rejected_total.load()));
    metric(out, "infergrid_http_requests_cancelled_total", "counter",
           "Generation requests cancelled because the client went away.",
           double(s.cancelled_total.load()));
    metric(out, "infergrid_http_server_overhead_seconds_total", "counter",
           "Time spent on generation requests outside the engine.",
           double(s.overhead_ns_total.load()) * 1e-9);
    metric(out, "infergrid_http_open_connections", "gauge", "Open HTTP connections.",
           double(open_connections));
    metric(out, "infergrid_ready", "gauge", "1 when serving, 0 while draining.", ready ? 1 : 0);
    return out;
}

}  // namespace ig::server
