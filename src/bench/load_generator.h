#pragma once
// `infergrid bench serve`: a load generator for any OpenAI-compatible server
// (ours, llama.cpp's server, vLLM). Streams every request and reports the
// figures of vLLM's benchmark_serving: TTFT, TPOT, ITL, E2E latency
// (mean/median/p90/p95/p99/max), request and token throughput, goodput
// under SLOs, and prefix-cache hits the server reports.
#include <cstdint>
#include <iosfwd>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/workload.h"
#include "util/expected.h"

namespace ig {

struct Slo {
    std::optional<double> ttft_ms, tpot_ms, e2e_ms;
    bool any() const { return ttft_ms || tpot_ms || e2e_ms; }
};
// "ttft=MS,tpot=MS,e2e=MS" (any subset, each > 0).
Expected<Slo> parse_slo(const std::string& s);
// "1,2.5,4" → rates (each > 0; "inf" allowed).
Expected<std::vector<double>> parse_rates(const std::string& s);

struct BenchServeOptions {
    std::string base_url = "http://127.0.0.1:8080";
    std::string model;
    std::string endpoint = "/v1/completions";  // or /v1/chat/completions
    std::string api_key;  // Authorization: Bearer (never written to the report)
    WorkloadOptions workload;
    double request_rate = std::numeric_limits<double>::infinity();  // requests (sessions)/s
    double burstiness = 1.0;                                        // gamma shape; 1 = Poisson
    int32_t max_concurrency = 0;                                    // 0: unlimited
    double duration_s = 0;  // >0: stop starting requests after this long; repeats the workload
    int32_t warmup = 0;     // requests sent first, excluded from the figures
    Slo slo;
    bool ignore_eos = true;
    double temperature = 0.0;
    double timeout_s = 600;  // longest wait for any byte of one request
    nlohmann::json extra_body = nlohmann::json::object();  // merged into every request
    bool progress = true;                // a progress bar on stderr when it is a terminal
    double think_time_s = 0;             // multi-turn: a user's pause before each later turn
    int64_t long_context_tokens = 2000;  // TTFT of prompts longer than this, apart (0: off)
};

Status validate(const BenchServeOptions& o);

// One measured request, as the client saw it.
struct RequestResult {
    bool ok = false;
    std::string error;
    int32_t session = 0, turn = 0;
    double start_s = 0;  // since the benchmark started
    double ttft_ms = 0, e2e_ms = 0;
    std::vector<double> itl_ms;  // gaps between successive chunks with content
    int64_t prompt_tokens = 0;   // from usage (0 when the server sent none)
    int64_t output_tokens = 0;   // usage.completion_tokens, else content chunks
    int64_t cached_tokens = 0;   // usage.prompt_tokens_details.cached_tokens
    int32_t requested_output = 0;
    std::string text;
    double tpot_ms() const;  // (e2e - ttft) / (output_tokens - 1); 0 for one token
};

// The figures of one run (flat keys shared with `bench engine`). With
// `long_context_tokens` > 0, requests whose prompt is longer get their own
// TTFT figures under "long_context" (where prefix re-use and KV tiers matter).
nlohmann::json summarize_results(const std::vector<RequestResult>& r, double duration_s,
                                 const Slo& slo, int64_t long_context_tokens = 0);

// Runs the benchmark (every rate of `sweep`, when given); prints the human
// table to `out`; returns every figure and the run's parameters.
Expected<nlohmann::json> run_bench_serve(const BenchServeOptions& o, std::ostream& out,
                                         const std::vector<double>& sweep = {});

// The table `run_bench_serve` prints for one run's JSON.
void print_serve_table(const nlohmann::json& j, std::ostream& out);

// SVG of a sweep's JSON: TTFT, TPOT and E2E percentiles against output tokens/s.
std::string sweep_svg(const nlohmann::json& sweep_result);

}  // namespace ig
