// `tenants add-key`: a fresh random key whose hash (and only its hash) lands
// in the file, which is created when missing and otherwise kept.
#include "tenants/add_key.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "support/test_support.h"
#include "tenants/key_store.h"

namespace ig::tenants {
namespace {

TEST(AddKey, GeneratedKeysAreLongRandomAndUrlSafe) {
    std::set<std::string> seen;
    for (int i = 0; i < 100; ++i) {
        auto k = generate_key();
        ASSERT_TRUE(k.ok());
        ASSERT_EQ(k->size(), 3u + 43u) << *k;  // "ig-" + 32 bytes in base64url
        EXPECT_EQ(k->substr(0, 3), "ig-");
        for (char c : k->substr(3))
            EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << *k;
        seen.insert(*k);
    }
    EXPECT_EQ(seen.size(), 100u);
}

TEST(AddKey, CreatesTheFileAndTheTenant) {
    test::TempDir dir;
    const std::string path = dir.file("tenants.toml");
    auto key = add_key(path, "acme", std::string("Acme Corp"));
    ASSERT_TRUE(key.ok()) << key.error().message;
    const std::string text = test::read_text(path);
    EXPECT_EQ(text.find(*key), std::string::npos) << "plaintext key in the file";
    EXPECT_EQ(text.find(key->substr(3)), std::string::npos) << "plaintext key in the file";
    EXPECT_NE(text.find(key_hash_string(*key)), std::string::npos);
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    auto file = load_tenants_file(path);
    ASSERT_TRUE(file.ok()) << file.error().message;
    const KeyStore ks(std::move(file).value());
    const Tenant* t = ks.authenticate(*key);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->id, "acme");
    EXPECT_EQ(t->name, "Acme Corp");
    // No temporary file is left behind.
    int entries = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path()))
        ++entries;
    EXPECT_EQ(entries, 1);
}

TEST(AddKey, KeepsOtherTenantsKeysAndModels) {
    test::TempDir dir;
    const std::string path = dir.file("tenants.toml");
    std::ofstream(path) << "# hand-written\n[[tenant]]\nid = \"globex\"\nname = \"G\"\nkeys = [\""
                        << key_hash_string("old") << "\"]\nmodels = [\"m\"]\n";
    ::chmod(path.c_str(), 0640);
    auto k1 = add_key(path, "globex", std::nullopt);
    auto k2 = add_key(path, "acme", std::nullopt);
    ASSERT_TRUE(k1.ok() && k2.ok());
    auto file = load_tenants_file(path);
    ASSERT_TRUE(file.ok()) << file.error().message;
    ASSERT_EQ(file->tenants.size(), 2u);
    EXPECT_EQ(file->tenants[0].name, "G");
    EXPECT_EQ(file->tenants[0].models, std::vector<std::string>{"m"});
    EXPECT_EQ(file->tenants[0].key_hashes.size(), 2u);
    const KeyStore ks(std::move(file).value());
    EXPECT_EQ(ks.authenticate("old")->id, "globex");
    EXPECT_EQ(ks.authenticate(*k1)->id, "globex");
    EXPECT_EQ(ks.authenticate(*k2)->id, "acme");
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0640u) << "an existing file keeps its permissions";
}

TEST(AddKey, RefusesBadIdsAndBrokenFilesWithoutTouchingThem) {
    test::TempDir dir;
    const std::string path = dir.file("tenants.toml");
    EXPECT_FALSE(add_key(path, "bad id", std::nullopt).ok());
    EXPECT_FALSE(std::filesystem::exists(path));
    const std::string broken = "[[tenant]]\nid = \"a\"\nkeys = [\"plaintext\"]\n";
    std::ofstream(path) << broken;
    auto k = add_key(path, "a", std::nullopt);
    ASSERT_FALSE(k.ok());
    EXPECT_NE(k.error().message.find(":3:"), std::string::npos) << k.error().message;
    EXPECT_EQ(test::read_text(path), broken);
}

}  // namespace
}  // namespace ig::tenants
