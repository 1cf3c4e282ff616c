#pragma once
// Who is admitted next, and who gives up a seat, when requests compete
// (vLLM's scheduling policy, plus the rules that keep one client from
// starving the others):
//   1. Priority classes with aging: a sequence's effective priority is its
//      priority minus one class per `aging_seconds` since it arrived, down to
//      the most urgent class waiting, so a low class waits a bounded time
//      however much urgent work keeps coming (0: strict priority); age does
//      not order sequences within a class (rules 2-4 do).
//   2. Within a class, tenants by their virtual token counters (TokenCounters:
//      the tenant that has received the fewest weighted tokens goes first), and
//      a running sequence of a tenant ahead gives its seat to a waiting one of
//      a tenant behind when its tenant holds more seats even after the swap
//      (so no seat goes back and forth: the swap cannot be undone at once).
//   3. Within a tenant, max-min fair share between request groups (one HTTP
//      request with its prompts and choices is one group): the group holding
//      the fewest seats goes first, and a running sequence of a group holding
//      more seats than the waiting one's would after the swap gives its seat
//      up (preempted by recompute). Alone, a group may use every seat.
//   4. Then the longest waiting (preempted sequences keep their arrival time).
#include <chrono>
#include <cstdint>
#include <utility>
#include <vector>

#include "engine/request_queue.h"
#include "engine/sequence.h"
#include "engine/token_counters.h"

namespace ig {

// Seats held per key (request group, tenant) by running and loading sequences. A sorted
// vector, recounted every step: its capacity is kept, so a step allocates
// nothing once the engine has warmed up (a hash map would, per node).
class GroupSeats {
  public:
    void clear() { seats_.clear(); }
    void add(uint64_t group, int32_t n) { seats_.push_back({group, n}); }
    // Merges the entries of each group; call after the adds, before lookups.
    void finish();
    int32_t of(uint64_t group) const;

  private:
    std::vector<std::pair<uint64_t, int32_t>> seats_;
};

class FairShare {
  public:
    using TimePoint = std::chrono::steady_clock::time_point;

    // `tokens`: the tenants' counters, or null for no fairness between tenants.
    FairShare(double aging_seconds, const TokenCounters* tokens)
        : aging_seconds_(aging_seconds), tokens_(tokens) {}

    // Seats held per group and per tenant.
    struct Held {
        const GroupSeats& groups;
        const GroupSeats& tenants;
    };

    int64_t effective_priority(const Sequence& s, TimePoint now) const;
    // The sequence to admit next from q (nullptr when q is empty).
    Sequence* pick(const RequestQueue& q, const Held& held, TimePoint now) const;
    // Whether running `v` gives its `v_seats` seats to waiting `s`, which needs `want`.
    bool yields_to(const Sequence& v, int32_t v_seats, const Sequence& s, int32_t want,
                   const Held& held, TimePoint now) const;
    // Preemption order when blocks or seats run out: whether `a` goes before
    // `b` (less urgent class, then the tenant furthest ahead, then the group
    // holding more seats, then later arrival).
    bool preempt_first(const Sequence& a, const Sequence& b, const Held& held) const;

  private:
    double counter(const Sequence& s) const { return tokens_ ? tokens_->counter(s.tenant) : 0.0; }

    double aging_seconds_;
    const TokenCounters* tokens_;
};

}  // namespace ig
