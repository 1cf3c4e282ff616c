// KeyStore: the right key finds its tenant, anything else finds none; and
// how `serve` picks its store from --tenants / --api-key.
#include "tenants/key_store.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/test_support.h"

namespace ig::tenants {
namespace {

KeyStore two_tenants() {
    auto f = parse_tenants("[[tenant]]\nid = \"acme\"\nkeys = [\"" + key_hash_string("acme-1") +
                               "\", \"" + key_hash_string("acme-2") +
                               "\"]\n[[tenant]]\nid = \"globex\"\nkeys = [\"" +
                               key_hash_string("globex-1") + "\"]\nmodels = [\"m\"]\n",
                           "t.toml");
    EXPECT_TRUE(f.ok()) << f.error().message;
    return KeyStore(std::move(f).value());
}

TEST(KeyStore, RightKeyFindsItsTenant) {
    const KeyStore ks = two_tenants();
    const Tenant* a1 = ks.authenticate("acme-1");
    const Tenant* a2 = ks.authenticate("acme-2");
    const Tenant* g = ks.authenticate("globex-1");
    ASSERT_NE(a1, nullptr);
    ASSERT_NE(a2, nullptr);
    ASSERT_NE(g, nullptr);
    EXPECT_EQ(a1->id, "acme");
    EXPECT_EQ(a2, a1);
    EXPECT_EQ(g->id, "globex");
    EXPECT_TRUE(g->models.has_value());
}

TEST(KeyStore, WrongOrEmptyKeyFindsNone) {
    const KeyStore ks = two_tenants();
    for (const char* k : {"", "acme-3", "acme-1 ", " acme-1", "ACME-1", "acme-", "sha256:whatever"})
        EXPECT_EQ(ks.authenticate(k), nullptr) << "'" << k << "'";
    // The stored hash itself is not a key.
    EXPECT_EQ(ks.authenticate(key_hash_string("acme-1")), nullptr);
    EXPECT_EQ(ks.authenticate(std::string(100 * 1024, 'x')), nullptr);
}

TEST(KeyStore, OneTenantsKeyIsNotAnothers) {
    const KeyStore ks = two_tenants();
    const Tenant* g = ks.authenticate("globex-1");
    ASSERT_NE(g, nullptr);
    EXPECT_NE(g->id, "acme");
    EXPECT_EQ(ks.find("acme")->id, "acme");
    EXPECT_EQ(ks.find("nobody"), nullptr);
}

TEST(KeyStore, SingleKeyIsTenantDefaultWithEveryModel) {
    auto ks = KeyStore::single_key("s3cret-key");
    ASSERT_TRUE(ks.ok()) << ks.error().message;
    const Tenant* t = ks->authenticate("s3cret-key");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->id, "default");
    EXPECT_TRUE(t->allows("any-model"));
    EXPECT_EQ(ks->authenticate("s3cret-keY"), nullptr);
    EXPECT_EQ(ks->authenticate(""), nullptr);
    EXPECT_FALSE(KeyStore::single_key("").ok());
    EXPECT_FALSE(KeyStore::single_key("has space").ok());
    EXPECT_FALSE(KeyStore::single_key("line\nbreak").ok());
}

TEST(KeyStore, FromFlags) {
    test::TempDir dir;
    const std::string path = dir.file("t.toml");
    std::ofstream(path) << "[[tenant]]\nid = \"a\"\nkeys = [\"" << key_hash_string("k") << "\"]\n";
    auto none = key_store_from("", "");
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->has_value());
    auto file = key_store_from(path, "");
    ASSERT_TRUE(file.ok()) << file.error().message;
    ASSERT_TRUE(file->has_value());
    EXPECT_NE((*file)->authenticate("k"), nullptr);
    auto single = key_store_from("", "k2");
    ASSERT_TRUE(single.ok());
    EXPECT_NE((*single)->authenticate("k2"), nullptr);
    auto both = key_store_from(path, "k2");
    ASSERT_FALSE(both.ok());
    EXPECT_NE(both.error().message.find("exclude"), std::string::npos);
    EXPECT_EQ(both.error().message.find("k2"), std::string::npos) << "echoes the key";
    // A file without any key would lock every client out.
    const std::string empty = dir.file("empty.toml");
    std::ofstream(empty) << "[[tenant]]\nid = \"a\"\n";
    EXPECT_FALSE(key_store_from(empty, "").ok());
    EXPECT_FALSE(key_store_from(dir.file("missing.toml"), "").ok());
}

TEST(KeyStore, LimitsOfFillsInTheFilesDefaultLimits) {
    auto f = parse_tenants(
        "[default_limits]\nrequests_per_minute = 60\nmax_tokens = 512\n"
        "[[tenant]]\nid = \"a\"\nkeys = [\"" +
            key_hash_string("a-1") +
            "\"]\n[tenant.limits]\nmax_tokens = 64\nquota_tokens = 1000\n"
            "quota_period = \"day\"\n",
        "t.toml");
    ASSERT_TRUE(f.ok()) << f.error().message;
    const KeyStore ks(std::move(f).value());
    const Tenant* t = ks.authenticate("a-1");
    ASSERT_NE(t, nullptr);
    const Limits l = ks.limits_of(*t);
    EXPECT_EQ(l.requests_per_minute, 60);  // the default's
    EXPECT_EQ(l.max_tokens, 64);           // its own
    EXPECT_EQ(l.quota_tokens, 1000);
    EXPECT_EQ(l.quota_period, QuotaPeriod::Day);
    EXPECT_EQ(l.tokens_per_minute, 0);  // unlimited
}

}  // namespace
}  // namespace ig::tenants
