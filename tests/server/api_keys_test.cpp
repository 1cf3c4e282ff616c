// `serve --tenants` / `--api-key`: every route but the probes needs a key
// (Bearer or x-api-key), a bad one is OpenAI's 401, the key's tenant is the
// request's tenant in metrics and the request log whatever X-Tenant-Id
// says, a tenant's model list is enforced, and no key is ever echoed.
#include <gtest/gtest.h>

#include <mutex>

#include "support/metrics_text.h"
#include "support/server_fixture.h"
#include "tenants/key_store.h"

namespace ig::test {
namespace {

using nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

const std::string kAcmeKey = "ig-acme-key-0123456789";
const std::string kGlobexKey = "ig-globex-key-0123456789";

HttpReply send(uint16_t port, const std::string& method, const std::string& path,
               const Headers& headers, const std::string& body = "") {
    std::string r = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    if (method == "POST")
        r += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\n";
    for (const auto& [k, v] : headers) r += k + ": " + v + "\r\n";
    r += "\r\n" + body;
    Conn c(port);
    if (!c.ok() || !c.send(r)) return {};
    return c.read_response(std::chrono::seconds(60));
}

Headers bearer(const std::string& key) {
    return {{"Authorization", "Bearer " + key}};
}

std::shared_ptr<const tenants::KeyStore> two_tenants() {
    // acme is an admin (reads /metrics); globex may use another model only.
    auto f = tenants::parse_tenants(
        "[[tenant]]\nid = \"acme\"\nadmin = true\nkeys = [\"" + tenants::key_hash_string(kAcmeKey) +
            "\"]\n[[tenant]]\nid = \"globex\"\nkeys = [\"" + tenants::key_hash_string(kGlobexKey) +
            "\"]\nmodels = [\"other-model\"]\n",
        "tenants.toml");
    EXPECT_TRUE(f.ok()) << f.error().message;
    return std::make_shared<const tenants::KeyStore>(std::move(f).value());
}

class ApiKeysTest : public ::testing::Test {
  protected:
    void SetUp() override {
        server::ServerConfig cfg;
        cfg.keys = two_tenants();
        cfg.request_log_sink = [this](const std::string& line) {
            std::lock_guard lk(log_mu_);
            log_.push_back(line);
        };
        srv_ = TestServer::start(cfg);
        ASSERT_TRUE(srv_);
    }
    std::vector<std::string> log() {
        std::lock_guard lk(log_mu_);
        return log_;
    }

    std::unique_ptr<TestServer> srv_;
    std::mutex log_mu_;
    std::vector<std::string> log_;
};

void expect_401(const HttpReply& r, const std::string& what) {
    EXPECT_EQ(r.status, 401) << what << ": " << r.body;
    EXPECT_EQ(r.headers.count("www-authenticate") ? r.headers.at("www-authenticate") : "", "Bearer")
        << what;
    const json j = r.json();
    ASSERT_TRUE(j.is_object() && j.contains("error")) << what << ": " << r.body;
    const json& e = j["error"];
    EXPECT_TRUE(e["message"].is_string()) << what;
    EXPECT_EQ(e["type"], "invalid_request_error") << what;
    EXPECT_TRUE(e["param"].is_null()) << what;
    EXPECT_EQ(e["code"], "invalid_api_key") << what;
}

TEST_F(ApiKeysTest, NoKeyIs401OnEveryGuardedRoute) {
    const uint16_t p = srv_->port;
    expect_401(send(p, "POST", "/v1/completions", {}, completion_body()), "completions");
    expect_401(send(p, "POST", "/v1/chat/completions", {},
                    R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":2})"),
               "chat");
    expect_401(send(p, "GET", "/v1/models", {}), "models");
    expect_401(send(p, "GET", "/v1/models/test-model", {}), "model");
    expect_401(send(p, "GET", "/metrics", {}), "metrics");
    expect_401(send(p, "GET", "/no/such/route", {}), "unknown route");
    // An empty Bearer, another scheme: no key.
    expect_401(send(p, "GET", "/v1/models", {{"Authorization", "Bearer "}}), "empty bearer");
    expect_401(send(p, "GET", "/v1/models", {{"Authorization", "Basic " + kAcmeKey}}), "basic");
    expect_401(send(p, "GET", "/v1/models", {{"Authorization", kAcmeKey}}), "no scheme");
}

TEST_F(ApiKeysTest, WrongKeyIs401AndNeverEchoed) {
    const uint16_t p = srv_->port;
    const std::string wrong = "ig-wrong-key-XYZ";
    for (const Headers& h : {bearer(wrong), Headers{{"x-api-key", wrong}}, bearer(kAcmeKey + "x"),
                             bearer(tenants::key_hash_string(kAcmeKey))}) {
        const HttpReply r = send(p, "POST", "/v1/completions", h, completion_body());
        expect_401(r, h[0].second);
        EXPECT_EQ(r.body.find("ig-wrong"), std::string::npos) << r.body;
        EXPECT_EQ(r.body.find(kAcmeKey), std::string::npos) << r.body;
    }
}

TEST_F(ApiKeysTest, BearerAndXApiKeyAreAccepted) {
    const uint16_t p = srv_->port;
    HttpReply r = send(p, "POST", "/v1/completions", bearer(kAcmeKey), completion_body());
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["object"], "text_completion");
    r = send(p, "POST", "/v1/completions", {{"x-api-key", kAcmeKey}}, completion_body());
    EXPECT_EQ(r.status, 200) << r.body;
    // The scheme is case-insensitive (RFC 7235).
    r = send(p, "GET", "/v1/models", {{"Authorization", "bearer  " + kAcmeKey}});
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["data"][0]["id"], "test-model");
    r = send(p, "GET", "/metrics", bearer(kAcmeKey));
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.body.find("infergrid_"), std::string::npos);
}

