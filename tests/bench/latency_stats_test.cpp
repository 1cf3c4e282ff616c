// Percentiles as numpy.percentile computes them (linear interpolation).
#include <gtest/gtest.h>

#include "bench/latency_stats.h"

namespace ig {
namespace {

TEST(LatencyStats, InterpolatedPercentilesMatchNumpy) {
    // numpy.percentile([1..10], p): 50 -> 5.5, 90 -> 9.1, 99 -> 9.91
    std::vector<double> v{7, 1, 10, 3, 2, 9, 4, 8, 6, 5};
    EXPECT_DOUBLE_EQ(interpolated_percentile(v, 50), 5.5);
    EXPECT_NEAR(interpolated_percentile(v, 90), 9.1, 1e-12);
    EXPECT_NEAR(interpolated_percentile(v, 99), 9.91, 1e-12);
    EXPECT_DOUBLE_EQ(interpolated_percentile(v, 0), 1);
    EXPECT_DOUBLE_EQ(interpolated_percentile(v, 100), 10);
    EXPECT_DOUBLE_EQ(interpolated_percentile({}, 50), 0);
    EXPECT_DOUBLE_EQ(interpolated_percentile({42}, 99), 42);
}

TEST(LatencyStats, DescribeAndJsonNames) {
    const Distribution d = describe({4, 1, 3, 2});
    EXPECT_EQ(d.count, 4u);
    EXPECT_DOUBLE_EQ(d.mean, 2.5);
    EXPECT_DOUBLE_EQ(d.median, 2.5);
    EXPECT_NEAR(d.p95, 3.85, 1e-12);
    EXPECT_DOUBLE_EQ(d.max, 4);
    EXPECT_DOUBLE_EQ(d.min, 1);
    EXPECT_NEAR(d.stddev, 1.118033988749895, 1e-12);
    nlohmann::json j;
    put_distribution(j, "ttft", d);
    for (const char* k : {"mean_ttft_ms", "median_ttft_ms", "std_ttft_ms", "p90_ttft_ms",
                          "p95_ttft_ms", "p99_ttft_ms", "max_ttft_ms"})
        EXPECT_TRUE(j.contains(k)) << k;
    EXPECT_DOUBLE_EQ(j["max_ttft_ms"].get<double>(), 4);
    EXPECT_EQ(describe({}).count, 0u);
}

}  // namespace
}  // namespace ig
