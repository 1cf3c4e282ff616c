// Tenant limits over HTTP (`serve --tenants` with [tenant.limits]): 429 with
// an exact Retry-After and x-ratelimit-* headers, 400 for limits waiting
// cannot fix, concurrency slots freed when a job ends, the quota's
// insufficient_quota, the probes left open, and a measured run: a tenant
// hammered by several clients never gets more than its tokens per window.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "support/metrics_text.h"
#include "support/server_fixture.h"
#include "tenants/key_store.h"
#include "tenants/quota_period.h"

namespace ig::test {
namespace {

using nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;
using SteadyClock = std::chrono::steady_clock;

HttpReply send(uint16_t port, const std::string& method, const std::string& path,
               const std::string& key, const std::string& body = "") {
    std::string r = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    if (method == "POST")
        r += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\n";
    if (!key.empty()) r += "Authorization: Bearer " + key + "\r\n";
    r += "\r\n" + body;
    Conn c(port);
    if (!c.ok() || !c.send(r)) return {};
    return c.read_response(std::chrono::seconds(60));
}

std::string header(const HttpReply& r, const std::string& name) {
    auto it = r.headers.find(name);
    return it == r.headers.end() ? std::string() : it->second;
}

std::string key_of(const std::string& tenant) {
    return "ig-" + tenant + "-key-0123456789";
}

// One [[tenant]] per (id, limits TOML lines); admins, so that their keys read /metrics.
std::shared_ptr<const tenants::KeyStore> store(
    const std::vector<std::pair<std::string, std::string>>& tenants) {
    std::string text;
    for (const auto& [id, limits] : tenants) {
        text += "[[tenant]]\nid = \"" + id + "\"\nkeys = [\"" +
                tenants::key_hash_string(key_of(id)) + "\"]\nadmin = true\n";
        if (!limits.empty()) text += "[tenant.limits]\n" + limits + "\n";
    }
    auto f = tenants::parse_tenants(text, "tenants.toml");
    EXPECT_TRUE(f.ok()) << f.error().message;
    return std::make_shared<const tenants::KeyStore>(std::move(f).value());
}

// A limiter whose "minute" is `window_ms` (slots of 100 ms), so that
// honouring Retry-After takes seconds, not a minute.
std::shared_ptr<tenants::TenantLimiter> short_window(int64_t window_ms) {
    tenants::TenantLimiter::Options o;
    o.window_ms = window_ms;
    o.slots = static_cast<int32_t>(window_ms / 100);
    return std::make_shared<tenants::TenantLimiter>(o);
}

class TenantLimitsTest : public ::testing::Test {
  protected:
    void start(std::vector<std::pair<std::string, std::string>> tenants,
               std::shared_ptr<tenants::TenantLimiter> limiter = nullptr) {
        server::ServerConfig cfg;
        cfg.keys = store(tenants);
        cfg.limiter = limiter;
        cfg.request_log = false;
        srv_ = TestServer::start(cfg);
        ASSERT_TRUE(srv_);
    }
    HttpReply complete(const std::string& tenant, int max_tokens, const std::string& extra = "") {
        return send(srv_->port, "POST", "/v1/completions", key_of(tenant),
                    completion_body(extra, max_tokens));
    }
    int64_t prompt_tokens() {
        // "Once upon a time" as the served tokenizer counts it.
        EncodeOptions opt;
        opt.add_special = true;
        opt.parse_special = true;
        return static_cast<int64_t>(srv_->tokenizer->encode("Once upon a time", opt).size());
    }
    std::unique_ptr<TestServer> srv_;
};

TEST_F(TenantLimitsTest, TokensPerMinuteIs429WithHeadersAndHonouringRetryAfterSucceeds) {
    start({{"small", "tokens_per_minute = 100\nrequests_per_minute = 50"}, {"free", ""}},
          short_window(3000));
    int admitted = 0;
    int64_t used = 0;
    HttpReply r;
    for (int i = 0; i < 20; ++i) {
        r = complete("small", 20);
        if (r.status != 200) break;
        ++admitted;
        used += r.json()["usage"]["total_tokens"].get<int64_t>();
        // Every success carries the limits and what is left of them.
        EXPECT_EQ(header(r, "x-ratelimit-limit-tokens"), "100");
        EXPECT_EQ(header(r, "x-ratelimit-limit-requests"), "50");
        EXPECT_EQ(header(r, "x-ratelimit-remaining-requests"), std::to_string(50 - admitted));
        EXPECT_FALSE(header(r, "x-ratelimit-remaining-tokens").empty());
    }
    EXPECT_GE(admitted, 1);
    EXPECT_LE(used, 100);
    ASSERT_EQ(r.status, 429) << r.body;
    const json e = r.json()["error"];
    EXPECT_EQ(e["code"], "rate_limit_exceeded");
    EXPECT_EQ(e["type"], "tokens");
    EXPECT_NE(e["message"].get<std::string>().find("tokens_per_minute"), std::string::npos);
    const int retry = std::stoi(header(r, "retry-after"));
    EXPECT_GE(retry, 1);
    EXPECT_LE(retry, 4);  // a 3 s window of 100 ms slots
    EXPECT_EQ(header(r, "x-ratelimit-limit-tokens"), "100");
    EXPECT_EQ(std::stoi(header(r, "x-ratelimit-remaining-tokens")), 100 - used);
    // Other tenants are not held back.
    EXPECT_EQ(complete("free", 20).status, 200);
    EXPECT_EQ(header(complete("free", 20), "x-ratelimit-limit-tokens"), "");
    // Honoured, the same request succeeds.
    std::this_thread::sleep_for(std::chrono::seconds(retry));
    r = complete("small", 20);
    EXPECT_EQ(r.status, 200) << r.body;
    // The probes stay open, with or without a key.
    EXPECT_EQ(send(srv_->port, "GET", "/health", "").status, 200);
    EXPECT_EQ(send(srv_->port, "GET", "/ready", "").status, 200);
    // Counted by tenant and limit.
    const Exposition x = parse_exposition(send(srv_->port, "GET", "/metrics", key_of("free")).body);
    EXPECT_EQ(x.sum("infergrid_tenant_rate_limited_total",
                    {{"tenant", "small"}, {"limit", "tokens_per_minute"}}),
              1);
}

TEST_F(TenantLimitsTest, StreamedResponsesCarryTheHeadersAndChargeWhatStreams) {
    start({{"small", "tokens_per_minute = 1000"}}, short_window(60000));
    const HttpReply r =
        complete("small", 30, R"("stream":true,"stream_options":{"include_usage":true})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(header(r, "x-ratelimit-limit-tokens"), "1000");
    EXPECT_EQ(header(r, "x-ratelimit-remaining-tokens"),
              std::to_string(1000 - prompt_tokens() - 30));
    const std::vector<std::string> data = r.sse_data();
    ASSERT_GE(data.size(), 2u);
    const json usage = json::parse(data[data.size() - 2])["usage"];
    // What was not generated is refunded when the stream ends.
    const HttpReply r2 = complete("small", 1);
    EXPECT_EQ(header(r2, "x-ratelimit-remaining-tokens"),
              std::to_string(1000 - usage["total_tokens"].get<int64_t>() - prompt_tokens() - 1));
}

TEST_F(TenantLimitsTest, RequestsPerMinute) {
    start({{"slow", "requests_per_minute = 2"}});
    EXPECT_EQ(complete("slow", 1).status, 200);
    EXPECT_EQ(complete("slow", 1).status, 200);
    const HttpReply r = complete("slow", 1);
    ASSERT_EQ(r.status, 429);
    EXPECT_EQ(r.json()["error"]["type"], "requests");
    EXPECT_NE(r.json()["error"]["message"].get<std::string>().find("requests_per_minute"),
              std::string::npos);
    EXPECT_EQ(header(r, "x-ratelimit-remaining-requests"), "0");
    const int retry = std::stoi(header(r, "retry-after"));
    EXPECT_GE(retry, 59);
    EXPECT_LE(retry, 61);
}

TEST_F(TenantLimitsTest, PerRequestLimitsAre400sNamingTheLimit) {
    start({{"capped", "max_tokens = 8\nmax_context_tokens = 40\ntokens_per_minute = 60"}});
    HttpReply r = complete("capped", 9);
    ASSERT_EQ(r.status, 400) << r.body;
    json e = r.json()["error"];
    EXPECT_EQ(e["type"], "invalid_request_error");
    EXPECT_EQ(e["code"], "tenant_limit_exceeded");
    EXPECT_EQ(e["param"], "max_tokens");
    EXPECT_NE(e["message"].get<std::string>().find("max_tokens = 8"), std::string::npos);
    EXPECT_NE(e["message"].get<std::string>().find("is 9"), std::string::npos);
    EXPECT_EQ(header(r, "retry-after"), "");

    // A prompt that leaves no room in 40 tokens of context.
    std::string long_prompt;
    for (int i = 0; i < 40; ++i) long_prompt += "time ";
    r = send(srv_->port, "POST", "/v1/completions", key_of("capped"),
             json{{"prompt", long_prompt}, {"max_tokens", 4}}.dump());
    ASSERT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.json()["error"]["message"].get<std::string>().find("max_context_tokens = 40"),
              std::string::npos);

    // Four prompts and n = 2 may use more than tokens_per_minute ever allows.
    r = send(srv_->port, "POST", "/v1/completions", key_of("capped"),
             json{{"prompt", {"Once upon a time", "Once upon a time", "Once upon a time", "Once"}},
                  {"max_tokens", 8},
                  {"n", 2}}
                 .dump());
    ASSERT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.json()["error"]["message"].get<std::string>().find("tokens_per_minute = 60"),
              std::string::npos);