TEST_F(ApiKeysTest, MetricsAndAdminNeedAnAdminKey) {
    const uint16_t p = srv_->port;
    for (const char* path : {"/metrics", "/admin/tenants"}) {
        const HttpReply r = send(p, "GET", path, bearer(kGlobexKey));
        EXPECT_EQ(r.status, 403) << path << ": " << r.body;
        EXPECT_EQ(r.json()["error"]["code"], "permission_denied") << path;
        EXPECT_EQ(send(p, "GET", path, bearer(kAcmeKey)).status, 200) << path;
    }
}

TEST_F(ApiKeysTest, ProbesNeedNoKey) {
    for (const char* path : {"/health", "/ready", "/version"}) {
        const HttpReply r = send(srv_->port, "GET", path, {});
        EXPECT_EQ(r.status, 200) << path;
        EXPECT_EQ(r.headers.count("www-authenticate"), 0u) << path;
    }
}

TEST_F(ApiKeysTest, TenantIsTheKeysNotTheHeaders) {
    const uint16_t p = srv_->port;
    Headers h = bearer(kAcmeKey);
    h.push_back({"X-Tenant-Id", "evil"});
    for (int i = 0; i < 2; ++i)
        ASSERT_EQ(send(p, "POST", "/v1/completions", h, completion_body("", 2)).status, 200);
    const HttpReply m = send(p, "GET", "/metrics", bearer(kAcmeKey));
    ASSERT_EQ(m.status, 200);
    const Exposition e = parse_exposition(m.body);
    EXPECT_EQ(e.sum("infergrid_request_success_total", {{"tenant", "acme"}}), 2);
    EXPECT_EQ(e.sum("infergrid_request_success_total", {{"tenant", "evil"}}), 0);
    EXPECT_EQ(m.body.find("tenant=\"evil\""), std::string::npos);
    EXPECT_EQ(m.body.find(kAcmeKey), std::string::npos);
    const std::vector<std::string> lines = log();
    ASSERT_EQ(lines.size(), 2u);
    for (const std::string& line : lines) {
        EXPECT_EQ(json::parse(line)["tenant"], "acme") << line;
        EXPECT_EQ(line.find(kAcmeKey), std::string::npos) << line;
    }
}

TEST_F(ApiKeysTest, TenantWithoutTheModelGets404) {
    const uint16_t p = srv_->port;
    const HttpReply r = send(p, "POST", "/v1/completions", bearer(kGlobexKey), completion_body());
    EXPECT_EQ(r.status, 404) << r.body;
    EXPECT_EQ(r.json()["error"]["code"], "model_not_found");
    // Without `model` in the body the served model is still the one refused.
    const HttpReply chat = send(p, "POST", "/v1/chat/completions", bearer(kGlobexKey),
                                R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":2})");
    EXPECT_EQ(chat.status, 404) << chat.body;
    const HttpReply list = send(p, "GET", "/v1/models", bearer(kGlobexKey));
    EXPECT_EQ(list.status, 200);
    EXPECT_TRUE(list.json()["data"].empty()) << list.body;
    EXPECT_EQ(send(p, "GET", "/v1/models/test-model", bearer(kGlobexKey)).status, 404);
    // The refusal is counted under the tenant that made it.
    const Exposition e = parse_exposition(send(p, "GET", "/metrics", bearer(kAcmeKey)).body);
    EXPECT_EQ(e.sum("infergrid_request_errors_total",
                    {{"tenant", "globex"}, {"type", "model_not_found"}}),
              2);
}

