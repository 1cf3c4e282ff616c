// Kernel micro-benchmarks. matmul (float path) and matmul_q8 (integer path,
// activation quantization included) report weight bytes/s (bytes_per_second)
// so decode (M = 1) can be read against the machine's memory bandwidth,
// which BM_MemRead measures with a plain streaming read of the same size.
//
//   ./build/release/bench/kernels_bench [--benchmark_filter=matmul/avx2]
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernels.h"
#include "tensor/dtype.h"
#include "tensor/quantize.h"

namespace ig {
namespace {

// Weights are replicated until they fill this many bytes and each iteration
// uses the next copy, so a matrix that would fit in the L3 cache is still
// read from DRAM, as in a real model whose layers evict each other.
constexpr size_t kMinFootprint = size_t{256} << 20;

struct WeightSet {
    DType t{};
    int64_t K = 0, N = 0;
    size_t stride = 0, bytes = 0;  // one row, one matrix
    int copies = 0;
    std::vector<uint8_t> data;
};

// The most recently used weights; benchmarks are registered grouped by type
// and shape, so each set is built once.
const WeightSet& weights(DType t, int64_t K, int64_t N) {
    static std::unique_ptr<WeightSet> cached;
    if (cached && cached->t == t && cached->K == K && cached->N == N) return *cached;
    cached.reset();
    auto ws = std::make_unique<WeightSet>();
    ws->t = t;
    ws->K = K;
    ws->N = N;
    ws->stride = *row_bytes(t, static_cast<uint64_t>(K));
    ws->bytes = ws->stride * static_cast<size_t>(N);
    ws->copies = static_cast<int>((kMinFootprint + ws->bytes - 1) / ws->bytes);
    ws->data.resize(ws->bytes * static_cast<size_t>(ws->copies));
    std::mt19937 rng(42);
    std::normal_distribution<float> dist(0.0f, 0.02f);
    std::vector<float> row(static_cast<size_t>(K));
    for (int64_t n = 0; n < N; ++n) {
        for (float& f : row) f = dist(rng);
        quantize_row(t, row.data(), ws->data.data() + static_cast<size_t>(n) * ws->stride, K);
    }
    for (int c = 1; c < ws->copies; ++c)
        std::memcpy(ws->data.data() + static_cast<size_t>(c) * ws->bytes, ws->data.data(),
                    ws->bytes);
    cached = std::move(ws);
    return *cached;
}

// The float path; `packed`: matmul_f_packed on weights packed before the
// timing (as the model does at load).
void BM_Matmul(benchmark::State& state, Isa isa, DType t, int64_t K, int64_t N, int64_t M,
               bool packed) {
    const KernelTable& kt = kernel_table(isa);
    const WeightSet& w = weights(t, K, N);
    const size_t pbytes = packed ? f_packed_bytes(t, N, K) : 0;
    std::vector<uint8_t> wp(pbytes * static_cast<size_t>(w.copies));
    for (int c = 0; packed && c < w.copies; ++c)
        pack_f_weights(t, w.data.data() + static_cast<size_t>(c) * w.bytes, w.stride, N, K, 0,
                       panel_count(N), wp.data() + c * pbytes);
    std::mt19937 rng(7);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(M * K)), y(static_cast<size_t>(M * N));
    for (float& f : x) f = dist(rng);
    int copy = 0;
    for (auto _ : state) {
        const uint8_t* W = w.data.data() + static_cast<size_t>(copy) * w.bytes;
        if (packed)
            kt.matmul_f_packed(t, wp.data() + static_cast<size_t>(copy) * pbytes, x.data(), K,
                               y.data(), N, M, K, 0, N);
        else
            kt.matmul(t, W, w.stride, x.data(), K, y.data(), N, M, K, 0, N);
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
        copy = (copy + 1) % w.copies;
    }
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w.bytes));
    state.counters["GFLOP/s"] =
        benchmark::Counter(2.0 * static_cast<double>(M * N * K) * state.iterations() * 1e-9,
                           benchmark::Counter::kIsRate);
}

