// Cost of the metrics hot path: one histogram observation, one counter
// increment (alone and with two threads contending), the per-step work
// (step observer + one inter-token observation per sequence), and whole
// engine decode steps with the step observer on and off.
//
//   ./build/release/bench/server_bench [--benchmark_filter=EngineStep]
#include <benchmark/benchmark.h>

#include <filesystem>
#include <memory>
#include <random>
#include <thread>

#include "engine/engine.h"
#include "model/llama_model.h"
#include "model_tools/synth.h"
#include "server/server_metrics.h"
#include "util/metrics.h"
#include "util/thread_pool.h"

namespace ig {
namespace {

void BM_HistogramObserve(benchmark::State& state) {
    static metrics::Histogram h(metrics::fine_latency_buckets());
    double v = 0.0001;
    for (auto _ : state) {
        h.observe(v);
        v = v < 5 ? v * 1.37 : 0.0001;
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramObserve)->Threads(1)->Threads(2);

void BM_CounterInc(benchmark::State& state) {
    static metrics::Counter c;
    for (auto _ : state) c.inc();
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CounterInc)->Threads(1)->Threads(2);

// What metrics add to one engine step of `seqs` decoding sequences: the
// step observer (engine thread) and one inter-token observation per token
// (IO threads).
void BM_StepMetrics(benchmark::State& state) {
    auto m = server::ServerMetrics::create("bench");
    auto observer = m->step_observer();
    const int seqs = static_cast<int>(state.range(0));
    for (auto _ : state) {
        observer({0.01, seqs, seqs});
        for (int i = 0; i < seqs; ++i) m->observe_inter_token(0.01);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StepMetrics)->Arg(1)->Arg(16)->Arg(64);

// Whole decode steps of a synthetic tiny llama, 16 sequences, with the
// metrics step observer (arg 1) or without (arg 0). Reports time per step.
void BM_EngineStep(benchmark::State& state) {
    static std::shared_ptr<LlamaModel> model = [] {
        const std::string path =
            (std::filesystem::temp_directory_path() / "ig-server-bench-tiny.gguf").string();
        ThreadPool pool(1);
        if (!synth_model(*synth_preset("tiny-llama"), DType::F32, 7, path, pool).ok())
            return std::shared_ptr<LlamaModel>();
        auto m = LlamaModel::load(path);
        return m.ok() ? std::shared_ptr<LlamaModel>(std::move(m).value()) : nullptr;
    }();
    if (!model) return state.SkipWithError("could not synthesise the model");
    auto metrics = server::ServerMetrics::create("bench");
    EngineConfig cfg;
    cfg.kv_bytes = 16 << 20;
    cfg.threads = 1;
    if (state.range(0)) cfg.step_observer = metrics->step_observer();
    auto engine = Engine::create(model, nullptr, cfg);
    if (!engine.ok()) return state.SkipWithError(engine.error().message.c_str());
    std::mt19937 rng(1);
    uint64_t steps = 0;
    for (auto _ : state) {
        const uint64_t before = (*engine)->stats().steps;
        std::vector<std::shared_ptr<RequestStream>> streams;
        for (int i = 0; i < 16; ++i) {
            GenerationRequest r;
            for (int t = 0; t < 8; ++t) r.prompt.push_back(static_cast<int32_t>(rng() % 200 + 3));
            r.sampling.temperature = 0;
            r.stop.max_tokens = 64;
            r.stop.ignore_eos = true;
            auto s = (*engine)->submit(std::move(r));
            if (!s.ok()) return state.SkipWithError(s.error().message.c_str());
            streams.push_back(*s);
        }
        for (auto& s : streams)
            while (!s->finished()) {
                StreamEvent ev;
                s->pop(ev, std::chrono::milliseconds(100));
            }
        // Let the engine publish the last step before reading its counter.
        while ((*engine)->stats().running > 0) std::this_thread::yield();
        steps += (*engine)->stats().steps - before;
    }
    state.counters["steps"] = double(steps);
    state.counters["us_per_step"] = benchmark::Counter(
        double(steps) * 1e-6, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_EngineStep)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace ig

BENCHMARK_MAIN();
