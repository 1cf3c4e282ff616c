// UsageLedger: every append reaches its callback once committed, appends
// batch into few transactions, a request id is recorded once, records
// survive a reopen, and files that are no ledger (or cannot be one) are
// clear errors. Totals group and filter as the report needs.
#include "tenants/usage_ledger.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <fstream>
#include <future>

#include "support/test_support.h"

namespace ig::tenants {
namespace {

constexpr int64_t kDay = 1796601600000;  // 2026-12-07T00:00:00Z in unix ms
constexpr int64_t kHour = 3600 * 1000;

UsageRecord rec(const std::string& id, const std::string& tenant = "acme", int64_t at = kDay,
                const std::string& model = "m1") {
    UsageRecord r;
    r.request_id = id;
    r.client_request_id = "client-" + id;
    r.tenant = tenant;
    r.key_id = "0123456789ab";
    r.model = model;
    r.endpoint = "chat";
    r.prompt_tokens = 10;
    r.cached_tokens = 4;
    r.completion_tokens = 5;
    r.finish_reason = "stop";
    r.received_at = at - 100;
    r.finished_at = at;
    return r;
}

// Appends and waits for the commit's status.
Status append_wait(UsageLedger& l, UsageRecord r) {
    std::promise<Status> p;
    auto f = p.get_future();
    Status st = l.append(std::move(r), [&p](Status s) { p.set_value(std::move(s)); });
    if (!st.ok()) return st;
    return f.get();
}

std::unique_ptr<UsageLedger> open_ok(const std::string& path, LedgerOptions o = {}) {
    auto l = UsageLedger::open(path, o);
    EXPECT_TRUE(l.ok()) << l.error().message;
    return l.ok() ? std::move(l).value() : nullptr;
}

TEST(UsageLedger, AppendCommitsThenCallsBack) {
    test::TempDir dir;
    auto l = open_ok(dir.file("u.db"));
    ASSERT_TRUE(l);
    ASSERT_TRUE(append_wait(*l, rec("a")).ok());
    // Committed before the callback ran: another connection sees it.
    auto reader = open_ok(dir.file("u.db"), {.read_only = true});
    ASSERT_TRUE(reader);
    EXPECT_EQ(*reader->count(), 1);
    auto t = reader->totals({}, UsageGroup::None);
    ASSERT_TRUE(t.ok());
    ASSERT_EQ(t->size(), 1u);
    EXPECT_EQ((*t)[0].tenant, "acme");
    EXPECT_EQ((*t)[0].requests, 1);
    EXPECT_EQ((*t)[0].prompt_tokens, 10);
    EXPECT_EQ((*t)[0].cached_tokens, 4);
    EXPECT_EQ((*t)[0].completion_tokens, 5);
}

TEST(UsageLedger, RecordsEveryField) {
    test::TempDir dir;
    auto l = open_ok(dir.file("u.db"));
    ASSERT_TRUE(l);
    UsageRecord r = rec("chatcmpl-1");
    r.stream = true;
    r.status = 503;
    r.error_code = "request_cancelled";
    r.finish_reason = "abort";
    ASSERT_TRUE(append_wait(*l, r).ok());
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(dir.file("u.db").c_str(), &db), SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db,
                                 "SELECT request_id, client_request_id, tenant, key_id, model, "
                                 "endpoint, stream, status, finish_reason, error_code, "
                                 "received_at, finished_at FROM usage",
                                 -1, &s, nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
    auto text = [&](int i) {
        return std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, i)));
    };
    EXPECT_EQ(text(0), "chatcmpl-1");
    EXPECT_EQ(text(1), "client-chatcmpl-1");
    EXPECT_EQ(text(2), "acme");
    EXPECT_EQ(text(3), "0123456789ab");
    EXPECT_EQ(text(4), "m1");
    EXPECT_EQ(text(5), "chat");
    EXPECT_EQ(sqlite3_column_int(s, 6), 1);
    EXPECT_EQ(sqlite3_column_int(s, 7), 503);
    EXPECT_EQ(text(8), "abort");
    EXPECT_EQ(text(9), "request_cancelled");
    EXPECT_EQ(sqlite3_column_int64(s, 10), kDay - 100);
    EXPECT_EQ(sqlite3_column_int64(s, 11), kDay);
    sqlite3_finalize(s);
    sqlite3_close(db);
}

TEST(UsageLedger, ManyAppendsFewCommits) {
    test::TempDir dir;
    LedgerOptions o;
    o.batch_window = std::chrono::milliseconds(50);
    auto l = open_ok(dir.file("u.db"), o);
    ASSERT_TRUE(l);
    std::atomic<int> ok{0};
    for (int i = 0; i < 500; ++i)
        ASSERT_TRUE(
            l->append(rec(fmt::format("r{}", i)), [&](Status s) { ok += s.ok() ? 1 : 0; }).ok());
    l->flush();
    EXPECT_EQ(ok.load(), 500);
    const LedgerStats st = l->stats();
    EXPECT_EQ(st.committed, 500u);
    EXPECT_LE(st.commits, 3u) << "500 appends within one batch window";
    EXPECT_EQ(*l->count(), 500);
}

