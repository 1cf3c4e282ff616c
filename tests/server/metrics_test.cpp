// GET /metrics against live traffic: the exposition is well-formed, the
// counters and histogram counts agree with the requests sent, X-Request-Id
// and the JSON request log, tenant label folding, and every metric the
// Grafana dashboard and the alert rules use exists in a scrape.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>

#include "support/metrics_text.h"
#include "support/server_fixture.h"

namespace ig::test {
namespace {

using nlohmann::json;

HttpReply post(uint16_t port, const std::string& path, const std::string& body,
               const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    std::string r =
        "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    for (const auto& [k, v] : headers) r += k + ": " + v + "\r\n";
    r += "\r\n" + body;
    Conn c(port);
    if (!c.ok() || !c.send(r)) return {};
    return c.read_response(std::chrono::seconds(60));
}

Exposition scrape(uint16_t port, std::string* raw = nullptr) {
    HttpReply r = fetch(port, "GET", "/metrics");
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.headers["content-type"].find("text/plain; version=0.0.4"), std::string::npos);
    if (raw) *raw = r.body;
    Exposition e = parse_exposition(r.body);
    for (const std::string& err : e.errors) ADD_FAILURE() << err;
    return e;
}

// Usage of a non-streamed response, or of a streamed one's usage chunk.
json usage_of(const HttpReply& r) {
    if (r.headers.count("content-type") &&
        r.headers.at("content-type").find("event-stream") != std::string::npos) {
        for (const std::string& d : r.sse_data()) {
            if (d == "[DONE]") continue;
            json j = json::parse(d);
            if (j.contains("usage") && !j["usage"].is_null()) return j["usage"];
        }
        return {};
    }
    return r.json()["usage"];
}

// Every histogram series: buckets ascending in `le`, non-decreasing, +Inf == _count.
void check_histograms(const Exposition& e) {
    for (const auto& [family, type] : e.types) {
        if (type != "histogram") continue;
        std::map<std::string, std::vector<std::pair<double, double>>> series;  // labels -> (le, v)
        std::map<std::string, double> counts;
        for (const Sample& s : e.samples) {
            std::map<std::string, std::string> l = s.labels;
            const std::string le = l["le"];
            l.erase("le");
            std::string key;
            for (const auto& [k, v] : l) key += k + "=" + v + ",";
            if (s.name == family + "_bucket")
                series[key].emplace_back(le == "+Inf" ? INFINITY : std::stod(le), s.value);
            if (s.name == family + "_count") counts[key] = s.value;
        }
        for (const auto& [key, b] : series) {
            ASSERT_FALSE(b.empty());
            for (size_t i = 1; i < b.size(); ++i) {
                EXPECT_LT(b[i - 1].first, b[i].first) << family;
                EXPECT_LE(b[i - 1].second, b[i].second) << family;
            }
            EXPECT_EQ(b.back().first, INFINITY) << family;
            EXPECT_EQ(b.back().second, counts[key]) << family << " " << key;
        }
    }
}

struct LogCapture {
    std::mutex mu;
    std::vector<std::string> lines;
    server::ServerConfig config() {
        server::ServerConfig cfg;
        cfg.request_log_sink = [this](const std::string& l) {
            std::lock_guard lk(mu);
            lines.push_back(l);
        };
        return cfg;
    }
    std::vector<std::string> get() {
        std::lock_guard lk(mu);
        return lines;
    }
};

class MetricsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (server_model_path().empty()) GTEST_SKIP() << "no model";
    }
};