// The integer path: X quantized once per call (included), then matmul_q8,
// or matmul_q8_packed on weights packed before the timing (as the model
// does at load).
void BM_MatmulQ8(benchmark::State& state, Isa isa, DType t, int64_t K, int64_t N, int64_t M,
                 bool packed) {
    const KernelTable& kt = kernel_table(isa);
    const WeightSet& w = weights(t, K, N);
    const size_t pbytes = packed ? q8_packed_bytes(t, N, K) : 0;
    std::vector<uint8_t> wp(pbytes * static_cast<size_t>(w.copies));
    for (int c = 0; packed && c < w.copies; ++c)
        pack_q8_weights(t, w.data.data() + static_cast<size_t>(c) * w.bytes, w.stride, N, K, 0,
                        panel_count(N), wp.data() + c * pbytes);
    std::mt19937 rng(7);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(M * K)), y(static_cast<size_t>(M * N));
    std::vector<uint8_t> xq(q8_row_bytes(K) * static_cast<size_t>(M));
    for (float& f : x) f = dist(rng);
    int copy = 0;
    for (auto _ : state) {
        const uint8_t* W = w.data.data() + static_cast<size_t>(copy) * w.bytes;
        kt.quantize_rows_q8(x.data(), K, M, K, xq.data());
        if (packed)
            kt.matmul_q8_packed(t, wp.data() + static_cast<size_t>(copy) * pbytes, xq.data(),
                                y.data(), N, M, K, 0, N);
        else
            kt.matmul_q8(t, W, w.stride, xq.data(), y.data(), N, M, K, 0, N);
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
        copy = (copy + 1) % w.copies;
    }
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w.bytes));
    state.counters["GFLOP/s"] =
        benchmark::Counter(2.0 * static_cast<double>(M * N * K) * state.iterations() * 1e-9,
                           benchmark::Counter::kIsRate);
}

// Streaming read of kMinFootprint bytes, split across the benchmark's
// threads: the bandwidth that a memory-bound M = 1 matmul on that many cores
// can at best reach (the denominator of decode efficiency).
void BM_MemRead(benchmark::State& state) {
    static std::vector<uint64_t> buf(kMinFootprint / 8, 1);
    const size_t part = buf.size() / static_cast<size_t>(state.threads()) / 4 * 4;
    const size_t begin = part * static_cast<size_t>(state.thread_index());
    for (auto _ : state) {
        uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (size_t i = begin; i < begin + part; i += 4) {
            s0 += buf[i];
            s1 += buf[i + 1];
            s2 += buf[i + 2];
            s3 += buf[i + 3];
        }
        benchmark::DoNotOptimize(s0 + s1 + s2 + s3);
    }
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(part * 8));
}

// The attention's two products per 16-key chunk: 112 query rows (16 tokens
// x 7 heads) x 64 dims x 16 keys, then 112 x 16 probabilities x 64 dims.
void BM_GemmNn(benchmark::State& state, Isa isa, int64_t M, int64_t K, int64_t N, bool acc) {
    const KernelTable& kt = kernel_table(isa);
    std::mt19937 rng(5);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(M * K)), b(static_cast<size_t>(K * N)),
        y(static_cast<size_t>(M * N));
    for (float& f : x) f = dist(rng);
    for (float& f : b) f = dist(rng) * 0.01f;
    for (auto _ : state) {
        kt.gemm_nn(x.data(), K, b.data(), N, y.data(), N, M, K, N, acc);
        benchmark::DoNotOptimize(y.data());
    }
    state.counters["GFLOP/s"] =
        benchmark::Counter(2.0 * static_cast<double>(M * N * K) * state.iterations() * 1e-9,
                           benchmark::Counter::kIsRate);
}

