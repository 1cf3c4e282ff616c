#include "tenants/usage_ledger.h"

#include <sqlite3.h>

#include <algorithm>
#include <iterator>

namespace ig::tenants {

namespace {

// Marks the file as ours ("igul"), so another application's database is
// refused rather than written into.
constexpr int kApplicationId = 0x6967756c;
constexpr int kSchemaVersion = 1;
constexpr std::chrono::milliseconds kMaxBatchWindow{100};

constexpr const char* kSchema = R"sql(
CREATE TABLE usage (
  id INTEGER PRIMARY KEY,
  request_id TEXT NOT NULL UNIQUE,
  client_request_id TEXT NOT NULL,
  tenant TEXT NOT NULL,
  key_id TEXT NOT NULL,
  model TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  stream INTEGER NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  cached_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  status INTEGER NOT NULL,
  finish_reason TEXT NOT NULL,
  error_code TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL
);
CREATE INDEX usage_finished ON usage (finished_at);
CREATE INDEX usage_tenant_finished ON usage (tenant, finished_at);
)sql";

constexpr const char* kInsert =
    "INSERT INTO usage (request_id, client_request_id, tenant, key_id, model, endpoint, stream, "
    "prompt_tokens, cached_tokens, completion_tokens, status, finish_reason, error_code, "
    "received_at, finished_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
    "?14, ?15)";

Error sql_error(sqlite3* db, const std::string& path, const char* what) {
    const int code = db ? sqlite3_errcode(db) : SQLITE_NOMEM;
    const char* msg = db ? sqlite3_errmsg(db) : "out of memory";
    if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
        return make_error(ErrorCode::Io, "usage ledger {}: not a usable SQLite database ({})", path,
                          msg);
    return make_error(ErrorCode::Io, "usage ledger {}: {}: {}", path, what, msg);
}

Status exec(sqlite3* db, const std::string& path, const char* sql) {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK)
        return sql_error(db, path, sql);
    return {};
}

// A statement that finalizes itself.
class Stmt {
  public:
    Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
    ~Stmt() { sqlite3_finalize(s_); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    bool ok() const { return rc_ == SQLITE_OK; }
    sqlite3_stmt* get() const { return s_; }
    void text(int i, const std::string& v) {
        sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    }
    void integer(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
    int step() { return sqlite3_step(s_); }
    int64_t col_int(int i) const { return sqlite3_column_int64(s_, i); }
    std::string col_text(int i) const {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, i));
        return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, i))) : std::string();
    }

  private:
    sqlite3_stmt* s_ = nullptr;
    int rc_ = SQLITE_ERROR;
};

Expected<int64_t> pragma_int(sqlite3* db, const std::string& path, const char* sql) {
    Stmt s(db, sql);
    if (!s.ok() || s.step() != SQLITE_ROW) return sql_error(db, path, sql);
    return s.col_int(0);
}

// Connection settings, then the schema: created in an empty file, checked in
// one of ours, refused in anything else.
Status prepare(sqlite3* db, const std::string& path, bool create) {
    sqlite3_busy_timeout(db, 5000);  // the report and the server may meet on a checkpoint
    // WAL: readers (the report) never block the writer; FULL: a commit
    // returns only once it is on disk, which is what "durable" promises.
    // The first read also tells a file that is not a database apart.
    IG_TRY(exec(db, path, "PRAGMA journal_mode=WAL"));
    IG_TRY(exec(db, path, "PRAGMA synchronous=FULL"));
    int64_t app = 0, objects = 0, version = 0;
    IG_ASSIGN_OR_RETURN(app, pragma_int(db, path, "PRAGMA application_id"));
    IG_ASSIGN_OR_RETURN(objects, pragma_int(db, path, "SELECT count(*) FROM sqlite_master"));
    IG_ASSIGN_OR_RETURN(version, pragma_int(db, path, "PRAGMA user_version"));
    if (app == kApplicationId) {
        if (version > kSchemaVersion)
            return make_error("usage ledger {}: schema version {} is newer than this build's {}",
                              path, version, kSchemaVersion);
        return {};
    }
    if (objects != 0 || !create)
        return make_error("usage ledger {}: an SQLite database, but not an infergrid usage ledger",
                          path);
    IG_TRY(exec(db, path, "BEGIN IMMEDIATE"));
    Status st = exec(db, path, kSchema);
    if (st.ok())
        st = exec(db, path,
                  fmt::format("PRAGMA application_id={}; PRAGMA user_version={}", kApplicationId,
                              kSchemaVersion)
                      .c_str());
    if (!st.ok()) {
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        return st;
    }
    return exec(db, path, "COMMIT");
}

