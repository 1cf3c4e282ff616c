#include "server/tenant_admission.h"

#include <algorithm>

#include "server/api_error.h"

namespace ig::server {

bool limits_default_max_tokens(const tenants::Limits& l) {
    return l.max_tokens > 0 || l.max_context_tokens > 0 || l.tokens_per_minute > 0 ||
           l.quota_tokens > 0;
}

int64_t default_max_tokens(const tenants::Limits& l, int64_t server_default,
                           const tenants::Demand& prompts) {
    int64_t m = server_default;
    if (l.max_tokens > 0) m = std::min(m, l.max_tokens);
    if (l.max_context_tokens > 0) m = std::min(m, l.max_context_tokens - prompts.longest_prompt);
    const int64_t seqs = std::max<int64_t>(1, prompts.sequences);
    for (int64_t budget : {l.tokens_per_minute, l.quota_tokens})
        if (budget > 0) m = std::min(m, (budget - prompts.prompt_tokens) / seqs);
    return std::max<int64_t>(1, m);
}

tenants::Demand demand_of(const std::vector<std::vector<int32_t>>& prompts, int32_t n,
                          int64_t max_tokens) {
    tenants::Demand d;
    for (const auto& p : prompts) {
        const auto len = static_cast<int64_t>(p.size());
        d.prompt_tokens += len;
        d.longest_prompt = std::max(d.longest_prompt, len);
    }
    d.max_tokens = max_tokens;
    d.sequences = static_cast<int64_t>(prompts.size()) * n;
    return d;
}

HeaderFields rate_header_fields(const tenants::RateHeaders& h) {
    HeaderFields f;
    if (h.limit_requests > 0) {
        f.emplace_back("x-ratelimit-limit-requests", std::to_string(h.limit_requests));
        f.emplace_back("x-ratelimit-remaining-requests", std::to_string(h.remaining_requests));
    }
    if (h.limit_tokens > 0) {
        f.emplace_back("x-ratelimit-limit-tokens", std::to_string(h.limit_tokens));
        f.emplace_back("x-ratelimit-remaining-tokens", std::to_string(h.remaining_tokens));
    }
    return f;
}

HttpResponse limit_response(const tenants::Rejection& r, unsigned http_version) {
    ApiError e;
    e.message = r.message;
    const bool quota = r.limit == tenants::LimitKind::Quota;
    if (!r.retryable) {
        e.status = 400;
        e.type = "invalid_request_error";
        e.code = "tenant_limit_exceeded";
        if (r.limit == tenants::LimitKind::MaxTokens) e.param = "max_tokens";
    } else {
        // OpenAI's shapes: the SDKs map both to RateLimitError (429) and
        // tell them apart by code.
        e.status = 429;
        e.type = quota                                            ? "insufficient_quota"
                 : r.limit == tenants::LimitKind::TokensPerMinute ? "tokens"
                                                                  : "requests";
        e.code = quota ? "insufficient_quota" : "rate_limit_exceeded";
    }
    // Whole seconds, rounded up: at that time the same request fits.
    const int retry = static_cast<int>(std::max<int64_t>(1, (r.retry_after_ms + 999) / 1000));
    HttpResponse res = error_response(e, http_version, retry);
    for (const auto& [k, v] : rate_header_fields(r.headers)) res.set(k, v);
    return res;
}

}  // namespace ig::server
