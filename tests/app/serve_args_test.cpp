// `infergrid serve`'s flags as users of llama-server and Ollama type them.
#include "app/serve_args.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ig::app {
namespace {

// Parses `infergrid serve <args>`; false when CLI11 refuses them.
bool parse(const std::vector<std::string>& args, ServeArgs& a) {
    CLI::App app;
    add_serve_options(app, a);
    std::vector<const char*> argv = {"infergrid", "serve"};
    for (const std::string& s : args) argv.push_back(s.c_str());
    try {
        app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::Error&) {
        return false;
    }
    return true;
}

TEST(ServeArgs, ModelAsPositionalOrFlagButNotBoth) {
    ServeArgs a;
    ASSERT_TRUE(parse({"m.gguf", "--port", "9"}, a));
    EXPECT_EQ(a.models, std::vector<std::string>{"m.gguf"});
    EXPECT_EQ(a.port, 9);
    ServeArgs b;
    ASSERT_TRUE(parse({"-m", "x.gguf"}, b));
    EXPECT_EQ(b.models, std::vector<std::string>{"x.gguf"});
    ServeArgs c;
    EXPECT_FALSE(parse({"m.gguf", "--model", "x.gguf"}, c));
}

TEST(ServeArgs, TenantsAndApiKeyExcludeEachOther) {
    ServeArgs a;
    ASSERT_TRUE(parse({"--tenants", "t.toml"}, a));
    EXPECT_EQ(a.tenants, "t.toml");
    ServeArgs b;
    ASSERT_TRUE(parse({"--api-key", "k"}, b));
    EXPECT_EQ(b.api_key, "k");
    ServeArgs c;
    EXPECT_FALSE(parse({"--tenants", "t.toml", "--api-key", "k"}, c));
}

}  // namespace
}  // namespace ig::app
