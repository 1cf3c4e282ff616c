// Sampler micro-benchmarks: time per sample() over one sequence's logits.
//
//   ./build/release/bench/sampler_bench [--benchmark_filter=TopP]
// The logits are LLM-like: Gaussian noise plus a few dozen strong tokens, so
// top-p keeps a realistic handful of candidates.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "engine/sampler.h"

namespace ig {
namespace {

std::vector<float> llm_like_logits(size_t n) {
    std::mt19937_64 rng(7);
    std::normal_distribution<float> d(0.0f, 2.0f);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    for (size_t i = 0; i < 40; ++i) v[(i * 7919) % n] += 12.0f - 0.25f * static_cast<float>(i);
    return v;
}

void run(benchmark::State& state, const SamplingParams& p) {
    const auto vocab = static_cast<size_t>(state.range(0));
    const auto logits = llm_like_logits(vocab);
    std::vector<float> work = logits;
    Sampler s(p, static_cast<int32_t>(vocab), 1);
    const bool modifies = !p.logit_bias.empty() || p.repetition_penalty != 1.0f;
    for (auto _ : state) {
        // sample() changes logits in place only for bias / penalties.
        if (modifies) std::copy(logits.begin(), logits.end(), work.begin());
        benchmark::DoNotOptimize(s.sample(work).token);
    }
    state.SetItemsProcessed(state.iterations());
}

void BM_Greedy(benchmark::State& state) {
    SamplingParams p;
    p.temperature = 0.0f;
    run(state, p);
}
void BM_Temperature(benchmark::State& state) {  // whole vocabulary, no filter
    SamplingParams p;
    p.temperature = 0.8f;
    run(state, p);
}
void BM_TopP(benchmark::State& state) {
    SamplingParams p;
    p.temperature = 0.8f;
    p.top_p = 0.95f;
    run(state, p);
}
void BM_TopK40(benchmark::State& state) {
    SamplingParams p;
    p.temperature = 0.8f;
    p.top_k = 40;
    run(state, p);
}
void BM_TopPLogprobs5(benchmark::State& state) {
    SamplingParams p;
    p.temperature = 0.8f;
    p.top_p = 0.95f;
    p.logprobs = true;
    p.top_logprobs = 5;
    run(state, p);
}
void BM_PenaltiesTopP(benchmark::State& state) {  // includes re-copying the logits
    SamplingParams p;
    p.temperature = 0.8f;
    p.top_p = 0.95f;
    p.repetition_penalty = 1.1f;
    p.frequency_penalty = 0.3f;
    run(state, p);
}

#define IG_SAMPLER_BENCH(fn) BENCHMARK(fn)->Arg(32000)->Arg(151936)->Unit(benchmark::kMicrosecond)
IG_SAMPLER_BENCH(BM_Greedy);
IG_SAMPLER_BENCH(BM_Temperature);
IG_SAMPLER_BENCH(BM_TopP);
IG_SAMPLER_BENCH(BM_TopK40);
IG_SAMPLER_BENCH(BM_TopPLogprobs5);
IG_SAMPLER_BENCH(BM_PenaltiesTopP);

}  // namespace
}  // namespace ig

BENCHMARK_MAIN();