TEST_F(MetricsTest, CountersAndHistogramsAgreeWithTraffic) {
    LogCapture log;
    auto srv = TestServer::start(log.config());
    ASSERT_NE(srv, nullptr);
    const uint16_t port = srv->port;
    int64_t prompt = 0, completion = 0, gaps = 0;
    std::map<std::string, int> by_reason;
    auto account = [&](const HttpReply& r) {
        ASSERT_EQ(r.status, 200) << r.body;
        const json u = usage_of(r);
        ASSERT_TRUE(u.is_object()) << r.body;
        prompt += u["prompt_tokens"].get<int64_t>();
        completion += u["completion_tokens"].get<int64_t>();
        gaps += std::max<int64_t>(0, u["completion_tokens"].get<int64_t>() - 1);
    };
    for (int i = 0; i < 3; ++i) {
        HttpReply r =
            post(port, "/v1/completions", completion_body("", 4 + i), {{"X-Tenant-Id", "acme"}});
        account(r);
        by_reason[r.json()["choices"][0]["finish_reason"]]++;
    }
    for (int i = 0; i < 2; ++i) {
        const std::string body =
            R"({"model":"test-model","messages":[{"role":"user","content":"Tell me a story"}],)"
            R"("max_tokens":6,"temperature":0,"stream":true,"stream_options":{"include_usage":true}})";
        account(post(port, "/v1/chat/completions", body, {{"X-Tenant-Id", "globex"}}));
    }
    EXPECT_EQ(post(port, "/v1/completions", "{not json").status, 400);
    ASSERT_TRUE(srv->wait_blocks_free());

    const Exposition e = scrape(port);
    check_histograms(e);
    const std::map<std::string, std::string> m = {{"model", "test-model"}};
    EXPECT_EQ(e.types.at("infergrid_request_success_total"), "counter");
    EXPECT_EQ(e.sum("infergrid_request_success_total", m), 5);
    EXPECT_EQ(e.sum("infergrid_request_success_total", {{"tenant", "acme"}}), 3);
    EXPECT_EQ(e.sum("infergrid_request_success_total", {{"tenant", "globex"}}), 2);
    for (const auto& [reason, n] : by_reason)
        EXPECT_GE(e.sum("infergrid_request_success_total",
                        {{"tenant", "acme"}, {"finished_reason", reason}}),
                  n);
    EXPECT_EQ(e.sum("infergrid_prompt_tokens_total", m), double(prompt));
    EXPECT_EQ(e.sum("infergrid_generation_tokens_total", m), double(completion));
    EXPECT_EQ(e.sum("infergrid_request_errors_total", {{"type", "invalid_json"}}), 1);
    EXPECT_EQ(e.sum("infergrid_http_requests_total",
                    {{"endpoint", "/v1/completions"}, {"status", "400"}}),
              1);
    EXPECT_EQ(e.sum("infergrid_http_requests_total",
                    {{"endpoint", "/v1/completions"}, {"status", "200"}}),
              3);
    EXPECT_EQ(e.sum("infergrid_http_requests_total",
                    {{"endpoint", "/v1/chat/completions"}, {"status", "200"}}),
              2);
    for (const char* h :
         {"infergrid_time_to_first_token_seconds", "infergrid_e2e_request_latency_seconds",
          "infergrid_request_queue_time_seconds", "infergrid_request_prefill_time_seconds",
          "infergrid_request_decode_time_seconds", "infergrid_request_prompt_tokens",
          "infergrid_request_generation_tokens"}) {
        EXPECT_EQ(e.types.at(h), "histogram") << h;
        EXPECT_EQ(e.sum(std::string(h) + "_count", m), 5) << h;
    }
    EXPECT_EQ(e.sum("infergrid_request_prompt_tokens_sum", m), double(prompt));
    EXPECT_EQ(e.sum("infergrid_request_generation_tokens_sum", m), double(completion));
    EXPECT_EQ(e.sum("infergrid_inter_token_latency_seconds_count", m), double(gaps));
    EXPECT_GT(e.sum("infergrid_engine_step_duration_seconds_count", m), 0);
    EXPECT_EQ(e.sum("infergrid_engine_step_duration_seconds_count", m),
              e.sum("infergrid_engine_steps_total", m));
    EXPECT_GT(e.sum("infergrid_engine_busy_seconds_total", m), 0);
    EXPECT_EQ(e.sum("infergrid_num_requests_running", m), 0);
    EXPECT_EQ(e.sum("infergrid_kv_cache_usage_perc", m), 0);
    EXPECT_GT(e.sum("infergrid_model_load_seconds", m), 0);
    EXPECT_EQ(e.sum("infergrid_build_info", m), 1);
    EXPECT_GT(e.sum("process_resident_memory_bytes"), 1e6);
    EXPECT_EQ(log.get().size(), 6u);  // one line per generation request, rejected one included
}

