#pragma once
// Per-tenant limits in force at run time: requests and tokens per minute,
// concurrent requests, per-request max_tokens and context, and a token
// quota per UTC day or month. One TenantLimiter per server; state per tenant
// id, thread-safe. The Limits come with every admission (not stored), so a
// reload that changes a tenant's limits applies at its next request while
// the counts so far are kept.
//
// Accounting (why it holds "never more than the budget in any minute"):
// tokens_per_minute is a sliding window (rate_window.h) charged at
// admission with the request's whole possible cost, prompt tokens plus
// max_tokens for every sequence. Generated tokens are counted against that
// reservation as they stream; when the request ends (Lease destroyed) the
// part never generated is refunded to the admission slot. So what a tenant
// gets through, counted at admission, never exceeds the budget over any
// window, and a Retry-After computed from the window is exact: nothing but
// new admissions (which the tenant is asked not to send) can grow it, and
// refunds only bring the time forward. The same reservation applies to the
// quota, which is therefore never overrun either. A request whose cost can
// never fit (above tokens_per_minute or the quota itself) is refused as
// invalid rather than told to wait.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>

#include "tenants/tenants_file.h"

namespace ig::tenants {

enum class LimitKind {
    RequestsPerMinute,
    TokensPerMinute,
    MaxConcurrentRequests,
    MaxContextTokens,
    MaxTokens,
    Quota,
};

// The key as written in the tenants file ("tokens_per_minute", "quota", ...).
std::string_view limit_name(LimitKind k);

// What one request asks for.
struct Demand {
    int64_t prompt_tokens = 0;   // all prompts together
    int64_t longest_prompt = 0;  // the longest one (against max_context_tokens)
    int64_t max_tokens = 0;      // per sequence, as the request asks (or its default)
    int64_t sequences = 1;       // prompts x n: each may generate max_tokens
    int64_t cost() const { return prompt_tokens + sequences * max_tokens; }
};

// OpenAI's x-ratelimit-* figures at admission; a limit of 0 is unset (no header).
struct RateHeaders {
    int64_t limit_requests = 0, remaining_requests = 0;
    int64_t limit_tokens = 0, remaining_tokens = 0;
};

struct Rejection {
    LimitKind limit = LimitKind::TokensPerMinute;
    // False: waiting cannot help (HTTP 400); true: retry after retry_after_ms (429).
    bool retryable = true;
    int64_t retry_after_ms = 0;
    std::string message;  // names the limit, its value and what was asked
    RateHeaders headers;
};

// A running request's hold on its tenant's limits: a concurrency slot and
// token reservations, settled when the Lease is destroyed. Movable, not
// copyable; a default-constructed Lease (or one of a tenant without limits)
// holds nothing.
class Lease {
  public:
    Lease() = default;
    Lease(Lease&& o) noexcept;
    Lease& operator=(Lease&& o) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

    // `n` tokens generated (as they stream). Within the reservation they are
    // already counted; beyond it (never, while the engine keeps max_tokens)
    // they are charged now.
    void charge_generated(int64_t n);
    // Ends the hold now: frees the concurrency slot, refunds what was never generated.
    void release();

    bool holds() const { return state_ != nullptr; }
    const RateHeaders& headers() const { return headers_; }

    struct State;  // a tenant's live counts; opaque, defined in tenant_limiter.cpp

  private:
    friend class TenantLimiter;
    std::shared_ptr<State> state_;
    RateHeaders headers_;
    int64_t tpm_slot_ = 0;
    int64_t tpm_left_ = 0;      // reserved generation not yet generated (window)
    int64_t quota_left_ = 0;    // the same against the quota
    int64_t quota_period_ = 0;  // start of the period the quota reservation is in
    bool quota_ = false;
};

// Either the Lease of an admitted request or why it was refused.
class Admission {
  public:
    Admission(Lease l) : v_(std::move(l)) {}
    Admission(Rejection r) : v_(std::move(r)) {}
    bool ok() const { return v_.index() == 0; }
    Lease& lease() { return std::get<0>(v_); }
    const Rejection& rejection() const { return std::get<1>(v_); }

  private:
    std::variant<Lease, Rejection> v_;
};

// Token balance of a tenant's quota in the current period.
struct QuotaBalance {
    int64_t quota = 0;      // 0: no quota
    int64_t used = 0;       // tokens counted this period (restored + since)
    int64_t reserved = 0;   // held by requests in flight, not generated yet
    int64_t remaining = 0;  // quota - used - reserved, >= 0
    int64_t period_start_ms = 0, resets_at_ms = 0;
};

class TenantLimiter {
  public:
    // Tokens a tenant already used since `since_unix_ms` (from the usage
    // ledger), asked once per tenant per quota period.
    using RestoreFn = std::function<int64_t(const std::string& tenant, int64_t since_unix_ms)>;

    struct Options {
        // The "minute" of the per-minute limits; shorter only in tests.
        int64_t window_ms = 60'000;
        int32_t slots = 60;
        // Idle tenant states are swept once this many are held.
        size_t sweep_above = 4096;
        RestoreFn restore;  // empty: quotas start from zero in each process
        // Unix ms; empty: the system clock.
        std::function<int64_t()> clock;
    };

    TenantLimiter() : TenantLimiter(Options{}) {}
    explicit TenantLimiter(Options opt);

    // Admits a request of `tenant` under `limits` now (the clock's), or says
    // which limit refuses it and when a retry can succeed.
    Admission admit(const std::string& tenant, const Limits& limits, const Demand& d);
    QuotaBalance quota_balance(const std::string& tenant, const Limits& limits);
    // Drops the state of tenants `keep` says no to (after a reload removed
    // them); leases in flight keep theirs until they end.
    void retain(const std::function<bool(const std::string&)>& keep);
    size_t tenants_held() const;
    int64_t now_ms() const { return opt_.clock(); }

  private:
    std::shared_ptr<Lease::State> state_of(const std::string& tenant);
    void sweep_locked(int64_t now);

    Options opt_;
    mutable std::mutex mu_;
    std::unordered_map<std::string, std::shared_ptr<Lease::State>> states_;
};

}  // namespace ig::tenants
