#pragma once
// Prometheus-style metrics: counters, gauges and histograms in labelled
// families, kept in a Registry that renders the text exposition format
// (version 0.0.4) for GET /metrics.
//
// Hot path: a metric object (Counter, Gauge, Histogram) is a few atomics;
// updating it is lock-free (relaxed fetch_add / store). Looking a labelled
// child up (`family.with({...})`) takes the family's mutex, so callers that
// update per token or per step look their children up once and keep the
// reference (children live as long as the registry, addresses are stable).
//
// Values that already live elsewhere (engine snapshots, /proc) are reported
// by collectors: callbacks run at render time that write whole families
// through a MetricWriter.
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace ig::metrics {

enum class MetricType { Counter, Gauge, Histogram };
const char* type_name(MetricType t);  // "counter", "gauge", "histogram"

// Label (name, value) pairs of one series, in the family's label order.
using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
  public:
    void inc(double v = 1) { v_.fetch_add(v, std::memory_order_relaxed); }  // v >= 0
    double value() const { return v_.load(std::memory_order_relaxed); }

  private:
    std::atomic<double> v_{0};
};

class Gauge {
  public:
    void set(double v) { v_.store(v, std::memory_order_relaxed); }
    void add(double v) { v_.fetch_add(v, std::memory_order_relaxed); }
    double value() const { return v_.load(std::memory_order_relaxed); }

  private:
    std::atomic<double> v_{0};
};

// Fixed upper bounds (ascending, finite); +Inf is implicit. Per-bucket
// counts are kept non-cumulative and summed up when rendered.
class Histogram {
  public:
    explicit Histogram(std::vector<double> bounds);
    void observe(double v);
    const std::vector<double>& bounds() const { return bounds_; }
    struct Snapshot {
        std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
        double sum = 0;
        uint64_t count = 0;
    };
    Snapshot snapshot() const;

  private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1
    std::atomic<double> sum_{0};
};

// Bucket layouts. Latencies cover CPU and GPU serving: 1 ms to 10 min.
std::vector<double> latency_buckets();
// Short per-token gaps and step times: 0.1 ms to 10 s.
std::vector<double> fine_latency_buckets();
// Token counts: 1 to 128k, roughly x2 steps.
std::vector<double> token_count_buckets();
// `count` bounds start, start*factor, ...
std::vector<double> exponential_buckets(double start, double factor, int count);

// A family: one metric name, help text, fixed label names, one child per
// distinct label-value tuple.
template <class M>
class Family {
  public:
    Family(std::string name, std::string help, std::vector<std::string> label_names,
           std::vector<double> bounds = {})
        : name_(std::move(name)),
          help_(std::move(help)),
          label_names_(std::move(label_names)),
          bounds_(std::move(bounds)) {}

    const std::string& name() const { return name_; }
    const std::string& help() const { return help_; }
    const std::vector<std::string>& label_names() const { return label_names_; }

    // The child for these label values (as many as label_names(), same
    // order; missing values are empty, extra ones ignored). Created on first use.
    M& with(std::initializer_list<std::string_view> values) {
        return with(std::span<const std::string_view>(values.begin(), values.size()));
    }
    M& with(std::span<const std::string_view> values) {
        std::vector<std::string> key(label_names_.size());
        for (size_t i = 0; i < key.size() && i < values.size(); ++i) key[i] = values[i];
        std::lock_guard lk(mu_);
        auto it = children_.find(key);
        if (it == children_.end()) it = children_.emplace(std::move(key), make()).first;
        return *it->second;
    }
    // Visits (label values, child) in label order; for the renderer.
    template <class F>
    void for_each(F&& f) const {
        std::lock_guard lk(mu_);
        for (const auto& [key, child] : children_) f(key, *child);
    }

  private:
    std::unique_ptr<M> make() const {
        if constexpr (std::is_same_v<M, Histogram>)
            return std::make_unique<M>(bounds_);
        else
            return std::make_unique<M>();
    }

    std::string name_, help_;
    std::vector<std::string> label_names_;
    std::vector<double> bounds_;
    mutable std::mutex mu_;
    std::map<std::vector<std::string>, std::unique_ptr<M>> children_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// Writes families in the text format; collectors get one at render time.
// Each name's HELP/TYPE header is written once, before its first sample.
class MetricWriter {
  public:
    explicit MetricWriter(std::string& out) : out_(out) {}
    // One sample of a counter or gauge family.
    void sample(std::string_view name, std::string_view help, MetricType type, double value,
                const Labels& labels = {});
    void counter(std::string_view name, std::string_view help, double value,
                 const Labels& labels = {}) {
        sample(name, help, MetricType::Counter, value, labels);
    }
    void gauge(std::string_view name, std::string_view help, double value,
               const Labels& labels = {}) {
        sample(name, help, MetricType::Gauge, value, labels);
    }
    // One series of a histogram family (buckets, _sum, _count).
    void histogram(std::string_view name, std::string_view help, const std::vector<double>& bounds,
                   const Histogram::Snapshot& snap, const Labels& labels = {});
    // Only the header (a family with no series yet still announces itself).
    void header(std::string_view name, std::string_view help, MetricType type);

  private:
    std::string& out_;
    std::unordered_set<std::string> seen_;
};

// Text format helpers (exposed for tests).
std::string escape_label_value(std::string_view v);  // \ " and newline
std::string escape_help(std::string_view v);         // \ and newline
std::string format_value(double v);                  // +Inf, -Inf, NaN, shortest round-trip
bool valid_metric_name(std::string_view name);       // [a-zA-Z_][a-zA-Z0-9_]*, no colons
bool valid_label_name(std::string_view name);        // [a-zA-Z_][a-zA-Z0-9_]*, not __*

using Collector = std::function<void(MetricWriter&)>;

// Owns the families. Registration happens at start-up; asking again for a
// name with the same type and labels returns the existing family (so two
// components may share one). A name registered with another type or other
// labels, or an invalid name, is a programming error: std::invalid_argument.
class Registry {
  public:
    CounterFamily& counter(std::string name, std::string help,
                           std::vector<std::string> label_names = {});
    GaugeFamily& gauge(std::string name, std::string help,
                       std::vector<std::string> label_names = {});
    HistogramFamily& histogram(std::string name, std::string help,
                               std::vector<std::string> label_names, std::vector<double> bounds);
    // Runs at every render(), after the registered families, in order added.
    void add_collector(Collector c);
    std::string render() const;

  private:
    struct Entry {
        MetricType type;
        std::unique_ptr<CounterFamily> counter;
        std::unique_ptr<GaugeFamily> gauge;
        std::unique_ptr<HistogramFamily> histogram;
    };
    Entry& entry(const std::string& name, MetricType type, const std::vector<std::string>& labels);

    mutable std::mutex mu_;
    std::vector<std::pair<std::string, Entry>> families_;  // registration order
    std::vector<Collector> collectors_;
};

// Folds an unbounded label value (tenant ids) into a bounded set: the first
// `cap` distinct valid values are kept, later ones become `overflow`; empty
// values become `none`, values that are not 1..64 chars of [A-Za-z0-9_.-]
// become `invalid`. Thread-safe; call once per request, not per token.
class BoundedLabel {
  public:
    explicit BoundedLabel(size_t cap, std::string overflow = "other");
    std::string fold(std::string_view raw);
    size_t size() const;
    // Values already kept stay; only later ones see the new cap.
    void set_cap(size_t cap);

  private:
    size_t cap_;
    const std::string overflow_;
    mutable std::mutex mu_;
    std::unordered_set<std::string> known_;
};

}  // namespace ig::metrics
