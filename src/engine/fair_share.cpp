#include "engine/fair_share.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>
#include <tuple>

namespace ig {
namespace {

int32_t seats_of(const GroupSeats& held, uint64_t group) {
    return held.of(group);
}

}  // namespace

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

Sequence* FairShare::pick(const RequestQueue& q, const GroupSeats& held, TimePoint now) const {
    const std::deque<Sequence*>* best_class = nullptr;
    int64_t best_eff = std::numeric_limits<int64_t>::max();
    // Classes come in base-priority order: on equal effective priority the
    // more urgent base class wins.
    q.for_each_class([&](int32_t, const std::deque<Sequence*>& c) {
        for (const Sequence* s : c) {
            const int64_t e = effective_priority(*s, now);
            if (e < best_eff) {
                best_eff = e;
                best_class = &c;
            }
        }
    });
    if (best_class == nullptr) return nullptr;
    Sequence* out = nullptr;
    int32_t out_seats = std::numeric_limits<int32_t>::max();
    for (Sequence* s : *best_class) {
        const int32_t n = seats_of(held, s->group);
        if (n < out_seats) {
            out = s;
            out_seats = n;
        }
    }
    return out;
}

bool FairShare::yields_to(const Sequence& v, int32_t v_seats, const Sequence& s, int32_t want,
                          const GroupSeats& held, TimePoint now) const {
    if (v.priority != s.priority)
        return v.priority > s.priority && effective_priority(v, now) > effective_priority(s, now);
    if (v.group == s.group) return false;
    // After the swap the waiting group must still hold no more than v's:
    // otherwise the two would take the seat back and forth.
    return seats_of(held, v.group) - v_seats >= seats_of(held, s.group) + want;
}

bool FairShare::preempt_first(const Sequence& a, const Sequence& b, const GroupSeats& held) {
    const int32_t ga = seats_of(held, a.group), gb = seats_of(held, b.group);
    return std::tie(a.priority, ga, a.arrival_seq, a.choice) >
           std::tie(b.priority, gb, b.arrival_seq, b.choice);
}

}  // namespace ig
