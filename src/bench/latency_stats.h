#pragma once
// Distributions of latencies as vLLM's benchmark_serving reports them
// (mean, median, p90, p95, p99, max; percentiles interpolated linearly like
// numpy.percentile), and the flat JSON names both `bench serve` and
// `bench engine` emit: mean_ttft_ms, median_ttft_ms, p99_itl_ms, ...
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ig {

struct Distribution {
    size_t count = 0;
    double mean = 0, median = 0, p90 = 0, p95 = 0, p99 = 0, max = 0, min = 0, stddev = 0;
};

// Linear interpolation between closest ranks (numpy's default); 0 when empty.
double interpolated_percentile(std::vector<double> v, double p);
Distribution describe(std::vector<double> v);

// Writes mean_<name>_ms, median_<name>_ms, p90_/p95_/p99_/max_<name>_ms into `j`.
void put_distribution(nlohmann::json& j, std::string_view name, const Distribution& d);

}  // namespace ig
