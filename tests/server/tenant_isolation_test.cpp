// Prefix-cache isolation between tenants (issue 24): another tenant's
// identical prompt is no hit, a tenant of the same cache group gets it, in
// the pool and, across a restart, from the disk tier.
#include <gtest/gtest.h>

#include "support/server_fixture.h"
#include "tenants/key_store.h"

namespace ig::test {
namespace {

using nlohmann::json;

const std::string kKeyA = "ig-tenant-a-key-0123456789";
const std::string kKeyB = "ig-tenant-b-key-0123456789";
const std::string kKeyC = "ig-tenant-c-key-0123456789";

// a and c share the group "docs"; b is on its own.
std::shared_ptr<const tenants::KeyStore> keys() {
    std::string text;
    for (const auto& [id, key, group] : {std::tuple{"a", kKeyA, "docs"}, std::tuple{"b", kKeyB, ""},
                                         std::tuple{"c", kKeyC, "docs"}}) {
        text += std::string("[[tenant]]\nid = \"") + id + "\"\nkeys = [\"" +
                tenants::key_hash_string(key) + "\"]\n";
        if (*group) text += std::string("cache_group = \"") + group + "\"\n";
    }
    auto f = tenants::parse_tenants(text, "tenants.toml");
    EXPECT_TRUE(f.ok()) << f.error().message;
    return std::make_shared<const tenants::KeyStore>(std::move(f).value());
}

int64_t cached_tokens(uint16_t port, const std::string& key, const std::string& prompt) {
    const std::string b = json{
        {"model", "test-model"},
        {"prompt", prompt},
        {"max_tokens", 1},
        {"temperature", 0}}.dump();
    Conn c(port);
    if (!c.ok() ||
        !c.send("POST /v1/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                "Content-Type: application/json\r\nAuthorization: Bearer " +
                key + "\r\nContent-Length: " + std::to_string(b.size()) + "\r\n\r\n" + b))
        return -1;
    const HttpReply r = c.read_response(std::chrono::seconds(60));
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json()["usage"]["prompt_tokens_details"]["cached_tokens"].get<int64_t>();
}

std::string long_prompt() {
    std::string p;
    for (int i = 0; i < 30; ++i) p += "The quick brown fox jumps over the lazy dog. ";
    return p;
}

std::unique_ptr<TestServer> start(const std::string& disk_dir = "") {
    server::ServerConfig cfg;
    cfg.keys = keys();
    cfg.request_log = false;
    EngineConfig e;
    if (!disk_dir.empty()) {
        e.kv_disk_dir = disk_dir;
        e.kv_disk_bytes = 64 << 20;
    }
    return TestServer::start(cfg, e);
}

TEST(TenantIsolation, AnotherTenantsCachedPromptIsNoHitUnlessTheyShareAGroup) {
    auto srv = start();
    ASSERT_TRUE(srv);
    const std::string prompt = long_prompt();
    EXPECT_EQ(cached_tokens(srv->port, kKeyA, prompt), 0);
    EXPECT_GT(cached_tokens(srv->port, kKeyA, prompt), 100);  // a's own repeat hits
    EXPECT_EQ(cached_tokens(srv->port, kKeyB, prompt), 0);    // b: isolated
    EXPECT_GT(cached_tokens(srv->port, kKeyC, prompt), 100);  // c: same group as a
}

TEST(TenantIsolation, HoldsAcrossARestartOnTheDiskTier) {
    TempDir dir;
    const std::string prompt = long_prompt();
    {
        auto srv = start(dir.path());
        ASSERT_TRUE(srv);
        EXPECT_EQ(cached_tokens(srv->port, kKeyA, prompt), 0);
        srv->engine->flush_kv_tiers();
    }  // the pool's cached blocks go down to disk at shutdown
    auto srv = start(dir.path());
    ASSERT_TRUE(srv);
    ASSERT_TRUE(srv->engine->wait_kv_disk_scanned());
    EXPECT_EQ(cached_tokens(srv->port, kKeyB, prompt), 0);
    EXPECT_GT(cached_tokens(srv->port, kKeyC, prompt), 100);  // from disk, same group
    EXPECT_GT(cached_tokens(srv->port, kKeyA, prompt), 100);
}

}  // namespace
}  // namespace ig::test
