#pragma once
// A generation request against its tenant's limits (tenants/tenant_limiter.h),
// in HTTP terms: what it asks for, the max_tokens default a limit implies,
// the 400 / 429 answers, and OpenAI's x-ratelimit-* header fields.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "server/http_types.h"
#include "server/openai_request.h"
#include "tenants/tenant_limiter.h"

namespace ig::server {

using HeaderFields = std::vector<std::pair<std::string, std::string>>;

// Whether a request without max_tokens gets default_max_tokens().
bool limits_default_max_tokens(const tenants::Limits& l);
// The max_tokens a request without one gets: the server's default, but
// never more than the tenant's max_tokens, nor than its context limit leaves
// after the longest prompt, nor than tokens_per_minute or the quota leave
// after all prompts for each sequence (a default the limits refuse would be
// no default).
int64_t default_max_tokens(const tenants::Limits& l, int64_t server_default,
                           const tenants::Demand& prompts);

// Every prompt's tokens, and n x max_tokens per prompt.
tenants::Demand demand_of(const std::vector<std::vector<int32_t>>& prompts, int32_t n,
                          int64_t max_tokens);

// x-ratelimit-{limit,remaining}-{requests,tokens} for the limits that are set.
HeaderFields rate_header_fields(const tenants::RateHeaders& h);

// A refused request: 400 invalid_request_error (tenant_limit_exceeded) when
// waiting cannot help, 429 rate_limit_exceeded with the limiter's wait as
// Retry-After (whole seconds, rounded up), or 429 insufficient_quota.
HttpResponse limit_response(const tenants::Rejection& r, unsigned http_version);

}  // namespace ig::server
