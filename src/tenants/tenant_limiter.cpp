#include "tenants/tenant_limiter.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include <fmt/format.h>

#include "tenants/quota_period.h"
#include "tenants/rate_window.h"

namespace ig::tenants {

namespace {

constexpr int64_t kNoPeriod = std::numeric_limits<int64_t>::min();

int64_t system_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string seconds_text(int64_t ms) {
    return fmt::format("{}s", (ms + 999) / 1000);
}

Rejection invalid(LimitKind k, std::string message) {
    Rejection r;
    r.limit = k;
    r.retryable = false;
    r.message = std::move(message);
    return r;
}

}  // namespace

std::string_view limit_name(LimitKind k) {
    switch (k) {
        case LimitKind::RequestsPerMinute:
            return "requests_per_minute";
        case LimitKind::TokensPerMinute:
            return "tokens_per_minute";
        case LimitKind::MaxConcurrentRequests:
            return "max_concurrent_requests";
        case LimitKind::MaxContextTokens:
            return "max_context_tokens";
        case LimitKind::MaxTokens:
            return "max_tokens";
        case LimitKind::Quota:
            return "quota";
    }
    return "unknown";
}

// One tenant's live counts. Leases share it, so it outlives a sweep or a
// retain() that drops it from the map while they run.
struct Lease::State {
    State(int32_t slots, int64_t slot_ms, std::function<int64_t()> now)
        : requests(slots, slot_ms), tokens(slots, slot_ms), clock(std::move(now)) {}

