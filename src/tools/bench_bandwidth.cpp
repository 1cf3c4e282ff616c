#include "tools/bench_bandwidth.h"

#include <algorithm>
#include <chrono>
#include <memory>

namespace ig {

double measure_triad_gb_per_s(ThreadPool& pool, int64_t n, int reps) {
    std::unique_ptr<float[]> a(new float[static_cast<size_t>(n)]);
    std::unique_ptr<float[]> b(new float[static_cast<size_t>(n)]);
    std::unique_ptr<float[]> c(new float[static_cast<size_t>(n)]);
    // First touch on the pool's threads, as the passes will.
    pool.parallel_for(n, 1 << 16, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
            a[i] = 0.0f;
            b[i] = 1.0f;
            c[i] = 2.0f;
        }
    });
    double best = 1e30;
    const float s = 3.0f;
    for (int r = 0; r < reps; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        pool.parallel_for(n, 1 << 16, [&](int64_t i0, int64_t i1) {
            float* __restrict pa = a.get();
            const float* __restrict pb = b.get();
            const float* __restrict pc = c.get();
            for (int64_t i = i0; i < i1; ++i) pa[i] = pb[i] + s * pc[i];
        });
        best = std::min(
            best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    volatile float sink = a[static_cast<size_t>(n / 2)];
    (void)sink;
    return 3.0 * 4.0 * static_cast<double>(n) / best / 1e9;
}

}  // namespace ig
