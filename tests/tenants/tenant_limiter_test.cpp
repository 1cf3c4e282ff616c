// TenantLimiter on a fake clock: every limit refuses at its exact boundary,
// Retry-After is exactly long enough, leases free what they hold, quotas
// roll over at the UTC boundary and restore the ledger's count once.
#include "tenants/tenant_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "tenants/quota_period.h"

namespace ig::tenants {
namespace {

// 2026-12-07T12:00:00Z
constexpr int64_t kNoon = 1796644800000;

struct Fixture {
    int64_t now = kNoon;
    std::map<std::pair<std::string, int64_t>, int> restores;
    int64_t restored_value = 0;
    TenantLimiter limiter;
    explicit Fixture(bool with_restore = false)
        : limiter([this, with_restore] {
              TenantLimiter::Options o;
              o.clock = [this] { return now; };
              if (with_restore)
                  o.restore = [this](const std::string& t, int64_t since) {
                      restores[{t, since}] += 1;
                      return restored_value;
                  };
              return o;
          }()) {}
};

Demand demand(int64_t prompt, int64_t max_tokens, int64_t sequences = 1) {
    Demand d;
    d.prompt_tokens = prompt * sequences;
    d.longest_prompt = prompt;
    d.max_tokens = max_tokens;
    d.sequences = sequences;
    return d;
}

Limits tpm(int64_t n) {
    Limits l;
    l.tokens_per_minute = n;
    return l;
}

TEST(QuotaPeriod, UtcDayAndMonthBounds) {
    const PeriodBounds d = quota_period_at(QuotaPeriod::Day, kNoon);
    EXPECT_EQ(utc_iso8601(d.start_ms), "2026-12-07T00:00:00Z");
    EXPECT_EQ(utc_iso8601(d.end_ms), "2026-12-08T00:00:00Z");
    const PeriodBounds m = quota_period_at(QuotaPeriod::Month, kNoon);
    EXPECT_EQ(utc_iso8601(m.start_ms), "2026-12-01T00:00:00Z");
    EXPECT_EQ(utc_iso8601(m.end_ms), "2027-01-01T00:00:00Z");
    EXPECT_EQ(quota_period_at(QuotaPeriod::Month, m.end_ms).start_ms, m.end_ms);
    EXPECT_EQ(quota_period_at(QuotaPeriod::Month, m.end_ms - 1).start_ms, m.start_ms);
    EXPECT_EQ(utc_iso8601(quota_period_at(QuotaPeriod::Month, 1769990400000).end_ms),
              "2026-03-01T00:00:00Z");  // from 2026-02-02: February's end
}

TEST(TenantLimiter, UnlimitedAdmitsAndHoldsNothing) {
    Fixture f;
    for (int i = 0; i < 1000; ++i) {
        Admission a = f.limiter.admit("t", Limits{}, demand(100, 100));
        ASSERT_TRUE(a.ok());
        EXPECT_FALSE(a.lease().holds());
    }
    EXPECT_EQ(f.limiter.tenants_held(), 0u);
}

TEST(TenantLimiter, TokensPerMinuteExactBoundaryAndRetryAfter) {
    Fixture f;
    const Limits l = tpm(1000);
    std::vector<Lease> held;
    for (int i = 0; i < 4; ++i) {
        Admission a = f.limiter.admit("t", l, demand(50, 200));  // 250 each
        ASSERT_TRUE(a.ok()) << i;
        EXPECT_EQ(a.lease().headers().limit_tokens, 1000);
        EXPECT_EQ(a.lease().headers().remaining_tokens, 1000 - 250 * (i + 1));
        held.push_back(std::move(a.lease()));
        f.now += 100;
    }
    // Exactly full: one more token is refused, naming the limit.
    Admission r = f.limiter.admit("t", l, demand(1, 0));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.rejection().limit, LimitKind::TokensPerMinute);
    EXPECT_TRUE(r.rejection().retryable);
    EXPECT_NE(r.rejection().message.find("tokens_per_minute"), std::string::npos);
    EXPECT_EQ(r.rejection().headers.remaining_tokens, 0);
    // The first admission's slot leaves the window 61 s after its start.
    EXPECT_EQ(f.now + r.rejection().retry_after_ms, kNoon + 61'000);
    // Generated tokens within the reservation change nothing.
    held[0].charge_generated(200);
    f.now = kNoon + 60'999;
    EXPECT_FALSE(f.limiter.admit("t", l, demand(1, 0)).ok());
    f.now = kNoon + 61'000;
    EXPECT_TRUE(f.limiter.admit("t", l, demand(1, 0)).ok());
}

TEST(TenantLimiter, HonouringRetryAfterSucceeds) {
    Fixture f;
    Limits l = tpm(700);
    l.requests_per_minute = 5;
    // Random-ish traffic; whenever refused, jump to exactly the retry time
    // (rounded up to whole seconds as the server sends it) and the same
    // request must be admitted.
    int64_t admitted_tokens = 0;
    std::vector<std::pair<int64_t, int64_t>> log;  // (time, tokens)
    for (int i = 0; i < 300; ++i) {
        const Demand d = demand(10 + (i * 37) % 90, (i * 53) % 200);
        Admission a = f.limiter.admit("t", l, d);
        if (!a.ok()) {
            const int64_t wait = a.rejection().retry_after_ms;
            ASSERT_GT(wait, 0);
            f.now += (wait + 999) / 1000 * 1000;
            Admission b = f.limiter.admit("t", l, d);
            ASSERT_TRUE(b.ok()) << i << ": " << b.rejection().message;
            a = std::move(b);
        }
        // Half the requests stop early: the unused part is refunded.
        const int64_t gen = i % 2 ? d.max_tokens : d.max_tokens / 3;
        a.lease().charge_generated(gen);
        log.push_back({f.now, d.prompt_tokens + gen});
        admitted_tokens += d.prompt_tokens + gen;
        f.now += (i * 7919) % 3000;
    }
    // Never more than the budget in any 60 s interval.
    for (size_t i = 0; i < log.size(); ++i) {
        int64_t sum = 0, n = 0;
        for (size_t j = i; j < log.size() && log[j].first < log[i].first + 60'000; ++j)
            sum += log[j].second, ++n;
        EXPECT_LE(sum, 700) << "window from " << log[i].first;
        EXPECT_LE(n, 5);
    }
    EXPECT_GT(admitted_tokens, 0);
}

TEST(TenantLimiter, RefundOnLeaseEndLetsTheNextOneIn) {
    Fixture f;
    const Limits l = tpm(1000);
    {
        Admission a = f.limiter.admit("t", l, demand(100, 800));
        ASSERT_TRUE(a.ok());
        EXPECT_FALSE(f.limiter.admit("t", l, demand(100, 100)).ok());
        a.lease().charge_generated(10);  // stops after 10 tokens
    }
    // 110 counted; 890 left.
    Admission b = f.limiter.admit("t", l, demand(100, 790));
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b.lease().headers().remaining_tokens, 0);
}

TEST(TenantLimiter, RequestsPerMinute) {
    Fixture f;
    Limits l;
    l.requests_per_minute = 3;
    for (int i = 0; i < 3; ++i) {
        Admission a = f.limiter.admit("t", l, demand(1, 1));
        ASSERT_TRUE(a.ok());
        EXPECT_EQ(a.lease().headers().remaining_requests, 2 - i);
        f.now += 10'000;
    }
    Admission r = f.limiter.admit("t", l, demand(1, 1));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.rejection().limit, LimitKind::RequestsPerMinute);
    EXPECT_EQ(f.now + r.rejection().retry_after_ms, kNoon + 61'000);
    // Other tenants are not affected.
    EXPECT_TRUE(f.limiter.admit("u", l, demand(1, 1)).ok());
}

TEST(TenantLimiter, ConcurrencyFreedByLeaseDestructionAndMoves) {
    Fixture f;
    Limits l;
    l.max_concurrent_requests = 2;
    Admission a = f.limiter.admit("t", l, demand(1, 1));
    Admission b = f.limiter.admit("t", l, demand(1, 1));
    ASSERT_TRUE(a.ok() && b.ok());
    Admission c = f.limiter.admit("t", l, demand(1, 1));
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.rejection().limit, LimitKind::MaxConcurrentRequests);
    EXPECT_GE(c.rejection().retry_after_ms, 1000);
    // Moving a lease moves the slot, it neither frees nor takes another.
    Lease moved = std::move(a.lease());
    EXPECT_FALSE(a.lease().holds());
    EXPECT_TRUE(moved.holds());
    EXPECT_FALSE(f.limiter.admit("t", l, demand(1, 1)).ok());
    Lease assigned;
    assigned = std::move(moved);
    EXPECT_FALSE(f.limiter.admit("t", l, demand(1, 1)).ok());
    assigned = Lease{};  // releases
    Admission d = f.limiter.admit("t", l, demand(1, 1));
    EXPECT_TRUE(d.ok());
    b.lease().release();
    b.lease().release();  // idempotent
    EXPECT_TRUE(f.limiter.admit("t", l, demand(1, 1)).ok());
}

TEST(TenantLimiter, PerRequestLimitsAreNotRetryable) {
    Fixture f;
    Limits l;
    l.max_tokens = 100;
    l.max_context_tokens = 500;
    l.tokens_per_minute = 1000;
    l.quota_tokens = 800;
    auto refused = [&](const Demand& d, LimitKind k) {
        Admission a = f.limiter.admit("t", l, d);
        ASSERT_FALSE(a.ok());
        EXPECT_EQ(a.rejection().limit, k);
        EXPECT_FALSE(a.rejection().retryable);
        EXPECT_NE(a.rejection().message.find(std::string(limit_name(k))), std::string::npos)
            << a.rejection().message;
    };
    refused(demand(10, 101), LimitKind::MaxTokens);
    refused(demand(401, 100), LimitKind::MaxContextTokens);
    EXPECT_TRUE(f.limiter.admit("t", l, demand(400, 100)).ok());
    l.quota_tokens = 0;
    // 3 prompts of 300 + 3 x 100: above tokens_per_minute, waiting never helps.
    refused(demand(300, 100, 3), LimitKind::TokensPerMinute);
    l.quota_tokens = 800;
    l.tokens_per_minute = 0;
    refused(demand(300, 100, 3), LimitKind::Quota);
}

TEST(TenantLimiter, ChangedLimitsApplyAtOnceAndKeepTheCounts) {
    Fixture f;
    std::vector<Lease> held;
    for (int i = 0; i < 5; ++i) {
        Admission a = f.limiter.admit("t", tpm(10'000), demand(100, 0));
        ASSERT_TRUE(a.ok());
    }
    // 500 counted: a limit lowered to 550 leaves room for 50.
    EXPECT_FALSE(f.limiter.admit("t", tpm(550), demand(51, 0)).ok());
    EXPECT_TRUE(f.limiter.admit("t", tpm(550), demand(50, 0)).ok());
    Limits c;
    c.max_concurrent_requests = 1;
    Admission a = f.limiter.admit("t", c, demand(1, 0));
    ASSERT_TRUE(a.ok());
    EXPECT_FALSE(f.limiter.admit("t", c, demand(1, 0)).ok());
    c.max_concurrent_requests = 2;
    EXPECT_TRUE(f.limiter.admit("t", c, demand(1, 0)).ok());
}

TEST(TenantLimiter, QuotaRefusesUntilTheUtcDayResets) {
    Fixture f;
    Limits l;
    l.quota_tokens = 1000;
    l.quota_period = QuotaPeriod::Day;
    {
        Admission a = f.limiter.admit("t", l, demand(100, 500));
        ASSERT_TRUE(a.ok());
        QuotaBalance q = f.limiter.quota_balance("t", l);
        EXPECT_EQ(q.used, 100);
        EXPECT_EQ(q.reserved, 500);
        EXPECT_EQ(q.remaining, 400);
        a.lease().charge_generated(300);
    }
    QuotaBalance q = f.limiter.quota_balance("t", l);
    EXPECT_EQ(q.used, 400);
    EXPECT_EQ(q.reserved, 0);
    EXPECT_EQ(q.remaining, 600);
    EXPECT_EQ(utc_iso8601(q.resets_at_ms), "2026-12-08T00:00:00Z");
    ASSERT_TRUE(f.limiter.admit("t", l, demand(100, 500)).ok());  // fits exactly
    q = f.limiter.quota_balance("t", l);
    EXPECT_EQ(q.used, 500);  // prompt counted; no generation charged: 500 refunded
    ASSERT_TRUE(f.limiter.admit("t", l, demand(500, 0)).ok());
    Admission r = f.limiter.admit("t", l, demand(1, 0));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.rejection().limit, LimitKind::Quota);
    EXPECT_TRUE(r.rejection().retryable);
    EXPECT_NE(r.rejection().message.find("per day"), std::string::npos);
    EXPECT_NE(r.rejection().message.find("2026-12-08T00:00:00Z"), std::string::npos);
    EXPECT_EQ(f.now + r.rejection().retry_after_ms, kNoon + 12 * 3600 * 1000);
    f.now = kNoon + 12 * 3600 * 1000 - 1;
    EXPECT_FALSE(f.limiter.admit("t", l, demand(1, 0)).ok());
    f.now += 1;
    EXPECT_TRUE(f.limiter.admit("t", l, demand(1, 0)).ok());
    EXPECT_EQ(f.limiter.quota_balance("t", l).used, 1);
}

TEST(TenantLimiter, MonthlyQuotaRestoresFromTheLedgerOncePerPeriod) {
    Fixture f(/*with_restore=*/true);
    f.restored_value = 900;
    Limits l;
    l.quota_tokens = 1000;
    l.quota_period = QuotaPeriod::Month;
    const int64_t dec1 = quota_period_at(QuotaPeriod::Month, kNoon).start_ms;
    ASSERT_TRUE(f.limiter.admit("t", l, demand(50, 50)).ok());
    EXPECT_FALSE(f.limiter.admit("t", l, demand(50, 1)).ok());
    EXPECT_EQ(f.limiter.quota_balance("t", l).used, 950);
    EXPECT_EQ((f.restores[{"t", dec1}]), 1);
    EXPECT_EQ(f.restores.size(), 1u);
    // January: restored once more, from January 1st.
    f.now = quota_period_at(QuotaPeriod::Month, kNoon).end_ms + 5;
    f.restored_value = 0;
    ASSERT_TRUE(f.limiter.admit("t", l, demand(50, 50)).ok());
    ASSERT_TRUE(f.limiter.admit("t", l, demand(50, 50)).ok());
    EXPECT_EQ((f.restores[{"t", f.now - 5}]), 1);
    EXPECT_EQ(f.restores.size(), 2u);
}

TEST(TenantLimiter, ReservationsAcrossAPeriodEndDoNotLeak) {
    Fixture f;
    Limits l;
    l.quota_tokens = 1000;
    l.quota_period = QuotaPeriod::Day;
    Admission a = f.limiter.admit("t", l, demand(100, 800));
    ASSERT_TRUE(a.ok());
    f.now += 12 * 3600 * 1000;  // next day
    EXPECT_EQ(f.limiter.quota_balance("t", l).remaining, 1000);
    a.lease().charge_generated(10);  // generated today: counts today
    a.lease().release();
    const QuotaBalance q = f.limiter.quota_balance("t", l);
    EXPECT_EQ(q.used, 10);
    EXPECT_EQ(q.reserved, 0);
}

TEST(TenantLimiter, RetainDropsRemovedTenantsAndLeasesOutliveIt) {
    Fixture f;
    Limits l;
    l.max_concurrent_requests = 1;
    Admission a = f.limiter.admit("gone", l, demand(1, 1));
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE(f.limiter.admit("kept", l, demand(1, 1)).ok());
    f.limiter.retain([](const std::string& id) { return id == "kept"; });
    EXPECT_EQ(f.limiter.tenants_held(), 1u);
    a.lease().release();  // its state is still alive through the lease
}

TEST(TenantLimiter, IdleTenantsAreSwept) {
    TenantLimiter::Options o;
    int64_t now = kNoon;
    o.clock = [&] { return now; };
    o.sweep_above = 10;
    TenantLimiter lim(o);
    Limits l = tpm(100);
    for (int i = 0; i < 100; ++i) {
        const std::string id = fmt::format("t{}", i);
        ASSERT_TRUE(lim.admit(id, l, demand(1, 1)).ok());
        now += 7000;  // windows empty after 61 s
    }
    EXPECT_LE(lim.tenants_held(), 20u);
}

TEST(TenantLimiter, ConcurrentAdmissionsNeverExceedTheBudget) {
    TenantLimiter lim;  // the real clock: one minute is longer than this test
    const Limits l = tpm(10'000);
    std::atomic<int64_t> admitted{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < 8; ++t)
        ts.emplace_back([&] {
            for (int i = 0; i < 500; ++i) {
                Admission a = lim.admit("t", l, demand(3, 4));
                if (a.ok()) {
                    a.lease().charge_generated(4);
                    admitted += 7;
                }
            }
        });
    for (auto& t : ts) t.join();
    EXPECT_LE(admitted.load(), 10'000);
    EXPECT_GE(admitted.load(), 10'000 - 6);
}

}  // namespace
}  // namespace ig::tenants
