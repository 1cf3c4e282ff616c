#pragma once
// A sliding-window counter for per-minute limits: counts in fixed time slots
// (60 one-second slots by default), so "how much in the last minute" is a sum
// of slots and "when will N more fit" is exact, without keeping one entry per
// event.
//
// The window held is slots + 1 slots: the current (partial) slot and the
// `slots` before it, i.e. between W and W + one slot of time. Checking that
// span (not just W) is what makes the budget hold over *every* W-long
// interval: an interval of length W touches at most slots + 1 slots, so the
// last admission inside it saw everything else admitted in it. The price is
// a long-run rate of at most slots/(slots+1) of the budget.
#include <cstdint>
#include <vector>

namespace ig::tenants {

class RateWindow {
  public:
    // `slots` slots of `slot_ms` each; the window is slots * slot_ms long.
    RateWindow(int32_t slots, int64_t slot_ms);

    // Counts in the window ending at `now_ms` (unix ms).
    int64_t total(int64_t now_ms);
    // Adds `n` at `now_ms`; returns the slot charged (for refund). A clock
    // that went back charges the newest slot held.
    int64_t add(int64_t now_ms, int64_t n);
    // Takes back up to `n` from `slot` if the window still holds it (a slot
    // already out of the window no longer limits anyone).
    void refund(int64_t slot, int64_t n);
    // Milliseconds from `now_ms` until `need` more fits under `budget`,
    // assuming nothing else is added (refunds only make it sooner): 0 when it
    // fits now, -1 when it never can (need > budget).
    int64_t wait_ms(int64_t now_ms, int64_t need, int64_t budget);
    // Whether every slot is zero at `now_ms` (the state can be dropped).
    bool empty(int64_t now_ms) { return total(now_ms) == 0; }

    int32_t slots() const { return static_cast<int32_t>(counts_.size()) - 1; }
    int64_t slot_ms() const { return slot_ms_; }

  private:
    int64_t slot_of(int64_t now_ms) const;
    // Moves the newest slot to `slot`, zeroing the slots that leave the window.
    void advance(int64_t slot);
    int64_t& at(int64_t slot);

    std::vector<int64_t> counts_;  // ring of slots + 1, indexed slot % size
    int64_t slot_ms_;
    int64_t head_;  // newest slot held; kNone before the first add
};

}  // namespace ig::tenants
