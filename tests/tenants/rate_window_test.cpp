// RateWindow: exact boundaries of the sliding window, refunds, and a wait
// that is exactly long enough.
#include "tenants/rate_window.h"

#include <gtest/gtest.h>

namespace ig::tenants {
namespace {

TEST(RateWindow, CountsWithinTheWindowAndForgetsAfterIt) {
    RateWindow w(60, 1000);
    const int64_t t0 = 1'000'000;  // a slot boundary
    w.add(t0, 10);
    w.add(t0 + 999, 5);
    EXPECT_EQ(w.total(t0 + 999), 15);
    w.add(t0 + 30'000, 7);
    EXPECT_EQ(w.total(t0 + 30'000), 22);
    // The slot of t0 stays in the window for slots + 1 slots (61 s), so any
    // 60 s interval is covered by what one admission sees.
    EXPECT_EQ(w.total(t0 + 60'999), 22);
    EXPECT_EQ(w.total(t0 + 61'000), 7);
    EXPECT_EQ(w.total(t0 + 91'000), 0);
    EXPECT_TRUE(w.empty(t0 + 91'000));
}

TEST(RateWindow, WaitIsExactlyUntilEnoughLeaves) {
    RateWindow w(60, 1000);
    const int64_t t0 = 5'000'000;
    w.add(t0 + 200, 60);     // slot 5000
    w.add(t0 + 10'500, 30);  // slot 5010
    EXPECT_EQ(w.wait_ms(t0 + 20'000, 10, 100), 0);
    EXPECT_EQ(w.wait_ms(t0 + 20'000, 11, 100), 41'000);
    // At the time it names, the request fits; a millisecond before it does not.
    const int64_t now = t0 + 20'250;
    const int64_t wait = w.wait_ms(now, 50, 100);
    EXPECT_EQ(now + wait, t0 + 61'000);
    EXPECT_GT(w.total(now + wait - 1) + 50, 100);
    EXPECT_LE(w.total(now + wait) + 50, 100);
    // Needing more than what the first slot frees: until the second leaves too.
    EXPECT_EQ(w.wait_ms(now, 80, 100), t0 + 71'000 - now);
    EXPECT_EQ(w.wait_ms(now, 101, 100), -1);
}

TEST(RateWindow, RefundOnlyWhileTheSlotIsHeld) {
    RateWindow w(10, 100);
    const int64_t s = w.add(1000, 50);
    w.refund(s, 20);
    EXPECT_EQ(w.total(1000), 30);
    w.refund(s, 1000);  // never below zero
    EXPECT_EQ(w.total(1000), 0);
    const int64_t s2 = w.add(1000, 40);
    w.total(1000 + 11 * 100);  // the slot has left the window
    w.add(1000 + 11 * 100, 5);
    w.refund(s2, 40);  // refers to a slot the ring reuses: ignored
    EXPECT_EQ(w.total(1000 + 11 * 100), 5);
}

TEST(RateWindow, ClockGoingBackChargesTheNewestSlot) {
    RateWindow w(10, 100);
    w.add(5000, 1);
    EXPECT_EQ(w.add(4000, 1), 50);
    EXPECT_EQ(w.total(4000), 2);
}

}  // namespace
}  // namespace ig::tenants
