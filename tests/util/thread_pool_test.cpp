#include "util/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace ig {

TEST(ThreadPool, CoversEveryIndexExactlyOnce) {
    for (int threads : {1, 2, 4}) {
        ThreadPool pool(threads);
        for (int64_t n : {0, 1, 7, 1000, 12345}) {
            std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
            pool.parallel_for(n, 3, [&](int64_t b, int64_t e) {
                for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
            });
            for (auto& h : hits) ASSERT_EQ(h.load(), 1);
        }
    }
}

TEST(ThreadPool, ManyJobsInARow) {
    ThreadPool pool(3);
    std::atomic<int64_t> sum{0};
    for (int it = 0; it < 2000; ++it)
        pool.parallel_for(64, 1, [&](int64_t b, int64_t e) { sum += e - b; });
    EXPECT_EQ(sum.load(), 2000 * 64);
}

TEST(ThreadPool, CountsTheJobsItDispatches) {
    ThreadPool pool(2);
    int64_t items = 0;
    pool.parallel_for(100, 200, [&](int64_t b, int64_t e) { items += e - b; });  // inline
    EXPECT_EQ(pool.jobs_dispatched(), 0u);
    std::atomic<int64_t> sum{0};
    for (int it = 0; it < 5; ++it)
        pool.parallel_for(100, 1, [&](int64_t b, int64_t e) { sum += e - b; });
    EXPECT_EQ(pool.jobs_dispatched(), 5u);
    EXPECT_EQ(items + sum.load(), 600);

    ThreadPool single(1);
    single.parallel_for(100, 1, [](int64_t, int64_t) {});
    EXPECT_EQ(single.jobs_dispatched(), 0u);
}

}  // namespace ig
