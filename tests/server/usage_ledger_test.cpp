// `serve --usage-db`: a response's end reaches the client only once its usage
// record is committed (non-stream: the whole JSON; stream: the usage chunk
// and [DONE]), the record matches the `usage` the client saw, a request
// rejected before admission leaves none, an abandoned one still leaves one,
// and with API keys the record names the key by id, never by itself.
#include <gtest/gtest.h>

#include <sqlite3.h>
#include <fstream>
#include <future>
#include <iterator>

#include "support/metrics_text.h"
#include "support/server_fixture.h"
#include "tenants/key_store.h"
#include "tenants/usage_ledger.h"
#include "util/sha256.h"

namespace ig::test {
namespace {

using nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

struct Row {
    std::string request_id, client_request_id, tenant, key_id, model, endpoint, finish_reason,
        error_code;
    int64_t stream = 0, prompt = 0, cached = 0, completion = 0, status = 0, received_at = 0,
            finished_at = 0;
};

// The ledger's row for `request_id`, read through a connection of its own
// (what another process would see), or nullopt.
std::optional<Row> row_of(const std::string& db_path, const std::string& request_id) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
        sqlite3_close(db);
        return std::nullopt;
    }
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db,
                       "SELECT request_id, client_request_id, tenant, key_id, model, endpoint, "
                       "finish_reason, error_code, stream, prompt_tokens, cached_tokens, "
                       "completion_tokens, status, received_at, finished_at FROM usage WHERE "
                       "request_id = ?1",
                       -1, &s, nullptr);
    sqlite3_bind_text(s, 1, request_id.c_str(), -1, SQLITE_TRANSIENT);
    std::optional<Row> out;
    if (sqlite3_step(s) == SQLITE_ROW) {
        auto t = [&](int i) {
            const auto* p = sqlite3_column_text(s, i);
            return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
        };
        auto n = [&](int i) { return sqlite3_column_int64(s, i); };
        out = Row{t(0), t(1), t(2),  t(3),  t(4),  t(5),  t(6), t(7),
                  n(8), n(9), n(10), n(11), n(12), n(13), n(14)};
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return out;
}

HttpReply post(uint16_t port, const std::string& path, const std::string& body,
               const Headers& headers = {}) {
    std::string r = "POST " + path +
                    " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                    "application/json\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n";
    for (const auto& [k, v] : headers) r += k + ": " + v + "\r\n";
    r += "\r\n" + body;
    Conn c(port);
    if (!c.ok() || !c.send(r)) return {};
    return c.read_response(std::chrono::seconds(60));
}

class UsageLedgerServerTest : public ::testing::Test {
  protected:
    void start(server::ServerConfig cfg = {}, int64_t max_bytes = 0) {
        db_ = dir_.file("usage.db");
        // A wide batch window: were the end not withheld, the client would
        // see it long before the commit. (Not for filling a capped ledger
        // one record at a time.)
        tenants::LedgerOptions o;
        o.batch_window = std::chrono::milliseconds(max_bytes > 0 ? 0 : 100);
        o.max_bytes = max_bytes;
        auto l = tenants::UsageLedger::open(db_, o);
        ASSERT_TRUE(l.ok()) << l.error().message;
        ledger_ = std::move(l).value();
        cfg.ledger = ledger_;
        srv_ = TestServer::start(cfg);
        ASSERT_TRUE(srv_);
    }
    void TearDown() override { srv_.reset(); }

    TempDir dir_;
    std::string db_;
    std::shared_ptr<tenants::UsageLedger> ledger_;
    std::unique_ptr<TestServer> srv_;
};

TEST_F(UsageLedgerServerTest, NonStreamResponseArrivesAfterItsRecord) {
    start();
    for (int i = 0; i < 3; ++i) {
        const HttpReply r = post(srv_->port, "/v1/completions", completion_body("", 6),
                                 {{"X-Request-Id", "client-" + std::to_string(i)}});
        ASSERT_EQ(r.status, 200) << r.body;
        const json j = r.json();
        const auto row = row_of(db_, j["id"]);
        ASSERT_TRUE(row) << "the client has the response, so the record must be committed";
        EXPECT_EQ(row->client_request_id, "client-" + std::to_string(i));
        EXPECT_EQ(row->prompt, j["usage"]["prompt_tokens"].get<int64_t>());
        EXPECT_EQ(row->completion, j["usage"]["completion_tokens"].get<int64_t>());
        EXPECT_EQ(row->cached, j["usage"]["prompt_tokens_details"]["cached_tokens"].get<int64_t>());
        EXPECT_EQ(row->status, 200);
        EXPECT_EQ(row->finish_reason, j["choices"][0]["finish_reason"]);
        EXPECT_EQ(row->endpoint, "completions");
        EXPECT_EQ(row->model, "test-model");
        EXPECT_EQ(row->tenant, "none");
        EXPECT_EQ(row->key_id, "");
        EXPECT_EQ(row->stream, 0);
        EXPECT_EQ(row->error_code, "");
        EXPECT_GT(row->received_at, 1'700'000'000'000);
        EXPECT_GE(row->finished_at, row->received_at);
    }
}

