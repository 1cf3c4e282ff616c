// `infergrid tenants add-key`: the printed key authenticates against the
// file it wrote, and the file holds only the key's hash.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "app/commands.h"
#include "support/test_support.h"
#include "tenants/key_store.h"

namespace ig::app {
namespace {

// Runs `infergrid <args>` with only the tenants command; returns its exit
// code and stdout.
std::pair<int, std::string> run(const std::vector<std::string>& args) {
    CLI::App app;
    app.require_subcommand(1);
    const Command cmd = add_tenants(app);
    std::vector<const char*> argv = {"infergrid"};
    for (const std::string& a : args) argv.push_back(a.c_str());
    try {
        app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::Error&) {
        return {2, ""};
    }
    testing::internal::CaptureStdout();
    const int rc = cmd.run();
    return {rc, testing::internal::GetCapturedStdout()};
}

TEST(TenantsCommand, AddKeyPrintsAKeyWhoseHashIsInTheFile) {
    test::TempDir dir;
    const std::string path = dir.file("sub.toml");
    auto [rc, out] =
        run({"tenants", "add-key", "--tenants", path, "--tenant", "acme", "--name", "Acme Corp"});
    ASSERT_EQ(rc, 0);
    ASSERT_FALSE(out.empty());
    ASSERT_EQ(out.back(), '\n');
    const std::string key = out.substr(0, out.size() - 1);
    EXPECT_EQ(key.rfind("ig-", 0), 0u) << key;
    const std::string text = test::read_text(path);
    EXPECT_EQ(text.find(key.substr(3)), std::string::npos) << "plaintext key in the file";
    auto file = tenants::load_tenants_file(path);
    ASSERT_TRUE(file.ok()) << file.error().message;
    const tenants::KeyStore ks(std::move(file).value());
    const tenants::Tenant* t = ks.authenticate(key);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->id, "acme");
    EXPECT_EQ(t->name, "Acme Corp");

    // A second key for the same tenant; both work.
    auto [rc2, out2] = run({"tenants", "add-key", "--tenants", path, "--tenant", "acme"});
    ASSERT_EQ(rc2, 0);
    const std::string key2 = out2.substr(0, out2.size() - 1);
    EXPECT_NE(key2, key);
    auto again = tenants::load_tenants_file(path);
    ASSERT_TRUE(again.ok());
    const tenants::KeyStore ks2(std::move(again).value());
    EXPECT_EQ(ks2.authenticate(key), ks2.authenticate(key2));
    EXPECT_NE(ks2.authenticate(key), nullptr);
    EXPECT_EQ(ks2.find("acme")->name, "Acme Corp") << "the name is kept";
}

TEST(TenantsCommand, FlagsAreRequiredAndBadIdsFail) {
    test::TempDir dir;
    EXPECT_EQ(run({"tenants", "add-key", "--tenant", "a"}).first, 2);
    EXPECT_EQ(run({"tenants", "add-key", "--tenants", dir.file("t.toml")}).first, 2);
    EXPECT_EQ(run({"tenants"}).first, 2);
    EXPECT_EQ(run({"tenants", "add-key", "--tenants", dir.file("t.toml"), "--tenant", "a/b"}).first,
              1);
}

}  // namespace
}  // namespace ig::app
