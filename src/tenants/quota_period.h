#pragma once
// The UTC calendar periods a token quota runs over: a day or a month, from
// 00:00 UTC of its first day to 00:00 UTC of the next period's.
#include <cstdint>
#include <string>

#include "tenants/tenants_file.h"

namespace ig::tenants {

struct PeriodBounds {
    int64_t start_ms = 0;  // unix ms, inclusive
    int64_t end_ms = 0;    // unix ms, exclusive: when the quota resets
};

// The period of kind `p` that holds `now_ms` (unix ms).
PeriodBounds quota_period_at(QuotaPeriod p, int64_t now_ms);

// "2026-12-08T00:00:00Z" for a unix ms time (seconds precision).
std::string utc_iso8601(int64_t unix_ms);

}  // namespace ig::tenants