TEST_F(UsageLedgerServerTest, StreamEndsAfterItsRecord) {
    start();
    const HttpReply r =
        post(srv_->port, "/v1/chat/completions",
             R"({"model":"test-model","messages":[{"role":"user","content":"hi"}],"max_tokens":5,)"
             R"("stream":true,"stream_options":{"include_usage":true},"temperature":0})",
             {{"X-Tenant-Id", "team-a"}});
    ASSERT_EQ(r.status, 200);
    const auto data = r.sse_data();
    ASSERT_GE(data.size(), 2u);
    ASSERT_EQ(data.back(), "[DONE]");
    const json usage_chunk = json::parse(data[data.size() - 2]);
    ASSERT_TRUE(usage_chunk["usage"].is_object()) << data[data.size() - 2];
    const auto row = row_of(db_, usage_chunk["id"]);
    ASSERT_TRUE(row) << "the client saw [DONE], so the record must be committed";
    EXPECT_EQ(row->prompt, usage_chunk["usage"]["prompt_tokens"].get<int64_t>());
    EXPECT_EQ(row->completion, usage_chunk["usage"]["completion_tokens"].get<int64_t>());
    EXPECT_EQ(row->stream, 1);
    EXPECT_EQ(row->endpoint, "chat");
    EXPECT_EQ(row->tenant, "team-a");
    EXPECT_EQ(row->client_request_id, row->request_id) << "no X-Request-Id: the response id";
}

TEST_F(UsageLedgerServerTest, RejectedRequestsLeaveNoRecord) {
    start();
    EXPECT_EQ(post(srv_->port, "/v1/completions", "{bad json").status, 400);
    EXPECT_EQ(post(srv_->port, "/v1/completions", R"({"model":"nope","prompt":"x"})").status, 404);
    EXPECT_EQ(post(srv_->port, "/v1/completions", completion_body(R"("temperature":-1)")).status,
              400);
    ledger_->flush();
    EXPECT_EQ(*ledger_->count(), 0);
}

TEST_F(UsageLedgerServerTest, AbandonedRequestIsStillRecorded) {
    start();
    {
        Conn c(srv_->port);
        // Streamed, gone at its first token: the tiny model would finish a
        // non-streamed 200 tokens before a timed abort.
        const std::string body = completion_body(R"("ignore_eos":true,"stream":true)", 400);
        ASSERT_TRUE(
            c.send("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: "
                   "application/json\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n\r\n" + body));
        ASSERT_TRUE(c.read_until(
            [](const std::string& b) { return b.find("\"text\"") != std::string::npos; },
            std::chrono::seconds(30)));
        c.abort();
    }
    ASSERT_TRUE(srv_->wait_blocks_free());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (*ledger_->count() == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const auto t = ledger_->totals({}, tenants::UsageGroup::None);
    ASSERT_TRUE(t.ok());
    ASSERT_EQ(t->size(), 1u);
    EXPECT_EQ((*t)[0].requests, 1);
    EXPECT_LT((*t)[0].completion_tokens, 400);
}

TEST_F(UsageLedgerServerTest, AFailedCommitStillEndsTheResponseAndIsCounted) {
    start({}, 64 << 10);
    // Fill the ledger to its cap, as a full disk would be: large records,
    // then records smaller than the server's, until one does not fit.
    for (size_t pad : {400, 0}) {
        for (int i = 0;; ++i) {
            ASSERT_LT(i, 5000) << "the cap was never reached";
            std::promise<Status> p;
            tenants::UsageRecord r;
            r.request_id = fmt::format("filler-{}-{:030}", pad, i);
            r.client_request_id.assign(pad, 'x');
            ASSERT_TRUE(ledger_->append(r, [&p](Status s) { p.set_value(std::move(s)); }).ok());
            if (!p.get_future().get().ok()) break;
        }
    }
    const HttpReply r = post(srv_->port, "/v1/completions", completion_body());
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_FALSE(row_of(db_, r.json()["id"]));
    const HttpReply m = fetch(srv_->port, "GET", "/metrics");
    const Exposition e = parse_exposition(m.body);
    EXPECT_TRUE(e.errors.empty());
    EXPECT_EQ(e.sum("infergrid_usage_ledger_errors_total"), 1);
}

TEST_F(UsageLedgerServerTest, KeysAreRecordedByIdOnly) {
    const std::string key = "ig-ledger-secret-key-0123456789";
    auto f = tenants::parse_tenants(
        "[[tenant]]\nid = \"acme\"\nkeys = [\"" + tenants::key_hash_string(key) + "\"]\n",
        "tenants.toml");
    ASSERT_TRUE(f.ok()) << f.error().message;
    server::ServerConfig cfg;
    cfg.keys = std::make_shared<const tenants::KeyStore>(std::move(f).value());
    start(cfg);
    // A client cannot name a key id (or a tenant) for its record.
    const HttpReply r = post(srv_->port, "/v1/completions", completion_body(),
                             {{"Authorization", "Bearer " + key},
                              {"X-Infergrid-Key-Id", "forged"},
                              {"X-Tenant-Id", "evil"}});
    ASSERT_EQ(r.status, 200) << r.body;
    const auto row = row_of(db_, r.json()["id"]);
    ASSERT_TRUE(row);
    EXPECT_EQ(row->tenant, "acme");
    const Sha256Digest h = sha256({reinterpret_cast<const uint8_t*>(key.data()), key.size()});
    EXPECT_EQ(row->key_id, tenants::key_id_of(h));
    EXPECT_EQ(row->key_id.size(), 12u);
    EXPECT_EQ(tenants::key_hash_string(key).substr(7, 12), row->key_id);
    // A 401 leaves no record.
    EXPECT_EQ(
        post(srv_->port, "/v1/completions", completion_body(), {{"Authorization", "Bearer wrong"}})
            .status,
        401);
    srv_.reset();
    ledger_->flush();
    EXPECT_EQ(*ledger_->count(), 1);
    // Neither the database nor its log holds the key's bytes.
    for (const char* suffix : {"", "-wal", "-shm"}) {
        std::ifstream in(db_ + suffix, std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), {});
        EXPECT_EQ(bytes.find(key), std::string::npos) << suffix;
        EXPECT_EQ(bytes.find("secret-key"), std::string::npos) << suffix;
    }
}

}  // namespace
}  // namespace ig::test