Expected<sqlite3*> connect(const std::string& path, bool create) {
    sqlite3* db = nullptr;
    const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
        Error e = db ? make_error(ErrorCode::Io, "usage ledger {}: cannot open: {}", path,
                                  sqlite3_errmsg(db))
                     : make_error(ErrorCode::Io, "usage ledger {}: out of memory", path);
        sqlite3_close(db);
        return e;
    }
    sqlite3_extended_result_codes(db, 0);
    Status st = prepare(db, path, create);
    if (!st.ok()) {
        sqlite3_close(db);
        return st.error();
    }
    return db;
}

const char* bucket_expr(UsageGroup g) {
    switch (g) {
        case UsageGroup::Hour:
            return "strftime('%Y-%m-%dT%H:00Z', finished_at / 1000, 'unixepoch')";
        case UsageGroup::Day:
            return "strftime('%Y-%m-%d', finished_at / 1000, 'unixepoch')";
        case UsageGroup::Model:
            return "model";
        case UsageGroup::None:
            break;
    }
    return "''";
}

}  // namespace

Expected<std::unique_ptr<UsageLedger>> UsageLedger::open(const std::string& path,
                                                         LedgerOptions opt) {
    if (path.empty()) return make_error("usage ledger: the path is empty");
    sqlite3* writer = nullptr;
    if (!opt.read_only) IG_ASSIGN_OR_RETURN(writer, connect(path, true));
    if (writer && opt.max_bytes > 0) {
        auto page = pragma_int(writer, path, "PRAGMA page_size");
        if (!page.ok()) {
            sqlite3_close(writer);
            return page.error();
        }
        const int64_t pages = std::max<int64_t>(1, opt.max_bytes / std::max<int64_t>(1, *page));
        const std::string sql = fmt::format("PRAGMA max_page_count={}", pages);
        auto st = pragma_int(writer, path, sql.c_str());
        if (!st.ok()) {
            sqlite3_close(writer);
            return st.error();
        }
    }
    auto reader = connect(path, false);
    if (!reader.ok()) {
        sqlite3_close(writer);
        return reader.error();
    }
    return std::unique_ptr<UsageLedger>(new UsageLedger(path, opt, writer, *reader));
}

UsageLedger::UsageLedger(std::string path, LedgerOptions opt, sqlite3* writer, sqlite3* reader)
    : path_(std::move(path)), opt_(opt), writer_db_(writer), reader_db_(reader) {
    opt_.batch_window =
        std::clamp(opt_.batch_window, std::chrono::milliseconds(0), kMaxBatchWindow);
    if (writer_db_) writer_ = std::thread([this] { writer_loop(); });
}