// One observation per sequence (a choice of a prompt): 2 prompts x n 2 add 4
// to every per-request histogram and to request_success_total; the token
// counters count each prompt once and every generated token.
TEST_F(MetricsTest, EveryPerRequestFamilyCountsSequences) {
    auto srv = TestServer::start();
    ASSERT_NE(srv, nullptr);
    HttpReply r = post(srv->port, "/v1/completions",
                       R"({"model":"test-model","prompt":["Once","Twice"],"max_tokens":3,"n":2,)"
                       R"("ignore_eos":true,"seed":1})");
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(r.json()["choices"].size(), 4u);
    const json u = r.json()["usage"];
    ASSERT_TRUE(srv->wait_blocks_free());
    const Exposition e = scrape(srv->port);
    const std::map<std::string, std::string> m = {{"model", "test-model"}};
    for (const char* h :
         {"infergrid_time_to_first_token_seconds", "infergrid_e2e_request_latency_seconds",
          "infergrid_request_queue_time_seconds", "infergrid_request_prefill_time_seconds",
          "infergrid_request_decode_time_seconds", "infergrid_request_prompt_tokens",
          "infergrid_request_generation_tokens", "infergrid_request_time_per_output_token_seconds"})
        EXPECT_EQ(e.sum(std::string(h) + "_count", m), 4) << h;
    EXPECT_EQ(e.sum("infergrid_request_success_total", m), 4);
    EXPECT_EQ(e.sum("infergrid_request_generation_tokens_sum", m), 12);  // 4 x 3
    EXPECT_EQ(e.sum("infergrid_generation_tokens_total", m), 12);
    // usage counts each prompt once; the histogram sees it once per choice.
    EXPECT_EQ(e.sum("infergrid_prompt_tokens_total", m), u["prompt_tokens"].get<double>());
    EXPECT_EQ(e.sum("infergrid_request_prompt_tokens_sum", m),
              2 * u["prompt_tokens"].get<double>());
}

