#include "bench/latency_stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

namespace ig {
namespace {

double sorted_percentile(const std::vector<double>& v, double p) {
    if (v.empty()) return 0;
    const double pos = std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(v.size() - 1);
    const auto lo = static_cast<size_t>(std::floor(pos));
    const size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

}  // namespace

double interpolated_percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return sorted_percentile(v, p);
}

Distribution describe(std::vector<double> v) {
    Distribution d;
    if (v.empty()) return d;
    std::sort(v.begin(), v.end());
    d.count = v.size();
    const double n = static_cast<double>(v.size());
    d.mean = std::accumulate(v.begin(), v.end(), 0.0) / n;
    double ss = 0;
    for (double x : v) ss += (x - d.mean) * (x - d.mean);
    d.stddev = std::sqrt(ss / n);
    d.median = sorted_percentile(v, 50);
    d.p90 = sorted_percentile(v, 90);
    d.p95 = sorted_percentile(v, 95);
    d.p99 = sorted_percentile(v, 99);
    d.min = v.front();
    d.max = v.back();
    return d;
}

void put_distribution(nlohmann::json& j, std::string_view name, const Distribution& d) {
    const std::string n(name);
    j["mean_" + n + "_ms"] = d.mean;
    j["median_" + n + "_ms"] = d.median;
    j["std_" + n + "_ms"] = d.stddev;
    j["p90_" + n + "_ms"] = d.p90;
    j["p95_" + n + "_ms"] = d.p95;
    j["p99_" + n + "_ms"] = d.p99;
    j["max_" + n + "_ms"] = d.max;
}

}  // namespace ig
