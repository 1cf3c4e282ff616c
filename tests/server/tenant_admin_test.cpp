// The tenant admin API and reloads (issue 24): admin keys only; keys added
// and revoked at run time; limits and weights changed; the tenants file
// re-read with bad files refused (old tenants stay); a request in flight
// outlives a reload that removes its tenant.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "support/server_fixture.h"
#include "tenants/key_store.h"

namespace ig::test {
namespace {

using nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

const std::string kAdminKey = "ig-admin-key-0123456789";
const std::string kUserKey = "ig-user-key-0123456789";

HttpReply send(uint16_t port, const std::string& method, const std::string& path,
               const std::string& key, const std::string& body = "") {
    std::string r = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    r +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    if (!key.empty()) r += "Authorization: Bearer " + key + "\r\n";
    r += "\r\n" + body;
    Conn c(port);
    if (!c.ok() || !c.send(r)) return {};
    return c.read_response(std::chrono::seconds(60));
}

std::string tenants_text(const std::string& extra = "") {
    return "[[tenant]]\nid = \"ops\"\nadmin = true\nkeys = [\"" +
           tenants::key_hash_string(kAdminKey) + "\"]\n\n[[tenant]]\nid = \"user\"\nkeys = [\"" +
           tenants::key_hash_string(kUserKey) + "\"]\n" + extra;
}

class TenantAdminTest : public ::testing::Test {
  protected:
    void SetUp() override {
        path_ = dir_.file("tenants.toml");
        std::ofstream(path_) << tenants_text();
        auto f = tenants::load_tenants_file(path_);
        ASSERT_TRUE(f.ok()) << f.error().message;
        server::ServerConfig cfg;
        cfg.keys = std::make_shared<const tenants::KeyStore>(std::move(f).value());
        cfg.tenants_path = path_;
        cfg.request_log = false;
        srv_ = TestServer::start(cfg);
        ASSERT_TRUE(srv_);
    }
    int complete(const std::string& key) {
        return send(srv_->port, "POST", "/v1/completions", key, completion_body()).status;
    }
    json tenant(const std::string& id) {
        const HttpReply r = send(srv_->port, "GET", "/admin/tenants", kAdminKey);
        EXPECT_EQ(r.status, 200) << r.body;
        const json list = r.json();
        for (const json& t : list["data"])
            if (t["id"] == id) return t;
        return nullptr;
    }

    TempDir dir_;
    std::string path_;
    std::unique_ptr<TestServer> srv_;
};

TEST_F(TenantAdminTest, OnlyAdminKeysUseTheAdminRoutes) {
    const uint16_t p = srv_->port;
    EXPECT_EQ(send(p, "GET", "/admin/tenants", "").status, 401);
    EXPECT_EQ(send(p, "GET", "/admin/tenants", kUserKey).status, 403);
    EXPECT_EQ(send(p, "POST", "/admin/tenants/user/keys", kUserKey).status, 403);
    EXPECT_EQ(send(p, "POST", "/admin/tenants/reload", kUserKey).status, 403);
    const json t = tenant("user");
    ASSERT_TRUE(t.is_object());
    EXPECT_EQ(t["weight"], 1.0);
    EXPECT_EQ(t["limits"]["tokens_per_minute"], 0);
    ASSERT_EQ(t["key_ids"].size(), 1u);
    // The key id names the key; neither the key nor its whole hash is shown.
    const std::string body = send(p, "GET", "/admin/tenants", kAdminKey).body;
    EXPECT_EQ(body.find(kUserKey), std::string::npos);
    EXPECT_EQ(body.find(tenants::key_hash_string(kUserKey).substr(7)), std::string::npos);
}

TEST_F(TenantAdminTest, KeysAddedAndRevokedApplyAtOnceAndReachTheFile) {
    const uint16_t p = srv_->port;
    HttpReply r = send(p, "POST", "/admin/tenants/newco/keys", kAdminKey);
    ASSERT_EQ(r.status, 201) << r.body;
    const std::string key = r.json()["key"];
    const std::string key_id = r.json()["key_id"];
    EXPECT_TRUE(r.json()["tenant_created"].get<bool>());
    EXPECT_EQ(complete(key), 200);
    // Written to the file (hash only): a restart keeps it.
    auto f = tenants::load_tenants_file(path_);
    ASSERT_TRUE(f.ok()) << f.error().message;
    ASSERT_EQ(f->tenants.size(), 3u);
    EXPECT_EQ(f->tenants[2].id, "newco");
    std::ifstream in(path_);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text.find(key), std::string::npos);