// Beast keeps one field in at most 64 KiB and throws beyond: a 100 KB key
// under a 1 MiB header limit once killed the server.
TEST(ApiKeys, HugeAuthorizationHeaderIs401Or431NotACrash) {
    const std::string huge(100 * 1024, 'k');
    for (int64_t header_limit : {int64_t{16} << 10, int64_t{1} << 20}) {
        server::ServerConfig cfg;
        cfg.keys = two_tenants();
        cfg.limits.max_header_bytes = header_limit;
        auto srv = TestServer::start(cfg);
        ASSERT_TRUE(srv);
        const HttpReply r =
            send(srv->port, "POST", "/v1/completions", bearer(huge), completion_body());
        EXPECT_EQ(r.status, 431) << header_limit << ": " << r.body;
        EXPECT_EQ(r.body.find(huge.substr(0, 64)), std::string::npos);
        EXPECT_EQ(
            send(srv->port, "POST", "/v1/completions", bearer(kAcmeKey), completion_body()).status,
            200);
    }
}

// Under the 64 KiB field limit and a larger header limit, a long key is
// hashed and refused like any other.
TEST(ApiKeys, LongAuthorizationHeaderIs401) {
    server::ServerConfig cfg;
    cfg.keys = two_tenants();
    cfg.limits.max_header_bytes = int64_t{1} << 20;
    auto srv = TestServer::start(cfg);
    ASSERT_TRUE(srv);
    expect_401(send(srv->port, "POST", "/v1/completions", bearer(std::string(60 * 1024, 'k')),
                    completion_body()),
               "60 KB key");
}

TEST(ApiKeys, HugeHeaderFieldIs431WithoutKeysToo) {
    server::ServerConfig cfg;
    cfg.limits.max_header_bytes = int64_t{1} << 20;
    auto srv = TestServer::start(cfg);
    ASSERT_TRUE(srv);
    const HttpReply r =
        send(srv->port, "GET", "/v1/models", {{"X-Big", std::string(100 << 10, 'x')}});
    EXPECT_EQ(r.status, 431);
    EXPECT_EQ(send(srv->port, "GET", "/v1/models", {}).status, 200);
}

TEST(ApiKeys, SingleKeyIsTenantDefault) {
    server::ServerConfig cfg;
    auto ks = tenants::KeyStore::single_key("s3cret");
    ASSERT_TRUE(ks.ok());
    cfg.keys = std::make_shared<const tenants::KeyStore>(std::move(ks).value());
    auto srv = TestServer::start(cfg);
    ASSERT_TRUE(srv);
    expect_401(send(srv->port, "GET", "/v1/models", bearer("s3creT")), "wrong");
    ASSERT_EQ(send(srv->port, "POST", "/v1/completions",
                   {{"Authorization", "Bearer s3cret"}, {"X-Tenant-Id", "x"}}, completion_body())
                  .status,
              200);
    const Exposition e =
        parse_exposition(send(srv->port, "GET", "/metrics", bearer("s3cret")).body);
    EXPECT_EQ(e.sum("infergrid_request_success_total", {{"tenant", "default"}}), 1);
}

TEST(ApiKeys, WithoutKeysNothingChanges) {
    auto srv = TestServer::start();
    ASSERT_TRUE(srv);
    EXPECT_EQ(send(srv->port, "GET", "/metrics", {}).status, 200);
    EXPECT_EQ(send(srv->port, "POST", "/v1/completions", {{"X-Tenant-Id", "t9"}}, completion_body())
                  .status,
              200);
    // A key sent to a server without keys is ignored, as before.
    EXPECT_EQ(send(srv->port, "GET", "/v1/models", bearer("anything")).status, 200);
    const Exposition e = parse_exposition(send(srv->port, "GET", "/metrics", {}).body);
    EXPECT_EQ(e.sum("infergrid_request_success_total", {{"tenant", "t9"}}), 1);
}

}  // namespace
}  // namespace ig::test