TEST(UsageLedger, GroupCommitBatchesWithoutAWindow) {
    test::TempDir dir;
    auto l = open_ok(dir.file("u.db"));
    ASSERT_TRUE(l);
    for (int i = 0; i < 2000; ++i) ASSERT_TRUE(l->append(rec(fmt::format("r{}", i)), {}).ok());
    l->flush();
    EXPECT_EQ(l->stats().committed, 2000u);
    // Records that arrive during a commit share the next one.
    EXPECT_LT(l->stats().commits, 1000u);
}

TEST(UsageLedger, DuplicateRequestIdIsRefused) {
    test::TempDir dir;
    auto l = open_ok(dir.file("u.db"));
    ASSERT_TRUE(l);
    ASSERT_TRUE(append_wait(*l, rec("dup")).ok());
    Status again = append_wait(*l, rec("dup"));
    ASSERT_FALSE(again.ok());
    EXPECT_NE(again.error().message.find("already recorded"), std::string::npos);
    // Within one batch: the duplicate fails alone, its neighbours commit.
    std::vector<Status> got(3);
    std::atomic<int> calls{0};
    ASSERT_TRUE(l->append(rec("x1"), [&](Status s) { got[0] = s, ++calls; }).ok());
    ASSERT_TRUE(l->append(rec("x1"), [&](Status s) { got[1] = s, ++calls; }).ok());
    ASSERT_TRUE(l->append(rec("x2"), [&](Status s) { got[2] = s, ++calls; }).ok());
    l->flush();
    EXPECT_EQ(calls.load(), 3);
    EXPECT_TRUE(got[0].ok());
    EXPECT_FALSE(got[1].ok());
    EXPECT_TRUE(got[2].ok());
    EXPECT_EQ(*l->count(), 3);
}

TEST(UsageLedger, CloseCommitsWhatIsQueuedAndReopenKeepsIt) {
    test::TempDir dir;
    std::atomic<int> ok{0};
    {
        LedgerOptions o;
        o.batch_window = std::chrono::milliseconds(100);
        auto l = open_ok(dir.file("u.db"), o);
        ASSERT_TRUE(l);
        for (int i = 0; i < 20; ++i)
            ASSERT_TRUE(
                l->append(rec(fmt::format("r{}", i)), [&](Status s) { ok += s.ok(); }).ok());
    }  // no flush: the destructor commits
    EXPECT_EQ(ok.load(), 20);
    auto l = open_ok(dir.file("u.db"));
    ASSERT_TRUE(l);
    EXPECT_EQ(*l->count(), 20);
    ASSERT_TRUE(append_wait(*l, rec("r20")).ok());
    EXPECT_FALSE(append_wait(*l, rec("r3")).ok()) << "ids stay unique across reopens";
    EXPECT_EQ(*l->count(), 21);
}

TEST(UsageLedger, FullQueueRefusesAtOnce) {
    test::TempDir dir;
    LedgerOptions o;
    o.max_queue = 0;
    auto l = open_ok(dir.file("u.db"), o);
    ASSERT_TRUE(l);
    bool called = false;
    Status st = l->append(rec("a"), [&](Status) { called = true; });
    EXPECT_FALSE(st.ok());
    l->flush();
    EXPECT_FALSE(called);
}

TEST(UsageLedger, AFailedCommitReachesEveryCallback) {
    test::TempDir dir;
    LedgerOptions o;
    o.max_bytes = 64 << 10;  // a disk that fills up
    auto l = open_ok(dir.file("u.db"), o);
    ASSERT_TRUE(l);
    Status last;
    int ok = 0;
    for (int i = 0; i < 5000 && last.ok(); ++i) {
        UsageRecord r = rec(fmt::format("r{}", i));
        r.client_request_id.assign(200, 'x');
        last = append_wait(*l, r);
        ok += last.ok() ? 1 : 0;
    }
    ASSERT_FALSE(last.ok()) << "the cap was never reached";
    EXPECT_NE(last.error().message.find("full"), std::string::npos) << last.error().message;
    EXPECT_GT(ok, 10);
    // Nothing hangs, and what was committed stays.
    l->flush();
    EXPECT_EQ(*l->count(), ok);
    EXPECT_GE(l->stats().failed, 1u);
}

