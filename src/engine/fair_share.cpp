#include "engine/fair_share.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>
#include <optional>
#include <tuple>

namespace ig {
void GroupSeats::finish() {
    std::sort(seats_.begin(), seats_.end());
    size_t out = 0;
    for (size_t i = 0; i < seats_.size(); ++i) {
        if (out > 0 && seats_[out - 1].first == seats_[i].first)
            seats_[out - 1].second += seats_[i].second;
        else
            seats_[out++] = seats_[i];
    }
    seats_.resize(out);
}

int32_t GroupSeats::of(uint64_t group) const {
    const auto it = std::lower_bound(seats_.begin(), seats_.end(), std::pair{group, INT32_MIN});
    return it != seats_.end() && it->first == group ? it->second : 0;
}

int64_t FairShare::effective_priority(const Sequence& s, TimePoint now) const {
    if (aging_seconds_ <= 0 || s.times.arrival == TimePoint{}) return s.priority;
    const double waited = std::chrono::duration<double>(now - s.times.arrival).count();
    if (waited <= 0) return s.priority;
    // Capped so that the subtraction cannot overflow (priorities are bounded far below).
    const double classes = std::min(std::floor(waited / aging_seconds_), 1e12);
    return static_cast<int64_t>(s.priority) - static_cast<int64_t>(classes);
}

Sequence* FairShare::pick(const RequestQueue& q, const Held& held, TimePoint now) const {
    // Aging lifts a class up to the most urgent class waiting, not past it:
    // within that class, age must not outrank the fair shares (else a flood
    // that has waited would go before a newly arrived tenant).
    std::optional<int64_t> floor;
    q.for_each_class([&](int32_t prio, const std::deque<Sequence*>& c) {
        if (!floor && !c.empty()) floor = prio;
    });
    if (!floor) return nullptr;
    // Most urgent effective class, then the least served tenant, then the
    // group holding the fewest seats, then the longest waiting, then queue order.
    Sequence* out = nullptr;
    int64_t out_eff = 0;
    double out_counter = 0;
    int32_t out_seats = 0;
    q.for_each_class([&](int32_t, const std::deque<Sequence*>& c) {
        for (Sequence* s : c) {
            const int64_t e = std::max(effective_priority(*s, now), *floor);
            const double k = counter(*s);
            const int32_t n = held.groups.of(s->group);
            if (out == nullptr ||
                std::tie(e, k, n, s->times.arrival) <
                    std::tie(out_eff, out_counter, out_seats, out->times.arrival)) {
                out = s;
                out_eff = e;
                out_counter = k;
                out_seats = n;
            }
        }
    });
    return out;
}

bool FairShare::yields_to(const Sequence& v, int32_t v_seats, const Sequence& s, int32_t want,
                          const Held& held, TimePoint now) const {
    if (v.priority != s.priority)
        return v.priority > s.priority && effective_priority(v, now) > effective_priority(s, now);
    // After the swap the waiting side must still hold no more seats than v's:
    // otherwise the two would take the seat back and forth.
    if (tokens_ && v.tenant != s.tenant)
        return counter(v) > counter(s) &&
               held.tenants.of(v.tenant) - v_seats >= held.tenants.of(s.tenant) + want;
    if (v.group == s.group) return false;
    return held.groups.of(v.group) - v_seats >= held.groups.of(s.group) + want;
}

bool FairShare::preempt_first(const Sequence& a, const Sequence& b, const Held& held) const {
    const int32_t ga = held.groups.of(a.group), gb = held.groups.of(b.group);
    const double ca = counter(a), cb = counter(b);
    return std::tie(a.priority, ca, ga, a.arrival_seq, a.choice) >
           std::tie(b.priority, cb, gb, b.arrival_seq, b.choice);
}

}  // namespace ig
