#include "util/metrics.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace ig::metrics {

const char* type_name(MetricType t) {
    switch (t) {
        case MetricType::Counter:
            return "counter";
        case MetricType::Gauge:
            return "gauge";
        case MetricType::Histogram:
            return "histogram";
    }
    return "untyped";
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
    for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double v) {
    if (std::isnan(v)) return;
    // Bucket `le` holds v <= le: the first bound not below v.
    const size_t i =
        static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
    Snapshot s;
    s.cumulative.resize(bounds_.size() + 1);
    uint64_t acc = 0;
    for (size_t i = 0; i <= bounds_.size(); ++i) {
        acc += counts_[i].load(std::memory_order_relaxed);
        s.cumulative[i] = acc;
    }
    s.count = acc;
    s.sum = sum_.load(std::memory_order_relaxed);
    return s;
}

std::vector<double> exponential_buckets(double start, double factor, int count) {
    std::vector<double> b;
    double v = start;
    for (int i = 0; i < count; ++i, v *= factor) b.push_back(v);
    return b;
}

std::vector<double> latency_buckets() {
    return {0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75,
            1,     2.5,    5,     7.5,  10,   20,   40,   80,   160, 320,  640};
}

std::vector<double> fine_latency_buckets() {
    return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.015, 0.02,
            0.025,  0.03,    0.04,   0.05,  0.075,  0.1,   0.15, 0.2,   0.3,
            0.4,    0.5,     0.75,   1,     2.5,    5,     10};
}

std::vector<double> token_count_buckets() {
    std::vector<double> b;
    for (double v = 1; v <= 131072; v *= 2) {
        b.push_back(v);
        if (v >= 8 && v < 131072) b.push_back(v * 1.5);
    }
    return b;
}

std::string escape_label_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string escape_help(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string format_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    return fmt::format("{}", v);
}

namespace {

bool name_char(char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
}

bool valid_identifier(std::string_view n) {
    if (n.empty()) return false;
    for (size_t i = 0; i < n.size(); ++i)
        if (!name_char(n[i], i == 0)) return false;
    return true;
}

void append_labels(std::string& out, const Labels& labels, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
    if (labels.empty() && extra_name.empty()) return;
    out += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
        if (!first) out += ',';
        first = false;
        out += k;
        out += "=\"";
        out += escape_label_value(v);
        out += '"';
    }
    if (!extra_name.empty()) {
        if (!first) out += ',';
        out += extra_name;
        out += "=\"";
        out += extra_value;
        out += '"';
    }
    out += '}';
}

Labels zip(const std::vector<std::string>& names, const std::vector<std::string>& values) {
    Labels l;
    for (size_t i = 0; i < names.size(); ++i) l.emplace_back(names[i], values[i]);
    return l;
}

}  // namespace

bool valid_metric_name(std::string_view name) {
    return valid_identifier(name);
}

bool valid_label_name(std::string_view name) {
    return valid_identifier(name) && name.substr(0, 2) != "__" && name != "le";
}

void MetricWriter::header(std::string_view name, std::string_view help, MetricType type) {
    if (!seen_.emplace(name).second) return;
    out_ +=
        fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape_help(help), name, type_name(type));
}

void MetricWriter::sample(std::string_view name, std::string_view help, MetricType type,
                          double value, const Labels& labels) {
    header(name, help, type);
    out_ += name;
    append_labels(out_, labels);
    out_ += ' ';
    out_ += format_value(value);
    out_ += '\n';
}

void MetricWriter::histogram(std::string_view name, std::string_view help,
                             const std::vector<double>& bounds, const Histogram::Snapshot& snap,
                             const Labels& labels) {
    header(name, help, MetricType::Histogram);
    for (size_t i = 0; i <= bounds.size(); ++i) {
        out_ += name;
        out_ += "_bucket";
        append_labels(out_, labels, "le",
                      i < bounds.size() ? format_value(bounds[i]) : std::string("+Inf"));
        out_ += ' ';
        out_ += std::to_string(snap.cumulative[i]);
        out_ += '\n';
    }
    out_ += fmt::format("{}_sum", name);
    append_labels(out_, labels);
    out_ += ' ' + format_value(snap.sum) + '\n';
    out_ += fmt::format("{}_count", name);
    append_labels(out_, labels);
    out_ += ' ' + std::to_string(snap.count) + '\n';
}

