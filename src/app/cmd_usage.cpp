// `infergrid usage --usage-db FILE [--tenant T] [--since T] [--until T]
// [--by hour|day|model] [--json|--csv] [--tenants FILE]`: tokens and requests
// per tenant from the usage ledger that `serve --usage-db` writes (the server
// may be running), and cost where the tenants file gives prices.
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "app/commands.h"
#include "tenants/usage_report.h"

namespace ig::app {

namespace {

struct UsageArgs {
    std::string db;
    std::optional<std::string> tenant;
    std::optional<std::string> since;
    std::optional<std::string> until;
    std::optional<std::string> by;
    std::string tenants_file;
    bool json = false;
    bool csv = false;
};

// A bad flag value is a usage error: exit code 2, as CLI tools have it.
int usage_error(const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.message.c_str());
    return 2;
}

int run_usage(const UsageArgs& a) {
    tenants::ReportOptions opt;
    opt.filter.tenant = a.tenant;
    if (a.since) {
        auto t = tenants::parse_report_time(*a.since);
        if (!t.ok()) return usage_error(make_error("--since: {}", t.error().message));
        opt.filter.since_ms = *t;
    }
    if (a.until) {
        auto t = tenants::parse_report_time(*a.until);
        if (!t.ok()) return usage_error(make_error("--until: {}", t.error().message));
        opt.filter.until_ms = *t;
    }
    if (opt.filter.since_ms && opt.filter.until_ms && *opt.filter.until_ms <= *opt.filter.since_ms)
        return usage_error(make_error("--until must be later than --since"));
    if (a.by) {
        auto g = tenants::parse_usage_group(*a.by);
        if (!g.ok()) return usage_error(g.error());
        opt.group = *g;
    }
    opt.format = a.json  ? tenants::ReportFormat::Json
                 : a.csv ? tenants::ReportFormat::Csv
                         : tenants::ReportFormat::Text;
    if (!a.tenants_file.empty()) {
        auto file = tenants::load_tenants_file(a.tenants_file);
        if (!file.ok()) return fail(file.error());
        for (const tenants::Tenant& t : file->tenants)
            if (t.prices) opt.prices[t.id] = *t.prices;
    }
    tenants::LedgerOptions lo;
    lo.read_only = true;  // a report never creates a ledger, nor writes one
    auto ledger = tenants::UsageLedger::open(a.db, lo);
    if (!ledger.ok()) return fail(ledger.error());
    auto report = tenants::usage_report(**ledger, opt);
    if (!report.ok()) return fail(report.error());
    std::cout << *report << std::flush;
    return 0;
}

}  // namespace

Command add_usage(CLI::App& app) {
    auto a = std::make_shared<UsageArgs>();
    auto* u = app.add_subcommand("usage", "Tokens and requests per tenant from the usage ledger");
    u->add_option("--usage-db", a->db, "The ledger `serve --usage-db` writes")->required();
    u->add_option("--tenant", a->tenant, "Only this tenant");
    u->add_option("--since", a->since,
                  "Requests finished at or after: ISO 8601 (2026-12-07, 2026-12-07T15:00:00Z) "
                  "or unix seconds");
    u->add_option("--until", a->until, "Requests finished before (same forms as --since)");
    u->add_option("--by", a->by, "Also group by hour, day (UTC) or model");
    u->add_option("--tenants", a->tenants_file,
                  "Tenants file: a cost_usd column from its [tenant.prices] (USD per million "
                  "prompt, cached and completion tokens)");
    auto* json = u->add_flag("--json", a->json, "JSON: {\"rows\": [...], \"totals\": {...}}");
    u->add_flag("--csv", a->csv, "CSV with a header line")->excludes(json);
    return {u, [a] { return run_usage(*a); }};
}

}  // namespace ig::app