TEST_F(MetricsTest, RequestIdIsHonouredOrGeneratedAndLogged) {
    LogCapture log;
    auto srv = TestServer::start(log.config());
    ASSERT_NE(srv, nullptr);
    const std::string secret_prompt = "Once upon a time SECRET-PROMPT-TEXT";
    const std::string body = R"({"model":"test-model","prompt":")" + secret_prompt +
                             R"(","max_tokens":5,"temperature":0,"user":"end-user-7"})";
    HttpReply a = post(srv->port, "/v1/completions", body,
                       {{"X-Request-Id", "client-id-42"},
                        {"Authorization", "Bearer sk-SECRET-KEY"},
                        {"X-Tenant-Id", "acme"}});
    ASSERT_EQ(a.status, 200) << a.body;
    EXPECT_EQ(a.headers["x-request-id"], "client-id-42");

    HttpReply b = post(srv->port, "/v1/completions", completion_body(R"("stream":true)", 3));
    ASSERT_EQ(b.status, 200);
    const std::string stream_id = json::parse(b.sse_data().at(0))["id"];
    EXPECT_EQ(b.headers["x-request-id"], stream_id);

    HttpReply c = post(srv->port, "/v1/completions", completion_body("", 2),
                       {{"X-Request-Id", std::string(200, 'x')}});  // too long: replaced
    ASSERT_EQ(c.status, 200);
    EXPECT_EQ(c.headers["x-request-id"], c.json()["id"]);

    HttpReply d = post(srv->port, "/v1/completions", R"({"model":"test-model","prompt":7})",
                       {{"X-Request-Id", "bad-one"}});
    EXPECT_EQ(d.status, 400);
    EXPECT_EQ(d.headers["x-request-id"], "bad-one");

    const std::vector<std::string> lines = log.get();
    ASSERT_EQ(lines.size(), 4u);
    std::map<std::string, json> by_id;
    for (const std::string& l : lines) {
        EXPECT_EQ(l.find('\n'), std::string::npos);
        EXPECT_EQ(l.find("SECRET-PROMPT-TEXT"), std::string::npos) << l;
        EXPECT_EQ(l.find("SECRET-KEY"), std::string::npos) << l;
        json j = json::parse(l, nullptr, false);
        ASSERT_TRUE(j.is_object()) << l;
        for (const char* k :
             {"request_id", "model", "tenant", "prompt_tokens", "cached_tokens",
              "completion_tokens", "queue_time_s", "ttft_s", "e2e_s", "finish_reason", "status"})
            EXPECT_TRUE(j.contains(k)) << k << " in " << l;
        by_id[j["request_id"]] = j;
    }
    const json la = by_id.at("client-id-42");
    const json ua = a.json()["usage"];
    EXPECT_EQ(la["model"], "test-model");
    EXPECT_EQ(la["tenant"], "acme");
    EXPECT_EQ(la["user"], "end-user-7");  // the request's `user`, logged as given
    EXPECT_EQ(la["status"], 200);
    EXPECT_EQ(la["prompt_tokens"], ua["prompt_tokens"]);
    EXPECT_EQ(la["cached_tokens"], ua["prompt_tokens_details"]["cached_tokens"]);
    EXPECT_EQ(la["completion_tokens"], ua["completion_tokens"]);
    EXPECT_EQ(la["finish_reason"], a.json()["choices"][0]["finish_reason"]);
    ASSERT_TRUE(la["ttft_s"].is_number());
    ASSERT_TRUE(la["queue_time_s"].is_number());
    EXPECT_GE(la["ttft_s"].get<double>(), la["queue_time_s"].get<double>());
    EXPECT_GE(la["e2e_s"].get<double>(), la["ttft_s"].get<double>());
    EXPECT_EQ(by_id.at(stream_id)["stream"], true);
    EXPECT_EQ(by_id.at(stream_id)["tenant"], "none");
    EXPECT_FALSE(by_id.at(stream_id).contains("user"));
    const json ld = by_id.at("bad-one");
    EXPECT_EQ(ld["status"], 400);
    EXPECT_TRUE(ld["finish_reason"].is_null());
    EXPECT_EQ(ld["error_type"], "invalid_request_error");
}

TEST_F(MetricsTest, TenantLabelsAreBounded) {
    server::ServerConfig cfg;
    cfg.request_log = false;
    cfg.max_tenant_labels = 2;
    auto srv = TestServer::start(cfg);
    ASSERT_NE(srv, nullptr);
    for (const char* t : {"t1", "t2", "t3", "t4", "t1", "bad\\tenant"})
        ASSERT_EQ(
            post(srv->port, "/v1/completions", completion_body("", 1), {{"X-Tenant-Id", t}}).status,
            200);
    const Exposition e = scrape(srv->port);
    std::set<std::string> tenants;
    for (const Sample& s : e.samples)
        if (s.name == "infergrid_request_success_total") tenants.insert(s.labels.at("tenant"));
    EXPECT_EQ(tenants, (std::set<std::string>{"t1", "t2", "other", "invalid"}));
    EXPECT_EQ(e.sum("infergrid_request_success_total", {{"tenant", "t1"}}), 2);
    EXPECT_EQ(e.sum("infergrid_request_success_total", {{"tenant", "other"}}), 2);
}

