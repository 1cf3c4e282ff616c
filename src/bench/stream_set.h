#pragma once
// Client side of the engine benchmarks: streams in flight, their events
// gathered with the engine's timestamps, and latency statistics.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/latency_stats.h"
#include "engine/engine.h"

namespace ig {

using BenchClock = std::chrono::steady_clock;

struct RequestTrace {
    BenchClock::time_point submitted{};
    std::vector<BenchClock::time_point> token_times;  // one per token event
    std::vector<int32_t> tokens;
    Usage usage;
    std::optional<FinishReason> finish;
    std::string error;
    int32_t tag = 0;  // the workload's label (turn, role, ...)

    double ttft_ms() const;
    void add_itls(std::vector<double>& out_ms) const;
};

// Streams being read; poll() waits until any of them pushed something.
class StreamSet {
  public:
    // Submits and tracks; the returned index names the trace.
    Expected<size_t> submit(Engine& e, GenerationRequest req, int32_t tag = 0);
    // Waits up to `timeout` for events, then gathers all of them.
    void poll(std::chrono::milliseconds timeout);
    bool all_finished() const { return active_ == 0; }
    size_t active() const { return active_; }
    const RequestTrace& trace(size_t i) const { return traces_[i]; }
    const std::vector<RequestTrace>& traces() const { return traces_; }
    bool finished(size_t i) const { return traces_[i].finish.has_value(); }

  private:
    struct Shared {
        std::mutex mu;
        std::condition_variable cv;
        bool pending = false;
    };
    std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
    std::vector<std::shared_ptr<RequestStream>> streams_;
    std::vector<RequestTrace> traces_;
    size_t active_ = 0;
};

struct LatencySummary {
    size_t n_requests = 0;
    double mean_ttft_ms = 0, p50_ttft_ms = 0, p99_ttft_ms = 0;
    double mean_itl_ms = 0, p99_itl_ms = 0, max_itl_ms = 0;
    int64_t prompt_tokens = 0, cached_tokens = 0, output_tokens = 0;
    // Full distributions, as `bench serve` reports them (vLLM's definitions;
    // TPOT excludes the first token, E2E runs from submit to the last token).
    Distribution ttft, tpot, itl, e2el;
    // Writes mean_/median_/p90_/p95_/p99_/max_{ttft,tpot,itl,e2el}_ms into j.
    void put_distributions(nlohmann::json& j) const;
    double prefix_hit_rate() const {
        return prompt_tokens ? static_cast<double>(cached_tokens) / prompt_tokens : 0.0;
    }
    nlohmann::json to_json() const;
};

LatencySummary summarize(const std::vector<const RequestTrace*>& traces);
double percentile(std::vector<double> v, double p);  // nearest rank; 0 when empty

}  // namespace ig