UsageLedger::~UsageLedger() {
    {
        std::lock_guard lk(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (writer_.joinable()) writer_.join();
    sqlite3_close(writer_db_);
    sqlite3_close(reader_db_);
}

Status UsageLedger::append(UsageRecord r, Callback on_committed) {
    {
        std::lock_guard lk(mu_);
        if (!writer_db_) return make_error("usage ledger {}: opened read-only", path_);
        if (stop_) return make_error(ErrorCode::Unavailable, "usage ledger {}: closed", path_);
        if (queue_.size() >= opt_.max_queue)
            return make_error(ErrorCode::QueueFull,
                              "usage ledger {}: {} records wait for the disk; not recorded", path_,
                              queue_.size());
        queue_.push_back({std::move(r), std::move(on_committed)});
        ++appended_;
    }
    cv_.notify_one();
    return {};
}

void UsageLedger::flush() {
    std::unique_lock lk(mu_);
    const uint64_t target = appended_;
    flushed_.wait(lk, [&] { return done_ >= target || !writer_.joinable(); });
}

void UsageLedger::writer_loop() {
    std::unique_lock lk(mu_);
    for (;;) {
        cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and everything is committed
        if (opt_.batch_window.count() > 0 && !stop_)
            cv_.wait_for(lk, opt_.batch_window, [&] { return stop_; });
        std::vector<Pending> batch(std::make_move_iterator(queue_.begin()),
                                   std::make_move_iterator(queue_.end()));
        queue_.clear();
        lk.unlock();
        const std::vector<Status> results = commit(batch);
        uint64_t ok = 0;
        for (size_t i = 0; i < batch.size(); ++i) {
            ok += results[i].ok() ? 1 : 0;
            if (batch[i].done) batch[i].done(results[i]);
        }
        lk.lock();
        stats_.commits += 1;
        stats_.committed += ok;
        stats_.failed += batch.size() - ok;
        done_ += batch.size();
        flushed_.notify_all();
    }
}

std::vector<Status> UsageLedger::commit(const std::vector<Pending>& batch) {
    std::vector<Status> out(batch.size());
    auto fail_all = [&](const char* what) {
        const Error e = sql_error(writer_db_, path_, what);
        sqlite3_exec(writer_db_, "ROLLBACK", nullptr, nullptr, nullptr);
        std::fill(out.begin(), out.end(), Status(e));
        return out;
    };
    if (sqlite3_exec(writer_db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
        return fail_all("begin");
    Stmt ins(writer_db_, kInsert);
    if (!ins.ok()) return fail_all("prepare insert");
    for (size_t i = 0; i < batch.size(); ++i) {
        const UsageRecord& r = batch[i].record;
        sqlite3_reset(ins.get());
        ins.text(1, r.request_id);
        ins.text(2, r.client_request_id);
        ins.text(3, r.tenant);
        ins.text(4, r.key_id);
        ins.text(5, r.model);
        ins.text(6, r.endpoint);
        ins.integer(7, r.stream ? 1 : 0);
        ins.integer(8, r.prompt_tokens);
        ins.integer(9, r.cached_tokens);
        ins.integer(10, r.completion_tokens);
        ins.integer(11, r.status);
        ins.text(12, r.finish_reason);
        ins.text(13, r.error_code);
        ins.integer(14, r.received_at);
        ins.integer(15, r.finished_at);
        const int rc = ins.step();
        if (rc == SQLITE_DONE) continue;
        // A constraint failure undoes this statement only; the batch goes on.
        if (rc == SQLITE_CONSTRAINT) {
            out[i] = make_error("usage ledger {}: request id '{}' is already recorded", path_,
                                r.request_id);
            continue;
        }
        return fail_all("insert");  // disk full, IO error: nothing of the batch is kept
    }
    if (sqlite3_exec(writer_db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK)
        return fail_all("commit");
    return out;
}

Expected<std::vector<UsageTotals>> UsageLedger::totals(const UsageFilter& f, UsageGroup g) const {
    std::string sql = fmt::format(
        "SELECT tenant, {} AS bucket, count(*), total(prompt_tokens), total(cached_tokens), "
        "total(completion_tokens) FROM usage WHERE 1",
        bucket_expr(g));
    if (f.tenant) sql += " AND tenant = ?1";
    if (f.since_ms) sql += " AND finished_at >= ?2";
    if (f.until_ms) sql += " AND finished_at < ?3";
    sql += " GROUP BY tenant, bucket ORDER BY tenant, bucket";
    std::lock_guard lk(read_mu_);
    Stmt s(reader_db_, sql.c_str());
    if (!s.ok()) return sql_error(reader_db_, path_, "query");
    if (f.tenant) s.text(1, *f.tenant);
    if (f.since_ms) s.integer(2, *f.since_ms);
    if (f.until_ms) s.integer(3, *f.until_ms);
    std::vector<UsageTotals> rows;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
        UsageTotals t;
        t.tenant = s.col_text(0);
        t.bucket = g == UsageGroup::None ? std::string() : s.col_text(1);
        t.requests = s.col_int(2);
        // total() is a float sum (never NULL); exact below 2^53 tokens.
        t.prompt_tokens = static_cast<int64_t>(sqlite3_column_double(s.get(), 3));
        t.cached_tokens = static_cast<int64_t>(sqlite3_column_double(s.get(), 4));
        t.completion_tokens = static_cast<int64_t>(sqlite3_column_double(s.get(), 5));
        rows.push_back(std::move(t));
    }
    if (rc != SQLITE_DONE) return sql_error(reader_db_, path_, "query");
    return rows;
}

Expected<int64_t> UsageLedger::tokens_since(const std::string& tenant, int64_t unix_ms) const {
    UsageFilter f;
    f.tenant = tenant;
    f.since_ms = unix_ms;
    std::vector<UsageTotals> rows;
    IG_ASSIGN_OR_RETURN(rows, totals(f, UsageGroup::None));
    int64_t sum = 0;
    for (const UsageTotals& t : rows) sum += t.prompt_tokens + t.completion_tokens;
    return sum;
}

Expected<int64_t> UsageLedger::count() const {
    std::lock_guard lk(read_mu_);
    return pragma_int(reader_db_, path_, "SELECT count(*) FROM usage");
}

LedgerStats UsageLedger::stats() const {
    std::lock_guard lk(mu_);
    return stats_;
}

}  // namespace ig::tenants