// The dashboard and the alert rules only use metrics the server exports
// (with a KV tier, whose panels need its series).
TEST_F(MetricsTest, DashboardAndAlertMetricsExistInAScrape) {
    server::ServerConfig cfg;
    cfg.request_log = false;
    EngineConfig ecfg;
    ecfg.kv_host_bytes = 8 << 20;
    auto srv = TestServer::start(cfg, ecfg);
    ASSERT_NE(srv, nullptr);
    ASSERT_EQ(post(srv->port, "/v1/completions", completion_body("", 3)).status, 200);
    ASSERT_EQ(post(srv->port, "/v1/completions", "{").status, 400);  // an error series too
    const Exposition e = scrape(srv->port);
    const std::regex name_re(R"(\b((?:infergrid|process)_[a-zA-Z0-9_]+))");
    for (const char* file : {"deploy/grafana/infergrid.json", "deploy/prometheus/alerts.yml"}) {
        const std::string text = read_text(std::string(IG_SOURCE_DIR) + "/" + file);
        ASSERT_FALSE(text.empty()) << file;
        std::set<std::string> names;
        for (std::sregex_iterator it(text.begin(), text.end(), name_re), stop; it != stop; ++it)
            names.insert((*it)[1]);
        EXPECT_GT(names.size(), 5u) << file;
        for (const std::string& n : names) {
            std::string family = n;
            for (const std::string sfx : {"_bucket", "_sum", "_count"})
                if (n.size() > sfx.size() &&
                    n.compare(n.size() - sfx.size(), sfx.size(), sfx) == 0 &&
                    e.types.count(n.substr(0, n.size() - sfx.size())))
                    family = n.substr(0, n.size() - sfx.size());
            EXPECT_TRUE(e.types.count(family) && (e.has(n) || e.has(n + "_count")))
                << file << " uses " << n << ", which a scrape does not have";
        }
    }
}

// promtool (Debian package `prometheus`) accepts a scrape.
TEST_F(MetricsTest, PromtoolAcceptsTheScrape) {
    if (std::system("command -v promtool >/dev/null 2>&1") != 0)
        GTEST_SKIP() << "promtool not installed (scripts/setup installs prometheus)";
    server::ServerConfig cfg;
    cfg.request_log = false;
    auto srv = TestServer::start(cfg);
    ASSERT_NE(srv, nullptr);
    ASSERT_EQ(
        post(srv->port, "/v1/completions", completion_body("", 3), {{"X-Tenant-Id", "a"}}).status,
        200);
    std::string raw;
    scrape(srv->port, &raw);
    TempDir dir;
    const std::string path = dir.file("scrape.txt");
    std::ofstream(path) << raw;
    const std::string cmd =
        "promtool check metrics < " + path + " > " + dir.file("out.txt") + " 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << read_text(dir.file("out.txt"));
}

}  // namespace
}  // namespace ig::test

namespace ig::test {
namespace {

// Other components add families and collectors to the
// server's registry; /metrics shows them after the built-in set.
TEST_F(MetricsTest, ExtraFamiliesAndCollectorsAreRendered) {
    server::ServerConfig cfg;
    cfg.request_log = false;
    auto srv = TestServer::start(cfg);
    ASSERT_NE(srv, nullptr);
    metrics::Registry& reg = srv->api->metrics().registry();
    reg.counter("infergrid_test_extra_total", "A test counter.", {"model", "tier"})
        .with({"test-model", "host"})
        .inc(3);
    reg.histogram("infergrid_test_extra_seconds", "A test histogram.", {"tier"},
                  metrics::fine_latency_buckets())
        .with({"disk"})
        .observe(0.002);
    reg.add_collector([](metrics::MetricWriter& w) {
        w.gauge("infergrid_test_extra_ratio", "A test gauge.", 0.25,
                {{"model", "test-model"}, {"tier", "disk"}});
    });
    const Exposition e = scrape(srv->port);
    EXPECT_EQ(e.sum("infergrid_test_extra_total", {{"tier", "host"}}), 3);
    EXPECT_EQ(e.sum("infergrid_test_extra_seconds_count", {{"tier", "disk"}}), 1);
    EXPECT_EQ(e.sum("infergrid_test_extra_seconds_bucket", {{"tier", "disk"}, {"le", "0.0025"}}),
              1);
    EXPECT_EQ(e.sum("infergrid_test_extra_ratio", {{"tier", "disk"}}), 0.25);
    EXPECT_TRUE(e.has("infergrid_num_requests_running"));
}

}  // namespace
}  // namespace ig::test
