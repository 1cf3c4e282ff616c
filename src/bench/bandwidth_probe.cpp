#include "bench/bandwidth_probe.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
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

ReadProbe::ReadProbe(ThreadPool& pool, size_t bytes) : pool_(pool) {
    constexpr size_t kHugePage = size_t{2} << 20;
    bytes = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    buf_.reset(static_cast<uint64_t*>(std::aligned_alloc(kHugePage, bytes)));
    if (!buf_) return;
    ::madvise(buf_.get(), bytes, MADV_HUGEPAGE);  // advisory
    words_ = bytes / sizeof(uint64_t);
    // First touch on the pool's threads, as the passes will.
    pool_.parallel_for(static_cast<int64_t>(words_), 1 << 16, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) buf_[static_cast<size_t>(i)] = static_cast<uint64_t>(i);
    });
}

double ReadProbe::pass_gb_per_s() {
    if (!buf_) return 0.0;
    const int64_t threads = pool_.size();
    const int64_t share = static_cast<int64_t>(words_) / threads;
    std::atomic<uint64_t> sink{0};  // read after, so the loads stay
    const auto t0 = std::chrono::steady_clock::now();
    // One contiguous share per thread, as a thread's panels in a matmul.
    pool_.parallel_for(threads, 1, [&](int64_t t0i, int64_t t1i) {
        for (int64_t t = t0i; t < t1i; ++t) {
            const uint64_t* p = buf_.get() + t * share;
            uint64_t a = 0, b = 0, c = 0, d = 0;
            for (int64_t i = 0; i + 4 <= share; i += 4) {
                a += p[i];
                b += p[i + 1];
                c += p[i + 2];
                d += p[i + 3];
            }
            sink.fetch_xor(a ^ b ^ c ^ d, std::memory_order_relaxed);
        }
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    volatile uint64_t kept = sink.load(std::memory_order_relaxed);
    (void)kept;
    return static_cast<double>(share * threads) * sizeof(uint64_t) / s / 1e9;
}

}  // namespace ig
