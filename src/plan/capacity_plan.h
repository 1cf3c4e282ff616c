#pragma once
// `infergrid plan`: capacity arithmetic for serving a model — replicas for a
// traffic at an SLO, weight and KV-cache bytes, sequences that fit in a
// replica's memory, and the prefix-cache working set a KV tier must hold.
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "util/expected.h"

namespace ig {

struct PlanInputs {
    // The model: a GGUF file, or its shape by hand.
    std::string model_path;
    std::optional<double> params;  // parameter count (weight bytes by hand)
    std::optional<int64_t> layers, kv_heads, head_dim;
    std::string dtype = "f16";     // weights, by hand (f32, f16, bf16, q8_0, q4_0, q4_k, q6_k, ...)
    std::string kv_dtype = "f16";  // KV cache elements: f16, f32 (what serve --kv-type holds)
    // Traffic (or --from-bench FILE.json of a real run).
    std::optional<double> qps, prompt_tokens, output_tokens;
    std::string from_bench;
    // One replica: output tokens/s it sustains at the SLO (or a bench JSON,
    // possibly a sweep: the best run meeting the SLO), and its memory.
    std::optional<double> tokens_per_s;
    std::string replica_bench;
    std::optional<double> slo_ttft_ms, slo_tpot_ms, slo_e2e_ms;  // picks the sweep run (p99s)
    std::optional<double> memory_bytes;
    double headroom = 1.3;
    std::optional<int64_t> context;      // tokens per sequence (default prompt + output)
    std::optional<int64_t> concurrency;  // sequences in flight per replica
    // Prefix cache working set.
    std::optional<double> hit_rate;  // target fraction of prompt tokens served from cache
    std::optional<int64_t> distinct_prefixes, prefix_tokens;
};

// Bytes per element of a KV/weight dtype name (q8_0: 34 bytes per 32).
Expected<double> bytes_per_element(const std::string& dtype);

// Computes every figure the inputs allow; refuses nonsense with a message
// that names the flag.
Expected<nlohmann::json> make_plan(const PlanInputs& in);
void print_plan(const nlohmann::json& plan, std::ostream& out);

}  // namespace ig