    // Without max_tokens, chat gets the limit as its default, not the context.
    r = send(srv_->port, "POST", "/v1/chat/completions", key_of("capped"),
             R"({"messages":[{"role":"user","content":"hi"}],"temperature":0})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_LE(r.json()["usage"]["completion_tokens"].get<int64_t>(), 8);
}

TEST_F(TenantLimitsTest, DefaultMaxTokensFitsTokensPerMinute) {
    // Chat's default is the rest of the context; under a small
    // tokens_per_minute it is what the limit leaves after the prompt.
    start({{"small", "tokens_per_minute = 40"}});
    const HttpReply r = send(srv_->port, "POST", "/v1/chat/completions", key_of("small"),
                             R"({"messages":[{"role":"user","content":"hi"}],"temperature":0})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_LE(r.json()["usage"]["total_tokens"].get<int64_t>(), 40);
    EXPECT_EQ(header(r, "x-ratelimit-remaining-tokens"), "0");
}

TEST_F(TenantLimitsTest, ConcurrencySlotIsHeldByTheJobAndFreedWhenItEnds) {
    auto limiter = std::make_shared<tenants::TenantLimiter>();
    start({{"one", "max_concurrent_requests = 1"}}, limiter);
    // Sequential requests each free their slot when they end.
    for (int i = 0; i < 3; ++i) ASSERT_EQ(complete("one", 4).status, 200);
    // A request in flight (held here through the same limiter) blocks the next.
    tenants::Limits l;
    l.max_concurrent_requests = 1;
    {
        tenants::Admission held = limiter->admit("one", l, tenants::Demand{});
        ASSERT_TRUE(held.ok());
        const HttpReply r = complete("one", 4);
        ASSERT_EQ(r.status, 429) << r.body;
        EXPECT_NE(r.json()["error"]["message"].get<std::string>().find("max_concurrent_requests"),
                  std::string::npos);
        EXPECT_EQ(header(r, "retry-after"), "1");
    }
    EXPECT_EQ(complete("one", 4).status, 200);
    // A client that goes away mid-stream frees its slot too.
    {
        Conn c(srv_->port);
        const std::string body = completion_body(R"("stream":true)", 400);
        ASSERT_TRUE(c.send(
            "POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key_of("one") +
            "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
            "\r\n\r\n" + body));
        ASSERT_TRUE(c.read_until(
            [](const std::string& b) { return b.find("\r\n\r\n") != std::string::npos; },
            std::chrono::seconds(30)));
    }
    int status = 0;
    for (int i = 0; i < 100 && status != 200; ++i) {
        status = complete("one", 4).status;
        if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(status, 200);
}

TEST_F(TenantLimitsTest, QuotaIs429InsufficientQuotaUntilTheUtcDayEnds) {
    start({{"metered", "quota_tokens = 60\nquota_period = \"day\""}});
    HttpReply r;
    int ok = 0;
    for (int i = 0; i < 20; ++i) {
        r = complete("metered", 8);
        if (r.status != 200) break;
        ++ok;
    }
    EXPECT_GE(ok, 1);
    ASSERT_EQ(r.status, 429) << r.body;
    const json e = r.json()["error"];
    EXPECT_EQ(e["type"], "insufficient_quota");
    EXPECT_EQ(e["code"], "insufficient_quota");
    const std::string msg = e["message"].get<std::string>();
    EXPECT_NE(msg.find("quota"), std::string::npos);
    EXPECT_NE(msg.find("per day"), std::string::npos);
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    const tenants::PeriodBounds day = tenants::quota_period_at(tenants::QuotaPeriod::Day, now_ms);
    EXPECT_NE(msg.find(tenants::utc_iso8601(day.end_ms)), std::string::npos) << msg;
    const int64_t retry = std::stoll(header(r, "retry-after"));
    EXPECT_NEAR(static_cast<double>(retry), (day.end_ms - now_ms) / 1000.0, 3.0);
    EXPECT_EQ(send(srv_->port, "GET", "/health", "").status, 200);
    const Exposition x =
        parse_exposition(send(srv_->port, "GET", "/metrics", key_of("metered")).body);
    EXPECT_EQ(
        x.sum("infergrid_tenant_rate_limited_total", {{"tenant", "metered"}, {"limit", "quota"}}),
        1);
}

// The measured claim: clients that honour Retry-After get a good share of
// the budget, and never more than it over any window. The "minute" is 5 s
// (50 slots of 100 ms) so the run takes 15 s.
TEST_F(TenantLimitsTest, MeasuredTokensPerWindowNeverExceedTheBudget) {
    constexpr int64_t kWindowMs = 5000, kBudget = 400;
    constexpr auto kRun = std::chrono::seconds(15);
    start({{"hammer", "tokens_per_minute = " + std::to_string(kBudget)}}, short_window(kWindowMs));
    struct Done {
        double sent, received;  // seconds since the start
        int64_t tokens;
    };
    std::mutex mu;
    std::vector<Done> done;
    int64_t refused = 0;
    const auto t0 = SteadyClock::now();
    auto since = [&](SteadyClock::time_point t) {
        return std::chrono::duration<double>(t - t0).count();
    };
    std::vector<std::thread> clients;
    for (int c = 0; c < 4; ++c)
        clients.emplace_back([&, c] {
            while (SteadyClock::now() - t0 < kRun) {
                const auto sent = SteadyClock::now();
                const HttpReply r = complete("hammer", 20 + 5 * c);
                const auto received = SteadyClock::now();
                if (r.status == 200) {
                    std::lock_guard lk(mu);
                    done.push_back({since(sent), since(received),
                                    r.json()["usage"]["total_tokens"].get<int64_t>()});
                } else {
                    ASSERT_EQ(r.status, 429) << r.body;
                    {
                        std::lock_guard lk(mu);
                        ++refused;
                    }
                    std::this_thread::sleep_for(
                        std::chrono::seconds(std::stoi(header(r, "retry-after"))));
                }
            }
        });
    for (auto& t : clients) t.join();
    const double run = since(SteadyClock::now());
    // Admitted somewhere in [sent, received]: a window that holds the whole
    // interval surely holds the admission.
    const double w = kWindowMs / 1000.0;
    int64_t worst_sure = 0, worst_by_send = 0, total = 0;
    for (const Done& a : done) {
        int64_t sure = 0, by_send = 0;
        for (const Done& b : done) {
            if (b.sent >= a.sent && b.received < a.sent + w) sure += b.tokens;
            if (b.sent >= a.sent && b.sent < a.sent + w) by_send += b.tokens;
        }
        worst_sure = std::max(worst_sure, sure);
        worst_by_send = std::max(worst_by_send, by_send);
        total += a.tokens;
    }
    const double budget_over_run = kBudget * run / w;
    std::printf(
        "measured: %zu admitted, %lld refused, %lld tokens in %.1f s (budget %lld per %.0f s: "
        "%.0f over the run, %.0f%%); most in any window: %lld (by send time %lld)\n",
        done.size(), static_cast<long long>(refused), static_cast<long long>(total), run,
        static_cast<long long>(kBudget), w, budget_over_run, 100.0 * total / budget_over_run,
        static_cast<long long>(worst_sure), static_cast<long long>(worst_by_send));
    EXPECT_LE(worst_sure, kBudget);
    EXPECT_GT(refused, 0);
    EXPECT_GE(static_cast<double>(total), 0.5 * budget_over_run);
}

}  // namespace
}  // namespace ig::test
