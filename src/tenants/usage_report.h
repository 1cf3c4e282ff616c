#pragma once
// `infergrid usage`: the ledger's token and request totals per tenant (and
// hour, day or model), with cost where prices are known, as an aligned text
// table, JSON or CSV.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tenants/tenants_file.h"  // TokenPrices
#include "tenants/usage_ledger.h"
#include "util/expected.h"

namespace ig::tenants {

enum class ReportFormat { Text, Json, Csv };

struct ReportOptions {
    UsageFilter filter;
    UsageGroup group = UsageGroup::None;
    ReportFormat format = ReportFormat::Text;
    std::map<std::string, TokenPrices> prices;  // tenant -> prices; empty: no cost column
};

// A --since/--until value as unix milliseconds: unix seconds ("1796655600"),
// a date ("2026-12-07", midnight UTC) or a date and time
// ("2026-12-07T15:00:00Z", "2026-12-07T15:00", "...+02:00"; no zone: UTC).
Expected<int64_t> parse_report_time(std::string_view s);

// "hour", "day", "model".
Expected<UsageGroup> parse_usage_group(std::string_view s);

// USD for these tokens: prompt less cached at the prompt price, cached at
// the cached price, completion at the completion price.
double cost_usd(const UsageTotals& t, const TokenPrices& p);

// The report of `rows` (as UsageLedger::totals returns them).
std::string render_report(const std::vector<UsageTotals>& rows, const ReportOptions& opt);

// Queries the ledger and renders.
Expected<std::string> usage_report(const UsageLedger& ledger, const ReportOptions& opt);

}  // namespace ig::tenants
