// The tenants file: a good file loads; each bad one fails naming the file,
// the line and the key, and never echoes a value that may be a key.
#include "tenants/tenants_file.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ig::tenants {
namespace {

const std::string kHashA = key_hash_string("key-a");
const std::string kHashB = key_hash_string("key-b");

TEST(TenantsFile, GoodFileLoads) {
    const std::string text = "# tenants\n[[tenant]]\nid = \"acme\"\nname = \"Acme\"\nkeys = [\"" +
                             kHashA + "\", \"" + kHashB +
                             "\"]\nmodels = [\"m1\"]\n\n[[tenant]]\nid = \"b.c_d-9\"\n";
    auto f = parse_tenants(text, "t.toml");
    ASSERT_TRUE(f.ok()) << f.error().message;
    ASSERT_EQ(f->tenants.size(), 2u);
    const Tenant& a = f->tenants[0];
    EXPECT_EQ(a.id, "acme");
    EXPECT_EQ(a.name, "Acme");
    ASSERT_EQ(a.key_hashes.size(), 2u);
    EXPECT_TRUE(a.allows("m1"));
    EXPECT_FALSE(a.allows("m2"));
    const Tenant& b = f->tenants[1];
    EXPECT_EQ(b.id, "b.c_d-9");
    EXPECT_TRUE(b.key_hashes.empty());
    EXPECT_FALSE(b.models.has_value());
    EXPECT_TRUE(b.allows("anything"));
}

TEST(TenantsFile, EmptyFileHasNoTenants) {
    auto f = parse_tenants("", "t.toml");
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_TRUE(f->tenants.empty());
}

TEST(TenantsFile, KeyHashIsSha256Hex) {
    // SHA-256("abc"), FIPS 180-2.
    EXPECT_EQ(key_hash_string("abc"),
              "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(TenantsFile, UpperCaseHexIsAccepted) {
    std::string upper = kHashA;
    for (size_t i = 7; i < upper.size(); ++i) upper[i] = static_cast<char>(std::toupper(upper[i]));
    auto f = parse_tenants("[[tenant]]\nid = \"a\"\nkeys = [\"" + upper + "\"]\n", "t.toml");
    ASSERT_TRUE(f.ok()) << f.error().message;
    auto g = parse_tenants("[[tenant]]\nid = \"a\"\nkeys = [\"" + kHashA + "\"]\n", "t.toml");
    EXPECT_EQ(f->tenants[0].key_hashes, g->tenants[0].key_hashes);
}

struct BadCase {
    const char* name;
    std::string text;
    std::vector<std::string> want;  // substrings of the error
};

TEST(TenantsFile, BadFilesNameFileLineAndKey) {
    const std::string plaintext = "ig-c2VjcmV0LXNlY3JldC1zZWNyZXQ";
    const std::vector<BadCase> cases = {
        {"missing_id", "[[tenant]]\nname = \"x\"\n", {"t.toml:1:", "'id'", "missing"}},
        {"empty_id", "[[tenant]]\nid = \"\"\n", {"t.toml:2:", "'id'"}},
        {"bad_id_chars", "[[tenant]]\nid = \"a b\"\n", {"t.toml:2:", "'id'", "A-Z"}},
        {"long_id", "[[tenant]]\nid = \"" + std::string(65, 'a') + "\"\n", {":2:", "'id'"}},
        {"id_number", "[[tenant]]\nid = 5\n", {":2:", "'id'", "integer"}},
        {"name_number", "[[tenant]]\nid = \"a\"\nname = 1\n", {":3:", "'name'", "string"}},
        {"plaintext_key",
         "[[tenant]]\nid = \"a\"\nkeys = [\n  \"" + kHashA + "\",\n  \"" + plaintext + "\",\n]\n",
         {":5:", "'keys'", "[1]", "sha256:<64 hex>", "never keys"}},
        {"short_hash", "[[tenant]]\nid = \"a\"\nkeys = [\"sha256:abcd\"]\n", {":3:", "'keys'"}},
        {"bad_hex",
         "[[tenant]]\nid = \"a\"\nkeys = [\"sha256:" + std::string(64, 'g') + "\"]\n",
         {":3:", "'keys'"}},
        {"wrong_prefix",
         "[[tenant]]\nid = \"a\"\nkeys = [\"md5:" + std::string(64, 'a') + "\"]\n",
         {":3:", "'keys'"}},
        {"keys_string",
         "[[tenant]]\nid = \"a\"\nkeys = \"" + kHashA + "\"\n",
         {":3:", "'keys'", "array"}},
        {"key_number", "[[tenant]]\nid = \"a\"\nkeys = [1]\n", {":3:", "'keys'", "string"}},
        {"models_string", "[[tenant]]\nid = \"a\"\nmodels = \"m\"\n", {":3:", "'models'", "array"}},
        {"models_number", "[[tenant]]\nid = \"a\"\nmodels = [\"m\", 2]\n", {":3:", "'models'"}},
        {"unknown_tenant_key", "[[tenant]]\nid = \"a\"\nrate = 5\n", {":3:", "'rate'", "unknown"}},
        {"unknown_top_key", "x = 1\n", {"t.toml:1:", "'x'", "unknown"}},
        {"tenant_table", "[tenant]\nid = \"a\"\n", {"t.toml:1:", "'tenant'", "[[tenant]]"}},
        {"duplicate_id",
         "[[tenant]]\nid = \"a\"\n\n[[tenant]]\nid = \"a\"\n",
         {"t.toml:5:", "'id'", "duplicate tenant id 'a'"}},
        {"duplicate_hash_across_tenants",
         "[[tenant]]\nid = \"a\"\nkeys = [\"" + kHashA + "\"]\n[[tenant]]\nid = \"b\"\nkeys = [\"" +
             kHashB + "\", \"" + kHashA + "\"]\n",
         {"t.toml:6:", "tenant[1] 'keys'", "[1]", "duplicate key hash"}},
        {"duplicate_hash_in_tenant",
         "[[tenant]]\nid = \"a\"\nkeys = [\"" + kHashA + "\",\n\"" + kHashA + "\"]\n",
         {":4:", "duplicate key hash"}},
        {"syntax", "[[tenant]]\nid = \"a\"\nkeys = [\n", {"t.toml:"}},
        {"weight_zero", "[[tenant]]\nid = \"a\"\nweight = 0\n", {":3:", "'weight'", "above 0"}},
        {"weight_string", "[[tenant]]\nid = \"a\"\nweight = \"2\"\n", {":3:", "'weight'"}},
        {"weight_nan", "[[tenant]]\nid = \"a\"\nweight = nan\n", {":3:", "'weight'"}},
        {"priority_float", "[[tenant]]\nid = \"a\"\npriority = 1.5\n", {":3:", "'priority'"}},
        {"admin_string", "[[tenant]]\nid = \"a\"\nadmin = \"yes\"\n", {":3:", "'admin'"}},
        {"cache_group_bad",
         "[[tenant]]\nid = \"a\"\ncache_group = \"a b\"\n",
         {":3:", "'cache_group'"}},
        {"limits_not_table", "[[tenant]]\nid = \"a\"\nlimits = 5\n", {":3:", "limits", "table"}},
        {"limit_negative",
         "[[tenant]]\nid = \"a\"\n[tenant.limits]\ntokens_per_minute = -1\n",
         {":4:", "tenant.limits.tokens_per_minute", "from 0"}},
        {"limit_float",
         "[[tenant]]\nid = \"a\"\n[tenant.limits]\nmax_tokens = 1.5\n",
         {":4:", "max_tokens"}},
        {"limit_huge",
         "[[tenant]]\nid = \"a\"\n[tenant.limits]\nquota_tokens = 9000000000000000000\n",
         {":4:", "quota_tokens", "1e15"}},
        {"limit_unknown",
         "[[tenant]]\nid = \"a\"\n[tenant.limits]\nrpm = 5\n",
         {":4:", "'tenant.limits.rpm'", "unknown", "requests_per_minute"}},
        {"quota_period_bad",
         "[default_limits]\nquota_period = \"week\"\n",
         {":2:", "default_limits.quota_period", "\"day\" or \"month\""}},
        {"prices_unknown",
         "[[tenant]]\nid = \"a\"\n[tenant.prices]\ninput = 1\n",
         {":4:", "'prices.input'", "unknown"}},
        {"prices_negative",
         "[[tenant]]\nid = \"a\"\n[tenant.prices]\nprompt = -1\n",
         {":4:", "'prices.prompt'"}},
    };
    for (const BadCase& c : cases) {
        auto f = parse_tenants(c.text, "t.toml");
        ASSERT_FALSE(f.ok()) << c.name;
        const std::string& msg = f.error().message;
        for (const std::string& w : c.want)
            EXPECT_NE(msg.find(w), std::string::npos)
                << c.name << ": '" << w << "' not in: " << msg;
        EXPECT_EQ(msg.find(plaintext), std::string::npos) << c.name << " echoes the key: " << msg;
    }
}

TEST(TenantsFile, SerialisedFileParsesBackTheSame) {
    TenantsFile f;
    Tenant a{"acme", "Acme \"Corp\"\n", {}, std::vector<std::string>{"m1", "m\\2"}};
    a.key_hashes.push_back(sha256({reinterpret_cast<const uint8_t*>("k"), 1}));
    a.key_hashes.push_back(sha256({reinterpret_cast<const uint8_t*>("l"), 1}));
    f.tenants.push_back(a);
    f.tenants.push_back(Tenant{"empty", "", {}, std::nullopt});
    auto back = parse_tenants(to_toml(f), "t.toml");
    ASSERT_TRUE(back.ok()) << back.error().message << "\n" << to_toml(f);
    ASSERT_EQ(back->tenants.size(), 2u);
    EXPECT_EQ(back->tenants[0].id, "acme");
    EXPECT_EQ(back->tenants[0].name, a.name);
    EXPECT_EQ(back->tenants[0].key_hashes, a.key_hashes);
    EXPECT_EQ(back->tenants[0].models, a.models);
    EXPECT_EQ(back->tenants[1].id, "empty");
    EXPECT_FALSE(back->tenants[1].models.has_value());
}

TEST(TenantsFile, LimitsFallBackToTheDefaults) {
    const std::string text =
        "[default_limits]\nrequests_per_minute = 60\ntokens_per_minute = 1000\n"
        "quota_period = \"day\"\n\n"
        "[[tenant]]\nid = \"a\"\nweight = 3\npriority = -1\nadmin = true\n"
        "cache_group = \"docs\"\n[tenant.limits]\ntokens_per_minute = 0\nmax_tokens = 64\n"
        "quota_tokens = 500\n[tenant.prices]\nprompt = 0.5\ncached = 0.25\ncompletion = 2\n"
        "\n[[tenant]]\nid = \"b\"\nweight = 0.5\n";
    auto f = parse_tenants(text, "t.toml");
    ASSERT_TRUE(f.ok()) << f.error().message;
    const Tenant& a = f->tenants[0];
    EXPECT_EQ(a.weight, 3.0);
    EXPECT_EQ(a.priority, -1);
    EXPECT_TRUE(a.admin);
    EXPECT_EQ(a.cache_group, "docs");
    ASSERT_TRUE(a.prices.has_value());
    EXPECT_EQ(a.prices->cached, 0.25);
    EXPECT_EQ(a.prices->completion, 2.0);
    const Limits la = f->limits_of(a);
    EXPECT_EQ(la.requests_per_minute, 60);  // the default
    EXPECT_EQ(la.tokens_per_minute, 0);     // its own 0: unlimited
    EXPECT_EQ(la.max_tokens, 64);
    EXPECT_EQ(la.quota_tokens, 500);
    EXPECT_EQ(la.quota_period, QuotaPeriod::Day);
    const Tenant& b = f->tenants[1];
    EXPECT_EQ(b.weight, 0.5);
    EXPECT_FALSE(b.admin);
    const Limits lb = f->limits_of(b);
    EXPECT_EQ(lb.tokens_per_minute, 1000);
    EXPECT_EQ(lb.max_concurrent_requests, 0);

    // Written back and read again: the same settings, defaults still apart.
    auto back = parse_tenants(to_toml(*f), "t.toml");
    ASSERT_TRUE(back.ok()) << back.error().message << "\n" << to_toml(*f);
    EXPECT_EQ(back->default_limits.requests_per_minute, 60);
    EXPECT_FALSE(back->tenants[0].limits.requests_per_minute.has_value());
    EXPECT_EQ(back->tenants[0].limits.tokens_per_minute, 0);
    EXPECT_EQ(back->tenants[0].weight, 3.0);
    EXPECT_EQ(back->tenants[0].priority, -1);
    EXPECT_TRUE(back->tenants[0].admin);
    EXPECT_EQ(back->tenants[0].cache_group, "docs");
    EXPECT_EQ(back->tenants[0].prices->prompt, 0.5);
    EXPECT_EQ(back->tenants[1].weight, 0.5);
    EXPECT_FALSE(back->tenants[1].prices.has_value());
}

TEST(TenantsFile, MissingFileIsAnError) {
    auto f = load_tenants_file("/nonexistent/tenants.toml");
    ASSERT_FALSE(f.ok());
    EXPECT_NE(f.error().message.find("/nonexistent/tenants.toml"), std::string::npos);
}

}  // namespace
}  // namespace ig::tenants
