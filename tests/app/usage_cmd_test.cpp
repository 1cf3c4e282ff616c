// `infergrid usage`: exit codes (2 for a bad flag value, 1 for a ledger that
// cannot be read) and the report of a real ledger.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>

#include <string>
#include <vector>

#include "app/commands.h"
#include "support/test_support.h"
#include "tenants/tenants_file.h"
#include "tenants/usage_ledger.h"

namespace ig::app {
namespace {

// Runs `infergrid usage <args>`; returns its exit code and stdout.
std::pair<int, std::string> run(const std::vector<std::string>& args) {
    CLI::App app;
    app.require_subcommand(1);
    const Command cmd = add_usage(app);
    std::vector<const char*> argv = {"infergrid", "usage"};
    for (const std::string& a : args) argv.push_back(a.c_str());
    try {
        app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::Error&) {
        return {-1, ""};
    }
    testing::internal::CaptureStdout();
    const int rc = cmd.run();
    return {rc, testing::internal::GetCapturedStdout()};
}

std::string sample_ledger(const test::TempDir& dir) {
    const std::string path = dir.file("usage.db");
    auto l = tenants::UsageLedger::open(path);
    EXPECT_TRUE(l.ok());
    int64_t at = 1796655600000;  // 2026-12-07T15:00:00Z
    for (const char* tenant : {"acme", "acme", "beta"}) {
        tenants::UsageRecord r;
        r.request_id = fmt::format("cmpl-{}", at);
        r.tenant = tenant;
        r.model = "m";
        r.prompt_tokens = 10;
        r.cached_tokens = 2;
        r.completion_tokens = 3;
        r.received_at = r.finished_at = at;
        at += 3600 * 1000;
        EXPECT_TRUE((*l)->append(r, {}).ok());
    }
    return path;
}

TEST(UsageCommand, ReportsJson) {
    test::TempDir dir;
    const std::string db = sample_ledger(dir);
    auto [rc, out] = run({"--usage-db", db, "--json"});
    ASSERT_EQ(rc, 0);
    const auto j = nlohmann::json::parse(out);
    EXPECT_EQ(j["totals"]["requests"], 3);
    EXPECT_EQ(j["totals"]["total_tokens"], 39);
    ASSERT_EQ(j["rows"].size(), 2u);

    std::tie(rc, out) = run({"--usage-db", db, "--json", "--tenant", "acme", "--since",
                             "2026-12-07T16:00:00Z", "--by", "hour"});
    ASSERT_EQ(rc, 0);
    const auto k = nlohmann::json::parse(out);
    ASSERT_EQ(k["rows"].size(), 1u);
    EXPECT_EQ(k["rows"][0]["hour"], "2026-12-07T16:00Z");

    std::tie(rc, out) = run({"--usage-db", db, "--csv", "--until", "1796659200"});
    ASSERT_EQ(rc, 0);
    EXPECT_EQ(out,
              "tenant,requests,prompt_tokens,cached_tokens,completion_tokens,total_tokens\n"
              "acme,1,10,2,3,13\n");

    std::tie(rc, out) = run({"--usage-db", db});
    ASSERT_EQ(rc, 0);
    EXPECT_NE(out.find("TOTAL"), std::string::npos);
}

TEST(UsageCommand, TenantsFilePricesGiveCost) {
    test::TempDir dir;
    const std::string db = sample_ledger(dir);
    const std::string tf = dir.file("tenants.toml");
    {
        std::ofstream f(tf);
        f << "[[tenant]]\nid = \"acme\"\nkeys = [\"" << tenants::key_hash_string("k")
          << "\"]\n[tenant.prices]\nprompt = 1\ncached = 0.5\ncompletion = 2\n";
    }
    auto [rc, out] = run({"--usage-db", db, "--json", "--tenants", tf});
    ASSERT_EQ(rc, 0);
    const auto j = nlohmann::json::parse(out);
    ASSERT_EQ(j["rows"].size(), 2u);
    // acme: 2 requests of 10 prompt (2 cached) and 3 completion tokens.
    EXPECT_NEAR(j["rows"][0]["cost_usd"].get<double>(), (16 * 1 + 4 * 0.5 + 6 * 2) / 1e6, 1e-12);
    EXPECT_TRUE(j["rows"][1]["cost_usd"].is_null()) << "beta has no prices";
    EXPECT_NEAR(j["totals"]["cost_usd"].get<double>(), 30e-6, 1e-12);
    EXPECT_EQ(run({"--usage-db", db, "--tenants", dir.file("missing.toml")}).first, 1);
}

TEST(UsageCommand, BadValuesExitTwo) {
    test::TempDir dir;
    const std::string db = sample_ledger(dir);
    EXPECT_EQ(run({"--usage-db", db, "--since", "yesterday"}).first, 2);
    EXPECT_EQ(run({"--usage-db", db, "--until", "2026-02-30"}).first, 2);
    EXPECT_EQ(run({"--usage-db", db, "--by", "week"}).first, 2);
    EXPECT_EQ(run({"--usage-db", db, "--since", "2026-12-08", "--until", "2026-12-07"}).first, 2);
    EXPECT_EQ(run({"--usage-db", db, "--json", "--csv"}).first, -1) << "CLI11 refuses";
}

TEST(UsageCommand, MissingLedgerIsAnErrorAndNotCreated) {
    test::TempDir dir;
    EXPECT_EQ(run({"--usage-db", dir.file("nope.db")}).first, 1);
    EXPECT_FALSE(test::exists(dir.file("nope.db")));
}

}  // namespace
}  // namespace ig::app