TEST(UsageLedger, NotADatabaseIsAnError) {
    test::TempDir dir;
    const std::string p = dir.file("garbage.db");
    {
        std::ofstream f(p, std::ios::binary);
        for (int i = 0; i < 200; ++i) f << "this is not an sqlite file ";
    }
    auto l = UsageLedger::open(p);
    ASSERT_FALSE(l.ok());
    EXPECT_NE(l.error().message.find("not a usable SQLite database"), std::string::npos)
        << l.error().message;
    EXPECT_NE(l.error().message.find(p), std::string::npos);
}

TEST(UsageLedger, AnotherDatabaseIsAnError) {
    test::TempDir dir;
    const std::string p = dir.file("other.db");
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(p.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t (x)", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    auto l = UsageLedger::open(p);
    ASSERT_FALSE(l.ok());
    EXPECT_NE(l.error().message.find("not an infergrid usage ledger"), std::string::npos)
        << l.error().message;
}

TEST(UsageLedger, UnopenablePathIsAnError) {
    test::TempDir dir;
    auto l = UsageLedger::open(dir.file("no/such/dir/u.db"));
    ASSERT_FALSE(l.ok());
    EXPECT_NE(l.error().message.find("cannot open"), std::string::npos) << l.error().message;
    auto d = UsageLedger::open(dir.path().string());  // a directory
    EXPECT_FALSE(d.ok());
    EXPECT_FALSE(UsageLedger::open("").ok());
}

TEST(UsageLedger, ReadOnlyNeedsAnExistingLedger) {
    test::TempDir dir;
    auto l = UsageLedger::open(dir.file("missing.db"), {.read_only = true});
    ASSERT_FALSE(l.ok());
    EXPECT_FALSE(test::exists(dir.file("missing.db")));
    auto w = open_ok(dir.file("u.db"));
    ASSERT_TRUE(w);
    auto r = open_ok(dir.file("u.db"), {.read_only = true});
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->append(rec("a"), {}).ok());
}

TEST(UsageLedger, TotalsGroupAndFilter) {
    test::TempDir dir;
    auto l = open_ok(dir.file("u.db"));
    ASSERT_TRUE(l);
    ASSERT_TRUE(l->append(rec("1", "acme", kDay + 1 * kHour, "m1"), {}).ok());
    ASSERT_TRUE(l->append(rec("2", "acme", kDay + 1 * kHour + 5, "m2"), {}).ok());
    ASSERT_TRUE(l->append(rec("3", "acme", kDay + 2 * kHour, "m1"), {}).ok());
    ASSERT_TRUE(l->append(rec("4", "beta", kDay + 25 * kHour, "m1"), {}).ok());
    l->flush();

    auto all = l->totals({}, UsageGroup::None);
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ((*all)[0].tenant, "acme");
    EXPECT_EQ((*all)[0].requests, 3);
    EXPECT_EQ((*all)[0].prompt_tokens, 30);
    EXPECT_EQ((*all)[1].tenant, "beta");
    EXPECT_EQ((*all)[1].bucket, "");

    auto hours = l->totals({}, UsageGroup::Hour);
    ASSERT_TRUE(hours.ok());
    ASSERT_EQ(hours->size(), 3u);
    EXPECT_EQ((*hours)[0].bucket, "2026-12-07T01:00Z");
    EXPECT_EQ((*hours)[0].requests, 2);
    EXPECT_EQ((*hours)[1].bucket, "2026-12-07T02:00Z");
    EXPECT_EQ((*hours)[2].bucket, "2026-12-08T01:00Z");

    auto days = l->totals({}, UsageGroup::Day);
    ASSERT_TRUE(days.ok());
    ASSERT_EQ(days->size(), 2u);
    EXPECT_EQ((*days)[0].bucket, "2026-12-07");
    EXPECT_EQ((*days)[1].bucket, "2026-12-08");

    auto models = l->totals({}, UsageGroup::Model);
    ASSERT_TRUE(models.ok());
    ASSERT_EQ(models->size(), 3u);
    EXPECT_EQ((*models)[0].bucket, "m1");
    EXPECT_EQ((*models)[0].requests, 2);
    EXPECT_EQ((*models)[1].bucket, "m2");

    UsageFilter f;
    f.tenant = "acme";
    f.since_ms = kDay + 1 * kHour + 5;  // inclusive
    f.until_ms = kDay + 2 * kHour;      // exclusive
    auto some = l->totals(f, UsageGroup::None);
    ASSERT_TRUE(some.ok());
    ASSERT_EQ(some->size(), 1u);
    EXPECT_EQ((*some)[0].requests, 1);

    f.tenant = "nobody";
    EXPECT_TRUE(l->totals(f, UsageGroup::None)->empty());

    EXPECT_EQ(*l->tokens_since("acme", kDay), 45);
    EXPECT_EQ(*l->tokens_since("acme", kDay + 2 * kHour), 15);
    EXPECT_EQ(*l->tokens_since("beta", kDay + 26 * kHour), 0);
}

}  // namespace
}  // namespace ig::tenants
