#pragma once
// `infergrid bench engine`: offline serving benchmarks through the Engine API
// (no HTTP) with random token ids, and the `model` workload (issue 3's
// kernel-level figures: pp512, tg128, batched decode, memory bandwidth).
#include <cstdint>
#include <iosfwd>
#include <string>

#include <nlohmann/json.hpp>

#include "util/expected.h"

namespace ig {

struct BenchEngineOptions {
    std::string model;
    std::string workload = "model";  // model | decode-scaling | shared-prefix | multi-turn |
                                     // long-prompt-arrivals
    int threads = 0;
    bool prefix_cache = true;
    bool chunked_prefill = true;
    int64_t kv_bytes = 0;  // 0: 1 GiB (the benchmark's own default, not the engine's)
    int32_t max_num_batched_tokens = 512;
    int32_t max_num_partial_prefills = 1;  // 0: no limit
    int32_t long_prefill_tokens = 32;
    std::string kv_type = "f16";
    uint64_t seed = 1;
    // Workload sizes; 0 picks the workload's default (see bench_engine.cpp).
    int32_t num_requests = 0;    // shared-prefix questions, multi-turn conversations, arrivals
    int32_t output_len = 0;      // tokens generated per request (model: batch decode steps)
    int32_t prompt_len = 0;      // system prompt / long prompt / short prompt length
    int32_t concurrency = 0;     // multi-turn slots, long-prompt-arrivals running decodes
    int32_t turns = 0;           // multi-turn turns per conversation (0: 4)
    bool rotate_turns = false;   // multi-turn: conversations take turns in rotation
    int32_t first_turn_len = 0;  // multi-turn: new tokens of the first turn (0: prompt_len)
    // KV tiers below the pool (0 / empty: off).
    int64_t kv_host_bytes = 0;
    std::string kv_disk_dir;
    int64_t kv_disk_bytes = 0;
    bool kv_write_behind = true;         // full blocks written to the tiers as they fill
    std::string kv_disk_sync = "batch";  // off, batch, always
};

// Runs the workload, prints a human table to `out` and returns the figures.
Expected<nlohmann::json> run_bench_engine(const BenchEngineOptions& o, std::ostream& out);

}  // namespace ig