void BM_Softmax(benchmark::State& state, Isa isa) {
    const KernelTable& kt = kernel_table(isa);
    std::vector<float> x(static_cast<size_t>(state.range(0)));
    std::mt19937 rng(3);
    std::normal_distribution<float> dist(0.0f, 3.0f);
    for (float& f : x) f = dist(rng);
    // In place, over and over: the output is as good an input as any, and a
    // copy per iteration would cost more than the kernel.
    for (auto _ : state) {
        kt.softmax(x.data(), static_cast<int64_t>(x.size()));
        benchmark::DoNotOptimize(x.data());
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_Rmsnorm(benchmark::State& state, Isa isa) {
    const KernelTable& kt = kernel_table(isa);
    const auto n = static_cast<size_t>(state.range(0));
    std::vector<float> x(n, 0.5f), w(n, 1.0f), y(n);
    for (auto _ : state) {
        kt.rmsnorm(x.data(), w.data(), y.data(), static_cast<int64_t>(n), 1e-5f);
        benchmark::DoNotOptimize(y.data());
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_SiluMul(benchmark::State& state, Isa isa) {
    const KernelTable& kt = kernel_table(isa);
    const auto n = static_cast<size_t>(state.range(0));
    std::vector<float> g(n, -0.7f), u(n, 1.3f), out(n);
    for (auto _ : state) {
        kt.silu_mul(g.data(), u.data(), out.data(), static_cast<int64_t>(n));
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}

// Attention over one KV head: dot with every F16 key, then axpy every value.
void BM_AttentionF16(benchmark::State& state, Isa isa) {
    const KernelTable& kt = kernel_table(isa);
    constexpr int64_t kHead = 128;
    const int64_t ctx = state.range(0);
    std::vector<uint16_t> kv(static_cast<size_t>(ctx * kHead));
    std::vector<float> tmp(static_cast<size_t>(kHead), 0.1f), q(tmp), out(tmp);
    for (int64_t t = 0; t < ctx; ++t) kt.store_kv(tmp.data(), &kv[t * kHead], DType::F16, kHead);
    for (auto _ : state) {
        for (int64_t t = 0; t < ctx; ++t) {
            const float s = kt.dot_kv(q.data(), &kv[t * kHead], DType::F16, kHead);
            kt.axpy_kv(s * 1e-3f, &kv[t * kHead], DType::F16, out.data(), kHead);
        }
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(state.iterations() * ctx * kHead * 2 * 2);
}

std::vector<Isa> isas() {
    std::vector<Isa> v;
    for (Isa isa : {Isa::Avx512, Isa::Avx2, Isa::Scalar})
        if (isa_supported(isa)) v.push_back(isa);
    return v;
}

void register_all() {
    benchmark::RegisterBenchmark("memread/256MiB", BM_MemRead)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->ThreadRange(1, 2);
    const std::pair<int64_t, int64_t> shapes[] = {{2048, 5632}, {5632, 2048}};  // K, N
    const std::vector<int64_t> plain_ms = {1, 4, 16, 64, 256}, kquant_ms = {1, 4, 16, 64};
    for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_K,
                    DType::Q5_K, DType::Q6_K}) {
        const bool kquant = t == DType::Q4_K || t == DType::Q5_K || t == DType::Q6_K;
        for (auto [K, N] : shapes) {
            for (int64_t M : kquant ? kquant_ms : plain_ms) {
                for (Isa isa : isas()) {
                    const std::string name = "matmul/" + std::string(isa_name(isa)) + "/" +
                                             std::string(dtype_name(t)) +
                                             "/K:" + std::to_string(K) + "/N:" + std::to_string(N) +
                                             "/M:" + std::to_string(M);
                    benchmark::RegisterBenchmark(name.c_str(), BM_Matmul, isa, t, K, N, M, false)
                        ->Unit(benchmark::kMillisecond)
                        ->MinTime(0.3);
                    if (f_packable(t))
                        benchmark::RegisterBenchmark(("matmul_f_packed" + name.substr(6)).c_str(),
                                                     BM_Matmul, isa, t, K, N, M, true)
                            ->Unit(benchmark::kMillisecond)
                            ->MinTime(0.3);
                    if (!matmul_q8_supports(t)) continue;
                    benchmark::RegisterBenchmark(("matmul_q8" + name.substr(6)).c_str(),
                                                 BM_MatmulQ8, isa, t, K, N, M, false)
                        ->Unit(benchmark::kMillisecond)
                        ->MinTime(0.3);
                    if (!q8_packable(t)) continue;
                    benchmark::RegisterBenchmark(("matmul_q8_packed" + name.substr(6)).c_str(),
                                                 BM_MatmulQ8, isa, t, K, N, M, true)
                        ->Unit(benchmark::kMillisecond)
                        ->MinTime(0.3);
                }
            }
        }
    }
    for (Isa isa : isas()) {
        const std::string s(isa_name(isa));
        benchmark::RegisterBenchmark(("softmax/" + s).c_str(), BM_Softmax, isa)->Arg(4096);
        benchmark::RegisterBenchmark(("gemm_nn_qk/" + s).c_str(), BM_GemmNn, isa, 112, 64, 16,
                                     false);
        benchmark::RegisterBenchmark(("gemm_nn_pv/" + s).c_str(), BM_GemmNn, isa, 112, 16, 64,
                                     true);
        benchmark::RegisterBenchmark(("rmsnorm/" + s).c_str(), BM_Rmsnorm, isa)->Arg(4096);
        benchmark::RegisterBenchmark(("silu_mul/" + s).c_str(), BM_SiluMul, isa)->Arg(14336);
        benchmark::RegisterBenchmark(("attention_f16/" + s).c_str(), BM_AttentionF16, isa)
            ->Arg(4096);
    }
}

}  // namespace
}  // namespace ig

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    ig::register_all();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