    std::mutex mu;
    RateWindow requests;  // admissions
    RateWindow tokens;    // prompt + reserved generation, refunded at the end
    int64_t in_flight = 0;
    // The quota's current period: kNoPeriod until a quota is first checked.
    int64_t q_period_start = kNoPeriod;
    QuotaPeriod q_kind = QuotaPeriod::Month;
    int64_t q_used = 0;      // counted (restored at the period's start, then as they happen)
    int64_t q_reserved = 0;  // generation reserved by requests in flight
    std::function<int64_t()> clock;
};

Lease::Lease(Lease&& o) noexcept {
    *this = std::move(o);
}

Lease& Lease::operator=(Lease&& o) noexcept {
    if (this == &o) return *this;
    release();
    state_ = std::move(o.state_);
    headers_ = o.headers_;
    tpm_slot_ = o.tpm_slot_;
    tpm_left_ = o.tpm_left_;
    quota_left_ = o.quota_left_;
    quota_period_ = o.quota_period_;
    quota_ = o.quota_;
    o.state_.reset();
    return *this;
}

Lease::~Lease() {
    release();
}

void Lease::charge_generated(int64_t n) {
    if (!state_ || n <= 0) return;
    std::lock_guard lk(state_->mu);
    const int64_t within = std::min(n, tpm_left_);
    tpm_left_ -= within;
    if (n > within) state_->tokens.add(state_->clock(), n - within);
    if (!quota_) return;
    state_->q_used += n;
    const int64_t q_within = std::min(n, quota_left_);
    quota_left_ -= q_within;
    // A reservation made in a period that has ended was dropped with it.
    if (state_->q_period_start == quota_period_) state_->q_reserved -= q_within;
}

void Lease::release() {
    if (!state_) return;
    {
        std::lock_guard lk(state_->mu);
        state_->tokens.refund(tpm_slot_, tpm_left_);
        state_->in_flight -= 1;
        if (quota_ && state_->q_period_start == quota_period_) state_->q_reserved -= quota_left_;
    }
    state_.reset();
    tpm_left_ = quota_left_ = 0;
}

TenantLimiter::TenantLimiter(Options opt) : opt_(std::move(opt)) {
    if (!opt_.clock) opt_.clock = system_now_ms;
    opt_.slots = std::max<int32_t>(1, opt_.slots);
    opt_.window_ms = std::max<int64_t>(opt_.slots, opt_.window_ms);
}

std::shared_ptr<Lease::State> TenantLimiter::state_of(const std::string& tenant) {
    std::lock_guard lk(mu_);
    auto it = states_.find(tenant);
    if (it != states_.end()) return it->second;
    if (states_.size() >= opt_.sweep_above) sweep_locked(opt_.clock());
    auto st = std::make_shared<Lease::State>(opt_.slots, opt_.window_ms / opt_.slots, opt_.clock);
    states_.emplace(tenant, st);
    return st;
}

// Drops tenants nothing refers to and nothing would miss: no lease, empty
// windows, and no quota usage that only this process knows.
void TenantLimiter::sweep_locked(int64_t now) {
    for (auto it = states_.begin(); it != states_.end();) {
        Lease::State& s = *it->second;
        bool idle = false;
        if (it->second.use_count() == 1) {
            std::lock_guard lk(s.mu);
            idle = s.in_flight == 0 && s.requests.empty(now) && s.tokens.empty(now) &&
                   (s.q_used == 0 || opt_.restore);
        }
        it = idle ? states_.erase(it) : std::next(it);
    }
}

void TenantLimiter::retain(const std::function<bool(const std::string&)>& keep) {
    std::lock_guard lk(mu_);
    std::erase_if(states_, [&](const auto& kv) { return !keep(kv.first); });
}

size_t TenantLimiter::tenants_held() const {
    std::lock_guard lk(mu_);
    return states_.size();
}

namespace {

// Brings the quota state to the period holding `now`, restoring what the
// ledger knows was used in it (once per period).
PeriodBounds roll_quota(Lease::State& s, const std::string& tenant, const Limits& l, int64_t now,
                        const TenantLimiter::RestoreFn& restore) {
    const PeriodBounds b = quota_period_at(l.quota_period, now);
    if (s.q_period_start != b.start_ms || s.q_kind != l.quota_period) {
        s.q_period_start = b.start_ms;
        s.q_kind = l.quota_period;
        s.q_used = restore ? std::max<int64_t>(0, restore(tenant, b.start_ms)) : 0;
        s.q_reserved = 0;
    }
    return b;
}

}  // namespace

Admission TenantLimiter::admit(const std::string& tenant, const Limits& l, const Demand& d) {
    // Limits no wait can satisfy: 400s.
    if (l.max_tokens > 0 && d.max_tokens > l.max_tokens)
        return invalid(LimitKind::MaxTokens,
                       fmt::format("max_tokens is {}, above this tenant's limit max_tokens = {}",
                                   d.max_tokens, l.max_tokens));
    if (l.max_context_tokens > 0 && d.longest_prompt + d.max_tokens > l.max_context_tokens)
        return invalid(LimitKind::MaxContextTokens,
                       fmt::format("this request needs {} tokens of context ({} in the prompt, "
                                   "{} max_tokens), above this tenant's limit max_context_tokens "
                                   "= {}; reduce the prompt or max_tokens",
                                   d.longest_prompt + d.max_tokens, d.longest_prompt, d.max_tokens,
                                   l.max_context_tokens));
    const int64_t cost = d.cost();
    if (l.tokens_per_minute > 0 && cost > l.tokens_per_minute)
        return invalid(
            LimitKind::TokensPerMinute,
            fmt::format("this request may use {} tokens ({} prompt + {} x {} "
                        "max_tokens), more than this tenant's limit tokens_per_minute "
                        "= {} ever allows; reduce the prompt, max_tokens or n",
                        cost, d.prompt_tokens, d.sequences, d.max_tokens, l.tokens_per_minute));
    if (l.quota_tokens > 0 && cost > l.quota_tokens)
        return invalid(LimitKind::Quota,
                       fmt::format("this request may use {} tokens, more than this tenant's "
                                   "whole quota of {} tokens per {}",
                                   cost, l.quota_tokens, quota_period_name(l.quota_period)));
    if (l.requests_per_minute <= 0 && l.tokens_per_minute <= 0 && l.max_concurrent_requests <= 0 &&
        l.quota_tokens <= 0)
        return Lease{};  // nothing to count

    const std::shared_ptr<Lease::State> st = state_of(tenant);
    std::lock_guard lk(st->mu);
    const int64_t now = opt_.clock();
    RateHeaders h;
    h.limit_requests = l.requests_per_minute;
    h.limit_tokens = l.tokens_per_minute;
    auto fill_remaining = [&] {
        if (h.limit_requests > 0)
            h.remaining_requests = std::max<int64_t>(0, h.limit_requests - st->requests.total(now));
        if (h.limit_tokens > 0)
            h.remaining_tokens = std::max<int64_t>(0, h.limit_tokens - st->tokens.total(now));
    };

    if (l.quota_tokens > 0) {
        const PeriodBounds b = roll_quota(*st, tenant, l, now, opt_.restore);
        if (st->q_used + st->q_reserved + cost > l.quota_tokens) {
            Rejection r;
            r.limit = LimitKind::Quota;
            r.retry_after_ms = std::max<int64_t>(1, b.end_ms - now);
            r.message = fmt::format(
                "You exceeded your current quota: {} of {} tokens per {} used ({} held by "
                "requests in flight) and this request may use {}. The quota resets at {}.",
                st->q_used, l.quota_tokens, quota_period_name(l.quota_period), st->q_reserved, cost,
                utc_iso8601(b.end_ms));
            fill_remaining();
            r.headers = h;
            return r;
        }
    }

    // The rate limits: the one that keeps the request waiting longest is named.
    std::optional<Rejection> worst;
    auto consider = [&](LimitKind k, int64_t wait, std::string msg) {
        if (wait <= 0) return;
        if (worst && worst->retry_after_ms >= wait) return;
        worst = Rejection{};
        worst->limit = k;
        worst->retry_after_ms = wait;
        worst->message = std::move(msg);
    };
    if (l.max_concurrent_requests > 0 && st->in_flight >= l.max_concurrent_requests)
        // When a slot frees is not known; a second is the polite poll.
        consider(LimitKind::MaxConcurrentRequests, 1000,
                 fmt::format("Too many concurrent requests (max_concurrent_requests): limit {}, "
                             "in flight {}. Retry when one of them has finished.",
                             l.max_concurrent_requests, st->in_flight));
    if (l.requests_per_minute > 0) {
        const int64_t used = st->requests.total(now);
        const int64_t w = st->requests.wait_ms(now, 1, l.requests_per_minute);
        consider(LimitKind::RequestsPerMinute, w,
                 fmt::format("Rate limit reached for requests per minute (requests_per_minute): "
                             "Limit {}, Used {}, Requested 1. Please try again in {}.",
                             l.requests_per_minute, used, seconds_text(w)));
    }
    if (l.tokens_per_minute > 0) {
        const int64_t used = st->tokens.total(now);
        const int64_t w = st->tokens.wait_ms(now, cost, l.tokens_per_minute);
        consider(LimitKind::TokensPerMinute, w,
                 fmt::format("Rate limit reached for tokens per minute (tokens_per_minute): "
                             "Limit {}, Used {}, Requested {}. Please try again in {}.",
                             l.tokens_per_minute, used, cost, seconds_text(w)));
    }
    if (worst) {
        // Several limits may bind: the wait covers them all.
        fill_remaining();
        worst->headers = h;
        return std::move(*worst);
    }

    Lease lease;
    lease.state_ = st;
    st->requests.add(now, 1);
    lease.tpm_slot_ = st->tokens.add(now, cost);
    lease.tpm_left_ = cost - d.prompt_tokens;
    st->in_flight += 1;
    if (l.quota_tokens > 0) {
        lease.quota_ = true;
        lease.quota_period_ = st->q_period_start;
        lease.quota_left_ = cost - d.prompt_tokens;
        st->q_used += d.prompt_tokens;
        st->q_reserved += lease.quota_left_;
    }
    fill_remaining();
    lease.headers_ = h;
    return lease;
}

QuotaBalance TenantLimiter::quota_balance(const std::string& tenant, const Limits& l) {
    QuotaBalance q;
    if (l.quota_tokens <= 0) return q;
    const std::shared_ptr<Lease::State> st = state_of(tenant);
    std::lock_guard lk(st->mu);
    const PeriodBounds b = roll_quota(*st, tenant, l, opt_.clock(), opt_.restore);
    q.quota = l.quota_tokens;
    q.used = st->q_used;
    q.reserved = st->q_reserved;
    q.remaining = std::max<int64_t>(0, q.quota - q.used - q.reserved);
    q.period_start_ms = b.start_ms;
    q.resets_at_ms = b.end_ms;
    return q;
}

}  // namespace ig::tenants
