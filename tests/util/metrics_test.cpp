#include "util/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <thread>

namespace ig::metrics {
namespace {

TEST(Metrics, HistogramBucketsAreCumulativeWithLeInclusive) {
    Histogram h({0.1, 1, 10});
    for (double v : {0.05, 0.1, 0.5, 1.0, 3.0, 100.0}) h.observe(v);
    h.observe(std::nan(""));  // ignored
    const auto s = h.snapshot();
    ASSERT_EQ(s.cumulative.size(), 4u);
    EXPECT_EQ(s.cumulative[0], 2u);  // 0.05, 0.1 (le is inclusive)
    EXPECT_EQ(s.cumulative[1], 4u);  // + 0.5, 1.0
    EXPECT_EQ(s.cumulative[2], 5u);  // + 3.0
    EXPECT_EQ(s.cumulative[3], 6u);  // + 100 in +Inf
    EXPECT_EQ(s.count, 6u);
    EXPECT_DOUBLE_EQ(s.sum, 0.05 + 0.1 + 0.5 + 1.0 + 3.0 + 100.0);
}

TEST(Metrics, ConcurrentUpdatesAreNotLost) {
    Registry reg;
    Counter& c = reg.counter("ig_test_total", "t").with({});
    Histogram& h = reg.histogram("ig_test_seconds", "t", {}, {0.5}).with({});
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t)
        ts.emplace_back([&] {
            for (int i = 0; i < 10000; ++i) {
                c.inc();
                h.observe(i % 2 ? 1.0 : 0.25);
            }
        });
    for (auto& t : ts) t.join();
    EXPECT_EQ(c.value(), 40000);
    const auto s = h.snapshot();
    EXPECT_EQ(s.count, 40000u);
    EXPECT_EQ(s.cumulative[0], 20000u);
    EXPECT_DOUBLE_EQ(s.sum, 20000 * 1.0 + 20000 * 0.25);
}

TEST(Metrics, RendersTextFormatWithEscapedLabels) {
    Registry reg;
    auto& req =
        reg.counter("ig_requests_total", "Requests by reason.\nSecond line", {"model", "reason"});
    req.with({"m\"1", "stop"}).inc(3);
    req.with({"a\\b\nc", "length"}).inc();
    auto& lat = reg.histogram("ig_latency_seconds", "Latency.", {"model"}, {0.5, 2});
    lat.with({"m"}).observe(1);
    reg.gauge("ig_empty", "No series yet.", {"model"});
    reg.add_collector([](MetricWriter& w) {
        w.gauge("ig_collected", "From a collector.", 1.5, {{"k", "v"}});
        w.gauge("ig_collected", "From a collector.", std::numeric_limits<double>::infinity(),
                {{"k", "w"}});
    });
    const std::string text = reg.render();
    EXPECT_NE(text.find("# HELP ig_requests_total Requests by reason.\\nSecond line\n"
                        "# TYPE ig_requests_total counter\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("ig_requests_total{model=\"m\\\"1\",reason=\"stop\"} 3\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("ig_requests_total{model=\"a\\\\b\\nc\",reason=\"length\"} 1\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("# TYPE ig_latency_seconds histogram\n"
                        "ig_latency_seconds_bucket{model=\"m\",le=\"0.5\"} 0\n"
                        "ig_latency_seconds_bucket{model=\"m\",le=\"2\"} 1\n"
                        "ig_latency_seconds_bucket{model=\"m\",le=\"+Inf\"} 1\n"
                        "ig_latency_seconds_sum{model=\"m\"} 1\n"
                        "ig_latency_seconds_count{model=\"m\"} 1\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("# TYPE ig_empty gauge\n"), std::string::npos);
    // One header per name even when a collector writes several series.
    EXPECT_EQ(text.find("# TYPE ig_collected gauge"), text.rfind("# TYPE ig_collected gauge"));
    EXPECT_NE(text.find("ig_collected{k=\"w\"} +Inf\n"), std::string::npos) << text;
}

TEST(Metrics, RegistrationIsIdempotentAndRejectsConflicts) {
    Registry reg;
    auto& a = reg.counter("ig_x_total", "x", {"model"});
    auto& b = reg.counter("ig_x_total", "x", {"model"});
    EXPECT_EQ(&a, &b);
    EXPECT_EQ(&a.with({"m"}), &b.with({"m"}));
    EXPECT_THROW(reg.gauge("ig_x_total", "x", {"model"}), std::invalid_argument);
    EXPECT_THROW(reg.counter("ig_x_total", "x", {"tenant"}), std::invalid_argument);
    EXPECT_THROW(reg.counter("vllm:x", "x"), std::invalid_argument);
    EXPECT_THROW(reg.counter("ig_y", "y", {"le"}), std::invalid_argument);
    EXPECT_THROW(reg.histogram("ig_h", "h", {}, {2, 1}), std::invalid_argument);
}

TEST(Metrics, BoundedLabelCapsCardinality) {
    BoundedLabel tenants(2);
    EXPECT_EQ(tenants.fold("acme"), "acme");
    EXPECT_EQ(tenants.fold("globex"), "globex");
    EXPECT_EQ(tenants.fold("initech"), "other");
    EXPECT_EQ(tenants.fold("acme"), "acme");
    EXPECT_EQ(tenants.fold(""), "none");
    EXPECT_EQ(tenants.fold("bad\"id"), "invalid");
    EXPECT_EQ(tenants.fold(std::string(65, 'a')), "invalid");
    EXPECT_EQ(tenants.size(), 2u);
}

TEST(Metrics, FormatsValuesForPrometheus) {
    EXPECT_EQ(format_value(0.25), "0.25");
    EXPECT_EQ(format_value(3), "3");
    EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
    EXPECT_EQ(format_value(std::nan("")), "NaN");
    EXPECT_EQ(std::stod(format_value(1e-7)), 1e-7);
}

}  // namespace
}  // namespace ig::metrics
