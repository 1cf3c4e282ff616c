// Sampler micro-benchmarks: time per sample() over one sequence's logits.
//
//   ./build/release/bench/sampler_bench [--benchmark_filter=TopP]
// The logits are Gaussian noise (sd 2) plus 40 strong tokens. Second argument
// 0 "peaked": the strong tokens stand 20..10 above the noise, which holds
// little mass (top-p keeps a handful); 1 "flat tail": they stand 12..2 above
// it and the noise holds about a quarter of the mass at temperature 0.8, so
// top-p 0.95 must keep tens of thousands of tokens.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "engine/sampler.h"

namespace ig {
namespace {

std::vector<float> llm_like_logits(size_t n, bool flat_tail) {
    std::mt19937_64 rng(7);
    std::normal_distribution<float> d(0.0f, 2.0f);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    const float top = flat_tail ? 12.0f : 20.0f;
    for (size_t i = 0; i < 40; ++i) v[(i * 7919) % n] += top - 0.25f * static_cast<float>(i);
    return v;
}

void run(benchmark::State& state, const SamplingParams& p) {
    const auto vocab = static_cast<size_t>(state.range(0));
    const auto logits = llm_like_logits(vocab, state.range(1) != 0);
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

#define IG_SAMPLER_BENCH(fn)                     \
    BENCHMARK(fn)                                \
        ->ArgNames({"vocab", "flat_tail"})       \
        ->ArgsProduct({{32000, 151936}, {0, 1}}) \
        ->Unit(benchmark::kMicrosecond)
IG_SAMPLER_BENCH(BM_Greedy);
IG_SAMPLER_BENCH(BM_Temperature);
IG_SAMPLER_BENCH(BM_TopP);
IG_SAMPLER_BENCH(BM_TopK40);
IG_SAMPLER_BENCH(BM_TopPLogprobs5);
IG_SAMPLER_BENCH(BM_PenaltiesTopP);

}  // namespace
}  // namespace ig

BENCHMARK_MAIN();
