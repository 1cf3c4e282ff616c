// `infergrid usage`: --since/--until forms, --by names, cost arithmetic, and
// the text, JSON and CSV renderings of the same rows.
#include "tenants/usage_report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace ig::tenants {
namespace {

constexpr int64_t kDayMs = 1796601600000;  // 2026-12-07T00:00:00Z

TEST(UsageReport, TimesInEveryForm) {
    EXPECT_EQ(*parse_report_time("2026-12-07"), kDayMs);
    EXPECT_EQ(*parse_report_time("2026-12-07T15:00:00Z"), 1796655600000);
    EXPECT_EQ(*parse_report_time("2026-12-07T15:00Z"), 1796655600000);
    EXPECT_EQ(*parse_report_time("2026-12-07T15:00"), 1796655600000);
    EXPECT_EQ(*parse_report_time("2026-12-07T16:00:00+01:00"), 1796655600000);
    EXPECT_EQ(*parse_report_time("2026-12-07T14:30:00-00:30"), 1796655600000);
    EXPECT_EQ(*parse_report_time("2026-12-07T15:00:00.25Z"), 1796655600250);
    EXPECT_EQ(*parse_report_time("1796655600"), 1796655600000);
    EXPECT_EQ(*parse_report_time("0"), 0);
    EXPECT_EQ(*parse_report_time("2024-02-29"), 1709164800000);
}

TEST(UsageReport, BadTimesAreErrors) {
    for (const char* bad :
         {"", "yesterday", "2026-13-01", "2026-02-30", "2023-02-29", "2026-12-07T25:00Z",
          "2026-12-07T15:60Z", "2026-12-07T15", "2026-12-07X", "2026-12-07T15:00:00+1", "-5", "1.5",
          "99999999999999999999", "2026-12-07T15:00:00Zjunk", "12/07/2026"}) {
        auto t = parse_report_time(bad);
        EXPECT_FALSE(t.ok()) << bad;
        if (!t.ok()) {
            EXPECT_NE(t.error().message.find("ISO 8601"), std::string::npos);
        }
    }
}

TEST(UsageReport, GroupNames) {
    EXPECT_EQ(*parse_usage_group("hour"), UsageGroup::Hour);
    EXPECT_EQ(*parse_usage_group("day"), UsageGroup::Day);
    EXPECT_EQ(*parse_usage_group("model"), UsageGroup::Model);
    EXPECT_FALSE(parse_usage_group("week").ok());
}

TEST(UsageReport, CostChargesCachedPromptTokensAtTheCachedPrice) {
    UsageTotals t;
    t.prompt_tokens = 1'000'000;
    t.cached_tokens = 200'000;
    t.completion_tokens = 500'000;
    // 800k uncached at $1/M + 200k cached at $0.5/M + 500k at $2/M.
    EXPECT_DOUBLE_EQ(cost_usd(t, {1.0, 0.5, 2.0}), 0.8 + 0.1 + 1.0);
    EXPECT_DOUBLE_EQ(cost_usd(t, {}), 0.0);
}

std::vector<UsageTotals> sample() {
    return {{"acme", "2026-12-07", 3, 300, 100, 50}, {"beta", "2026-12-07", 1, 10, 0, 5}};
}

TEST(UsageReport, TextIsAnAlignedTableWithTotals) {
    ReportOptions o;
    o.group = UsageGroup::Day;
    const std::string out = render_report(sample(), o);
    EXPECT_EQ(out,
              std::string(
                  "tenant  day         requests  prompt_tokens  cached_tokens  completion_tokens  "
                  "total_tokens\n"
                  "acme    2026-12-07         3            300            100                 50  "
                  "         350\n"
                  "beta    2026-12-07         1             10              0                  5  "
                  "          15\n") +
                  std::string(91, '-') + "\n" +  // as wide as the lines
                  "TOTAL                      4            310            100                 55  "
                  "         365\n");
}

TEST(UsageReport, JsonHasRowsTotalsAndCostWherePriced) {
    ReportOptions o;
    o.format = ReportFormat::Json;
    o.prices["acme"] = {1.0, 0.5, 2.0};
    std::vector<UsageTotals> rows = sample();
    for (auto& r : rows) r.bucket.clear();
    const auto j = nlohmann::json::parse(render_report(rows, o));
    ASSERT_EQ(j["rows"].size(), 2u);
    EXPECT_EQ(j["rows"][0]["tenant"], "acme");
    EXPECT_FALSE(j["rows"][0].contains("day"));
    EXPECT_EQ(j["rows"][0]["total_tokens"], 350);
    EXPECT_NEAR(j["rows"][0]["cost_usd"].get<double>(), (200 * 1.0 + 100 * 0.5 + 50 * 2.0) / 1e6,
                1e-12);
    EXPECT_TRUE(j["rows"][1]["cost_usd"].is_null()) << "beta has no prices";
    EXPECT_EQ(j["totals"]["requests"], 4);
    EXPECT_EQ(j["totals"]["prompt_tokens"], 310);
    EXPECT_EQ(j["totals"]["cached_tokens"], 100);
    EXPECT_EQ(j["totals"]["completion_tokens"], 55);
    EXPECT_NEAR(j["totals"]["cost_usd"].get<double>(), 350e-6, 1e-12);
}

TEST(UsageReport, JsonWithoutPricesHasNoCost) {
    ReportOptions o;
    o.format = ReportFormat::Json;
    o.group = UsageGroup::Model;
    const auto j = nlohmann::json::parse(render_report({{"a", "m,1", 1, 2, 0, 3}}, o));
    EXPECT_FALSE(j["totals"].contains("cost_usd"));
    EXPECT_EQ(j["rows"][0]["model"], "m,1");
    const auto empty = nlohmann::json::parse(render_report({}, o));
    EXPECT_TRUE(empty["rows"].empty());
    EXPECT_EQ(empty["totals"]["requests"], 0);
}

TEST(UsageReport, CsvHasAHeaderAndQuotes) {
    ReportOptions o;
    o.format = ReportFormat::Csv;
    o.group = UsageGroup::Model;
    o.prices["a"] = {1, 1, 1};
    EXPECT_EQ(render_report({{"a", "m,\"1\"", 1, 2, 0, 3}}, o),
              "tenant,model,requests,prompt_tokens,cached_tokens,completion_tokens,total_tokens,"
              "cost_usd\n"
              "a,\"m,\"\"1\"\"\",1,2,0,3,5,0.000005\n");
}

}  // namespace
}  // namespace ig::tenants
