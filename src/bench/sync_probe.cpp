#include "bench/sync_probe.h"

#include <algorithm>
#include <atomic>
#include <chrono>

namespace ig {

double measure_sync_us_per_job(ThreadPool& pool, int jobs, int reps) {
    if (pool.size() == 1 || jobs <= 0) return 0.0;
    // A relaxed counter keeps the body from being optimised away without
    // adding contention worth measuring.
    std::atomic<int64_t> touched{0};
    double best = 1e30;
    for (int r = 0; r < reps; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        for (int j = 0; j < jobs; ++j)
            pool.parallel_for(pool.size(), 1, [&](int64_t b, int64_t e) {
                touched.fetch_add(e - b, std::memory_order_relaxed);
            });
        best = std::min(
            best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return best * 1e6 / jobs;
}

}  // namespace ig
