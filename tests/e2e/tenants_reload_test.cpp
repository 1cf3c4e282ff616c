// `infergrid serve --tenants FILE` re-reads the file on SIGHUP: a key added
// to the file works without a restart; a bad file is refused (logged) and
// the server goes on with the old tenants.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <thread>

#include "support/child_server.h"
#include "support/server_fixture.h"
#include "tenants/tenants_file.h"

namespace ig::test {
namespace {

using namespace std::chrono_literals;

int models_status(uint16_t port, const std::string& key) {
    Conn c(port);
    if (!c.ok() || !c.send("GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                           "Authorization: Bearer " +
                           key + "\r\n\r\n"))
        return 0;
    return c.read_response(10s).status;
}

// The status once it equals `want`, or the last one after ~10 s.
int wait_status(uint16_t port, const std::string& key, int want) {
    int s = 0;
    for (int i = 0; i < 200 && (s = models_status(port, key)) != want; ++i)
        std::this_thread::sleep_for(50ms);
    return s;
}

TEST(TenantsReload, SighupReadsTheFileAgainAndKeepsTheOldOnABadOne) {
    const std::string model = server_model_path();
    if (model.empty()) GTEST_SKIP() << "no model";
    TempDir dir;
    const std::string path = dir.file("tenants.toml");
    const std::string first = "ig-first-key-0123456789", second = "ig-second-key-0123456789";
    auto tenant = [](const std::string& id, const std::string& key) {
        return "[[tenant]]\nid = \"" + id + "\"\nkeys = [\"" + tenants::key_hash_string(key) +
               "\"]\n";
    };
    std::ofstream(path) << tenant("one", first);
    ChildServer child;
    ASSERT_TRUE(child.start({binary(), "serve", "--model", model, "--port", "0", "--threads", "1",
                             "--kv-budget-mb", "8", "--tenants", path, "--log-level", "warn"}));
    EXPECT_EQ(models_status(child.port, first), 200);
    EXPECT_EQ(models_status(child.port, second), 401);

    std::ofstream(path) << tenant("one", first) + tenant("two", second);
    ASSERT_EQ(kill(child.pid, SIGHUP), 0);
    EXPECT_EQ(wait_status(child.port, second, 200), 200);

    // A broken file: the server stays up with the tenants it had.
    std::ofstream(path) << "[[tenant]]\nid = 7\n";
    ASSERT_EQ(kill(child.pid, SIGHUP), 0);
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(models_status(child.port, first), 200);
    EXPECT_EQ(models_status(child.port, second), 200);

    // Removing a tenant from the file takes its key away.
    std::ofstream(path) << tenant("one", first);
    ASSERT_EQ(kill(child.pid, SIGHUP), 0);
    EXPECT_EQ(wait_status(child.port, second, 401), 401);
    EXPECT_EQ(models_status(child.port, first), 200);
}

}  // namespace
}  // namespace ig::test
