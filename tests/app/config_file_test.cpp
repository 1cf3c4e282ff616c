// `serve --config FILE.toml`: every flag loads from TOML exactly as from the
// command line (table-driven over all of `serve`'s flags), the README's own
// example loads, and bad files fail naming the file, line and key.
#include "app/config_file.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "app/serve_args.h"
#include "support/test_support.h"

namespace ig::app {
namespace {

struct Parsed {
    ServeArgs args;
    Status status;
};

// `infergrid serve <args>`, then the --config file if one was given.
Parsed parse(const std::vector<std::string>& args) {
    CLI::App app;
    Parsed p;
    CLI::App* sub = add_serve_options(app, p.args);
    std::vector<const char*> argv = {"infergrid", "serve"};
    for (const std::string& a : args) argv.push_back(a.c_str());
    try {
        app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::Error& e) {
        p.status = make_error("command line: {}", e.what());
        return p;
    }
    if (!p.args.config.empty()) p.status = apply_config(*sub, p.args.config);
    p.args.config.clear();
    return p;
}

std::string write(const test::TempDir& dir, const std::string& text) {
    const std::string path = dir.file("serve.toml");
    std::ofstream(path) << text;
    return path;
}

// Every flag of `serve`: a value other than its default, on the command line
// and as TOML. Integers, floats, strings, booleans and size strings.
const std::map<std::string, std::pair<std::string, std::string>> kValues = {
    {"model", {"m.gguf", "\"m.gguf\""}},
    {"served-model-name", {"x", "\"x\""}},
    {"models-dir", {"models", "\"models\""}},
    {"max-loaded-models", {"2", "2"}},
    {"models-memory", {"1048576", "1048576"}},
    {"keep-alive", {"300", "300"}},
    {"model-load-wait", {"60", "60"}},
    {"chat-template", {"t.jinja", "\"t.jinja\""}},
    {"tool-call-parser", {"hermes", "\"hermes\""}},
    {"reasoning-parser", {"qwen3", "\"qwen3\""}},
    {"host", {"0.0.0.0", "\"0.0.0.0\""}},
    {"port", {"8081", "8081"}},
    {"threads", {"3", "3"}},
    {"io-threads", {"4", "4"}},
    {"kv-budget-mb", {"2.5", "2.5"}},
    {"block-tokens", {"32", "32"}},
    {"kv-type", {"f32", "\"f32\""}},
    {"max-num-seqs", {"8", "8"}},
    {"max-num-batched-tokens", {"256", "256"}},
    {"max-num-partial-prefills", {"2", "2"}},
    {"long-prefill-tokens", {"64", "64"}},
    {"max-waiting", {"10", "10"}},
    {"priority-aging-seconds", {"2.5", "2.5"}},
    {"no-tenant-fair-share", {"", "true"}},
    {"no-prefix-cache", {"", "true"}},
    {"kv-host-bytes", {"4GB", "\"4GB\""}},
    {"kv-host-q8", {"", "true"}},
    {"kv-disk-dir", {"d", "\"d\""}},
    {"kv-disk-bytes", {"1048576", "1048576"}},
    {"kv-disk-sync", {"always", "\"always\""}},
    {"max-body-bytes", {"2048", "2048"}},
    {"max-header-bytes", {"4096", "4096"}},
    {"idle-timeout", {"1.5", "1.5"}},
    {"request-timeout", {"2", "2"}},  // a whole number for a float flag
    {"max-connections", {"100", "100"}},
    {"grace-period", {"0.25", "0.25"}},
    {"max-n", {"4", "4"}},
    {"max-tenant-labels", {"5", "5"}},
    {"tenants", {"t.toml", "\"t.toml\""}},
    {"api-key", {"k3y", "\"k3y\""}},
    {"usage-db", {"u.db", "\"u.db\""}},
    {"no-request-log", {"", "true"}},
    {"log-level", {"warn", "\"warn\""}},
};

TEST(ServeConfig, EveryFlagLoadsFromTomlAsFromTheCommandLine) {
    CLI::App app;
    ServeArgs unused;
    const CLI::App* sub = add_serve_options(app, unused);
    test::TempDir dir;
    int checked = 0;
    for (const CLI::Option* opt : sub->get_options()) {
        const std::string name = opt->get_single_name();
        if (name == "help" || name == "config" || opt->get_positional()) continue;
        const auto it = kValues.find(name);
        ASSERT_NE(it, kValues.end()) << "no test value for --" << name;
        const auto& [cli, toml] = it->second;
        std::vector<std::string> args = {"--" + name};
        if (!cli.empty()) args.push_back(cli);
        const Parsed from_cli = parse(args);
        ASSERT_TRUE(from_cli.status.ok()) << name << ": " << from_cli.status.error().message;
        const Parsed from_file = parse({"--config", write(dir, name + " = " + toml + "\n")});
        ASSERT_TRUE(from_file.status.ok()) << name << ": " << from_file.status.error().message;
        EXPECT_FALSE(from_cli.args == ServeArgs{}) << name << ": the test value is the default";
        EXPECT_TRUE(from_file.args == from_cli.args) << name << " = " << toml;
        ++checked;
    }
    EXPECT_EQ(checked, static_cast<int>(kValues.size()));
}

TEST(ServeConfig, ReadmeExampleLoads) {
    const std::string readme = test::read_text(std::string(IG_SOURCE_DIR) + "/README.md");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(readme, m, std::regex("```toml\n([^`]*)```"))) << "no TOML block";
    test::TempDir dir;
    const Parsed p = parse({"--config", write(dir, m[1].str())});
    ASSERT_TRUE(p.status.ok()) << p.status.error().message;
    EXPECT_EQ(p.args.models, std::vector<std::string>{"../shared/models/stories260K.gguf"});
    EXPECT_EQ(p.args.port, 8080);
    EXPECT_EQ(p.args.threads, 8);
    EXPECT_EQ(p.args.grace_period, 30);
    EXPECT_EQ(p.args.max_connections, 16384);
}

TEST(ServeConfig, KvDiskSyncTakesOnlyItsModes) {
    test::TempDir dir;
    EXPECT_EQ(ServeArgs{}.kv_disk_sync, "batch");
    const Parsed ok = parse({"--config", write(dir, "kv-disk-sync = \"off\"\n")});
    ASSERT_TRUE(ok.status.ok()) << ok.status.error().message;
    EXPECT_EQ(ok.args.kv_disk_sync, "off");
    const Parsed bad = parse({"--config", write(dir, "kv-disk-sync = \"sometimes\"\n")});
    ASSERT_FALSE(bad.status.ok());
    EXPECT_NE(bad.status.error().message.find("kv-disk-sync"), std::string::npos)
        << bad.status.error().message;
    EXPECT_FALSE(parse({"--kv-disk-sync", "sometimes"}).status.ok());
}

TEST(ServeConfig, CommandLineWins) {
    test::TempDir dir;
    const Parsed p = parse({"--port", "9000", "--config", write(dir, "port = 1\nthreads = 2\n")});
    ASSERT_TRUE(p.status.ok()) << p.status.error().message;
    EXPECT_EQ(p.args.port, 9000);
    EXPECT_EQ(p.args.threads, 2);
}

// Each bad file fails with the file, the line and the key (or the syntax error).
TEST(ServeConfig, BadFilesNameFileLineAndKey) {
    test::TempDir dir;
    struct Case {
        std::string text;
        std::vector<std::string> want;
    };
    const std::vector<Case> cases = {
        {"port = 8080\nbogus-key = 1\n", {":2:", "'bogus-key'", "unknown setting"}},
        {"\nport = true\n", {":2:", "'port'", "string or a number"}},
        {"no-prefix-cache = 1\n", {":1:", "'no-prefix-cache'", "true or false"}},
        {"host = [1, 2]\n", {":1:", "'host'", "array"}},
        {"port = 70000\n", {":1:", "'port'"}},
        {"kv-type = 3\nport = \"abc\"\n", {":2:", "'port'"}},
        {"config = \"other.toml\"\n", {":1:", "'config'"}},
        {"port = 8080\nthreads = \n", {":2:"}},
    };
    for (const Case& c : cases) {
        const std::string path = write(dir, c.text);
        const Parsed p = parse({"--config", path});
        ASSERT_FALSE(p.status.ok()) << c.text;
        const std::string& msg = p.status.error().message;
        EXPECT_NE(msg.find(path), std::string::npos) << msg;
        for (const std::string& w : c.want) EXPECT_NE(msg.find(w), std::string::npos) << msg;
    }
}

}  // namespace
}  // namespace ig::app