    r = send(p, "DELETE", "/admin/tenants/newco/keys/" + key_id, kAdminKey);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(complete(key), 401);  // revoked
    EXPECT_EQ(send(p, "DELETE", "/admin/tenants/newco/keys/" + key_id, kAdminKey).status, 404);
    EXPECT_EQ(complete(kUserKey), 200);  // others unaffected
}

TEST_F(TenantAdminTest, PatchChangesLimitsAndWeightsOrIsRefusedWhole) {
    const uint16_t p = srv_->port;
    HttpReply r = send(p, "PATCH", "/admin/tenants/user", kAdminKey,
                       R"({"weight": 3, "limits": {"max_tokens": 4}})");
    ASSERT_EQ(r.status, 200) << r.body;
    json t = tenant("user");
    EXPECT_EQ(t["weight"], 3.0);
    EXPECT_EQ(t["limits"]["max_tokens"], 4);
    // max_tokens 8 is now over the tenant's limit: 400 naming it.
    r = send(p, "POST", "/v1/completions", kUserKey, completion_body("", 8));
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find("max_tokens"), std::string::npos) << r.body;

    // Bad changes: a 400 with the reason, and nothing of them applies.
    for (const char* bad : {R"({"weight": 0, "priority": 5})", R"({"weight": "x"})",
                            R"({"limits": {"tokens_per_minute": -1}})", R"({"colour": 1})",
                            R"({"limits": {"rpm": 1}})", "[1]", "{"}) {
        r = send(p, "PATCH", "/admin/tenants/user", kAdminKey, bad);
        EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
    }
    t = tenant("user");
    EXPECT_EQ(t["weight"], 3.0);
    EXPECT_EQ(t["priority"], 0);
    EXPECT_EQ(send(p, "PATCH", "/admin/tenants/nobody", kAdminKey, "{}").status, 404);
    // A limit set to null is unset again.
    r = send(p, "PATCH", "/admin/tenants/user", kAdminKey, R"({"limits": {"max_tokens": null}})");
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(send(p, "POST", "/v1/completions", kUserKey, completion_body("", 8)).status, 200);
}

TEST_F(TenantAdminTest, ReloadAppliesAGoodFileAndRefusesABadOne) {
    const uint16_t p = srv_->port;
    const std::string other = "ig-other-key-0123456789";
    std::ofstream(path_) << tenants_text("\n[[tenant]]\nid = \"other\"\nkeys = [\"" +
                                         tenants::key_hash_string(other) + "\"]\n");
    EXPECT_EQ(complete(other), 401);  // not yet
    HttpReply r = send(p, "POST", "/admin/tenants/reload", kAdminKey);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(complete(other), 200);

    // A bad file: refused with its line and reason; the old tenants stay.
    std::ofstream(path_) << tenants_text() + "\n[[tenant]]\nid = \"x\"\nweight = -2\n";
    r = send(p, "POST", "/admin/tenants/reload", kAdminKey);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find("tenants.toml:12:"), std::string::npos) << r.body;  // weight's line
    EXPECT_NE(r.body.find("weight"), std::string::npos) << r.body;
    EXPECT_EQ(complete(other), 200);
    EXPECT_EQ(complete(kUserKey), 200);
}

TEST_F(TenantAdminTest, ARequestInFlightOutlivesAReloadThatRemovesItsTenant) {
    const uint16_t p = srv_->port;
    // A long stream of "user" is running when "user" disappears.
    Conn c(p);
    const std::string body =
        R"({"model":"test-model","prompt":"Once upon a time","max_tokens":200,)"
        R"("temperature":0,"ignore_eos":true,"stream":true})";
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c.send(
        "POST /v1/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        "Content-Type: application/json\r\nAuthorization: Bearer " +
        kUserKey + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body));
    ASSERT_TRUE(
        c.read_until([](const std::string& b) { return b.find("\"text\"") != std::string::npos; },
                     std::chrono::seconds(30)));
    std::ofstream(path_) << "[[tenant]]\nid = \"ops\"\nadmin = true\nkeys = [\"" +
                                tenants::key_hash_string(kAdminKey) + "\"]\n";
    ASSERT_EQ(send(p, "POST", "/admin/tenants/reload", kAdminKey).status, 200);
    EXPECT_EQ(complete(kUserKey), 401);  // new requests: gone
    // The running one completes.
    ASSERT_TRUE(c.read_until(
        [](const std::string& b) { return b.find("data: [DONE]") != std::string::npos; },
        std::chrono::seconds(60)));
    EXPECT_NE(c.buffer().find("\"finish_reason\":\"length\""), std::string::npos);
}

}  // namespace
}  // namespace ig::test
