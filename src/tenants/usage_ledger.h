#pragma once
// The usage ledger (`serve --usage-db FILE`): one SQLite row per finished
// generation request, for billing and quotas. Durable: WAL with
// synchronous=FULL, so a committed row survives SIGKILL and power loss, and
// the server withholds a response's end until its row is committed.
//
// Writes go through one writer thread that commits everything queued in one
// transaction (group commit): an idle server commits a record at once (one
// fsync), a busy one batches all records that arrived during the previous
// commit. A response waits for its commit, so any deliberate delay would add
// straight to every request's latency; batching needs none. `batch_window`
// adds one for tests and for disks where fsyncs are dear, capped at 100 ms.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "util/expected.h"

struct sqlite3;

namespace ig::tenants {

// One finished request. Token counts are the `usage` its client was sent.
struct UsageRecord {
    std::string request_id;         // the OpenAI response id (chatcmpl-..., cmpl-...), unique
    std::string client_request_id;  // X-Request-Id (the client's, or request_id)
    std::string tenant;
    std::string key_id;  // first 12 hex digits of the key's SHA-256; empty without keys
    std::string model;
    std::string endpoint;  // "chat" or "completions"
    bool stream = false;
    int64_t prompt_tokens = 0;
    int64_t cached_tokens = 0;  // of prompt_tokens, served from the prefix cache
    int64_t completion_tokens = 0;
    int status = 200;           // the HTTP status (499: the client went away first)
    std::string finish_reason;  // stop, length, abort, error
    std::string error_code;     // empty on success
    int64_t received_at = 0;    // unix ms
    int64_t finished_at = 0;    // unix ms
};

struct LedgerOptions {
    // Extra wait after the first record of a batch before committing (0:
    // commit as soon as the writer is free). Capped at 100 ms.
    std::chrono::milliseconds batch_window{0};
    // Records queued and not yet committed. Past it append() fails at once
    // rather than block an IO thread or grow without bound (a disk that has
    // stalled for long); the caller then finishes the response unrecorded.
    size_t max_queue = 100'000;
    // The largest the database file may grow, in bytes (0: no limit); past
    // it commits fail as on a full disk (the callbacks get the error).
    int64_t max_bytes = 0;
    // Open an existing ledger for queries only (the report): no schema
    // creation, no writer thread. The file must still be writable: WAL
    // readers share the -shm index and may recover a killed writer's WAL.
    bool read_only = false;
};

enum class UsageGroup { None, Hour, Day, Model };

struct UsageFilter {
    std::optional<std::string> tenant;
    std::optional<int64_t> since_ms;  // finished_at >= since
    std::optional<int64_t> until_ms;  // finished_at < until
};

// Sums over the records of one tenant (and bucket).
struct UsageTotals {
    std::string tenant;
    std::string bucket;  // "2026-12-07T15:00Z", "2026-12-07" or the model; empty: no grouping
    int64_t requests = 0;
    int64_t prompt_tokens = 0;
    int64_t cached_tokens = 0;
    int64_t completion_tokens = 0;
};

struct LedgerStats {
    uint64_t commits = 0;    // transactions committed
    uint64_t committed = 0;  // records committed
    uint64_t failed = 0;     // records whose commit failed (callback got an error)
};

class UsageLedger {
  public:
    using Callback = std::function<void(Status)>;

    // Opens (creating when missing, unless read_only) the ledger at `path`. A
    // file that is not an SQLite database, another database without the
    // ledger's table, or a path that cannot be opened is an error.
    static Expected<std::unique_ptr<UsageLedger>> open(const std::string& path,
                                                       LedgerOptions opt = {});
    // Commits what is queued (every callback runs), then closes.
    ~UsageLedger();
    UsageLedger(const UsageLedger&) = delete;
    UsageLedger& operator=(const UsageLedger&) = delete;

    // Queues `r` and returns at once. `on_committed` runs later on the writer
    // thread with the commit's outcome (an error for a duplicate request id
    // or a failed commit); it must not block. On error (queue full, closed,
    // read-only) nothing is queued and `on_committed` is never called.
    Status append(UsageRecord r, Callback on_committed);
    // Blocks until everything appended before the call is committed.
    void flush();

    Expected<std::vector<UsageTotals>> totals(const UsageFilter& f, UsageGroup g) const;
    // Prompt + completion tokens of `tenant`'s records finished at or after
    // `unix_ms` (a quota period restored at startup).
    Expected<int64_t> tokens_since(const std::string& tenant, int64_t unix_ms) const;
    Expected<int64_t> count() const;
    LedgerStats stats() const;
    const std::string& path() const { return path_; }

  private:
    struct Pending {
        UsageRecord record;
        Callback done;
    };
    UsageLedger(std::string path, LedgerOptions opt, sqlite3* writer, sqlite3* reader);
    void writer_loop();
    // Inserts `batch` in one transaction; the status of each record.
    std::vector<Status> commit(const std::vector<Pending>& batch);

    std::string path_;
    LedgerOptions opt_;
    sqlite3* writer_db_ = nullptr;  // the writer thread's connection
    sqlite3* reader_db_ = nullptr;  // queries, under read_mu_
    mutable std::mutex read_mu_;

    mutable std::mutex mu_;
    std::condition_variable cv_;       // work for the writer, or stop
    std::condition_variable flushed_;  // a batch finished
    std::deque<Pending> queue_;
    uint64_t appended_ = 0;  // sequence numbers, for flush()
    uint64_t done_ = 0;
    bool stop_ = false;
    LedgerStats stats_;
    std::thread writer_;
};

}  // namespace ig::tenants