Registry::Entry& Registry::entry(const std::string& name, MetricType type,
                                 const std::vector<std::string>& labels) {
    if (!valid_metric_name(name))
        throw std::invalid_argument(fmt::format("invalid metric name '{}'", name));
    for (const std::string& l : labels)
        if (!valid_label_name(l))
            throw std::invalid_argument(fmt::format("metric {}: invalid label name '{}'", name, l));
    for (auto& [n, e] : families_) {
        if (n != name) continue;
        const std::vector<std::string>* have = nullptr;
        if (e.counter) have = &e.counter->label_names();
        if (e.gauge) have = &e.gauge->label_names();
        if (e.histogram) have = &e.histogram->label_names();
        if (e.type != type || *have != labels)
            throw std::invalid_argument(
                fmt::format("metric {} is already registered with another type or labels", name));
        return e;
    }
    families_.emplace_back(name, Entry{type, nullptr, nullptr, nullptr});
    return families_.back().second;
}

CounterFamily& Registry::counter(std::string name, std::string help,
                                 std::vector<std::string> label_names) {
    std::lock_guard lk(mu_);
    Entry& e = entry(name, MetricType::Counter, label_names);
    if (!e.counter)
        e.counter = std::make_unique<CounterFamily>(std::move(name), std::move(help),
                                                    std::move(label_names));
    return *e.counter;
}

GaugeFamily& Registry::gauge(std::string name, std::string help,
                             std::vector<std::string> label_names) {
    std::lock_guard lk(mu_);
    Entry& e = entry(name, MetricType::Gauge, label_names);
    if (!e.gauge)
        e.gauge =
            std::make_unique<GaugeFamily>(std::move(name), std::move(help), std::move(label_names));
    return *e.gauge;
}

HistogramFamily& Registry::histogram(std::string name, std::string help,
                                     std::vector<std::string> label_names,
                                     std::vector<double> bounds) {
    if (bounds.empty() || !std::is_sorted(bounds.begin(), bounds.end()) ||
        std::adjacent_find(bounds.begin(), bounds.end()) != bounds.end() ||
        !std::isfinite(bounds.back()))
        throw std::invalid_argument(
            fmt::format("metric {}: bucket bounds must be finite and strictly ascending", name));
    std::lock_guard lk(mu_);
    Entry& e = entry(name, MetricType::Histogram, label_names);
    if (!e.histogram)
        e.histogram = std::make_unique<HistogramFamily>(std::move(name), std::move(help),
                                                        std::move(label_names), std::move(bounds));
    return *e.histogram;
}

void Registry::add_collector(Collector c) {
    std::lock_guard lk(mu_);
    collectors_.push_back(std::move(c));
}

std::string Registry::render() const {
    std::string out;
    out.reserve(16 << 10);
    MetricWriter w(out);
    std::lock_guard lk(mu_);
    // Not a structured binding: lambdas below use the names, which clang
    // before 16 (the fuzz build) does not let them capture.
    for (const auto& family : families_) {
        const std::string& name = family.first;
        const Entry& e = family.second;
        if (e.counter) {
            w.header(name, e.counter->help(), MetricType::Counter);
            e.counter->for_each([&](const std::vector<std::string>& key, const Counter& c) {
                w.counter(name, e.counter->help(), c.value(), zip(e.counter->label_names(), key));
            });
        } else if (e.gauge) {
            w.header(name, e.gauge->help(), MetricType::Gauge);
            e.gauge->for_each([&](const std::vector<std::string>& key, const Gauge& g) {
                w.gauge(name, e.gauge->help(), g.value(), zip(e.gauge->label_names(), key));
            });
        } else if (e.histogram) {
            w.header(name, e.histogram->help(), MetricType::Histogram);
            e.histogram->for_each([&](const std::vector<std::string>& key, const Histogram& h) {
                w.histogram(name, e.histogram->help(), h.bounds(), h.snapshot(),
                            zip(e.histogram->label_names(), key));
            });
        }
    }
    for (const Collector& c : collectors_) c(w);
    return out;
}

BoundedLabel::BoundedLabel(size_t cap, std::string overflow)
    : cap_(cap), overflow_(std::move(overflow)) {}

std::string BoundedLabel::fold(std::string_view raw) {
    if (raw.empty()) return "none";
    if (raw.size() > 64) return "invalid";
    for (char c : raw)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return "invalid";
    std::lock_guard lk(mu_);
    if (known_.count(std::string(raw))) return std::string(raw);
    if (known_.size() >= cap_) return overflow_;
    known_.emplace(raw);
    return std::string(raw);
}

void BoundedLabel::set_cap(size_t cap) {
    std::lock_guard lk(mu_);
    cap_ = cap;
}

size_t BoundedLabel::size() const {
    std::lock_guard lk(mu_);
    return known_.size();
}

}  // namespace ig::metrics
