#include "engine/token_counters.h"

#include <algorithm>
#include <limits>

namespace ig {

namespace {
constexpr size_t kPruneAbove = 4096;
}

TokenCounters::Entry* TokenCounters::find(uint64_t tenant) {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), tenant,
                               [](const Entry& e, uint64_t t) { return e.tenant < t; });
    return it != entries_.end() && it->tenant == tenant ? &*it : nullptr;
}

const TokenCounters::Entry* TokenCounters::find(uint64_t tenant) const {
    return const_cast<TokenCounters*>(this)->find(tenant);
}

double TokenCounters::min_active() const {
    double m = std::numeric_limits<double>::infinity();
    for (const Entry& e : entries_)
        if (e.sequences > 0) m = std::min(m, e.counter);
    return active_tenants_ == 0 ? 0.0 : m;
}

void TokenCounters::arrive(uint64_t tenant, double weight, std::string_view label) {
    Entry* e = find(tenant);
    if (e == nullptr) {
        if (entries_.size() >= kPruneAbove) prune();
        auto it = std::lower_bound(entries_.begin(), entries_.end(), tenant,
                                   [](const Entry& x, uint64_t t) { return x.tenant < t; });
        it = entries_.insert(it, Entry{tenant, 0.0, 1.0, 0, std::string(label)});
        e = &*it;
    }
    e->weight = weight > 0 ? weight : 1.0;
    if (e->sequences == 0) {
        // Into an idle engine: level with the most served tenant, so that a
        // tenant that had the engine to itself before is not behind others
        // for tokens nobody else wanted.
        e->counter = std::max(e->counter, active_tenants_ > 0 ? min_active() : high_water_);
        ++active_tenants_;
    }
    ++e->sequences;
}

void TokenCounters::leave(uint64_t tenant) {
    Entry* e = find(tenant);
    if (e == nullptr || e->sequences == 0) return;
    if (--e->sequences == 0) --active_tenants_;
}

void TokenCounters::charge(uint64_t tenant, int64_t tokens) {
    if (Entry* e = find(tenant)) {
        e->counter += static_cast<double>(tokens) / e->weight;
        high_water_ = std::max(high_water_, e->counter);
    }
}

double TokenCounters::counter(uint64_t tenant) const {
    const Entry* e = find(tenant);
    return e ? e->counter : 0.0;
}

void TokenCounters::lags(std::vector<TenantLag>& out) const {
    const double m = min_active();
    size_t n = 0;
    for (const Entry& e : entries_) {
        if (e.sequences == 0) continue;
        if (n == out.size()) out.emplace_back();
        out[n].tenant.assign(e.label);
        out[n].tokens = e.counter - m;
        ++n;
    }
    out.resize(n);
}

void TokenCounters::prune() {
    std::erase_if(entries_, [](const Entry& e) { return e.sequences == 0; });
}

}  // namespace ig
