// The catalog of a models directory (files, folders, models.toml) and
// --model lists; the merge of per-model metric expositions.
#include <gtest/gtest.h>

#include <fstream>

#include "server/exposition_merge.h"
#include "server/model_catalog.h"
#include "support/metrics_text.h"
#include "support/test_support.h"

namespace ig::server {
namespace {

void touch(const std::string& path, const std::string& text = "x") {
    std::ofstream(path) << text;
}

struct Dir {
    test::TempDir t;
    Dir() {
        touch(t.file("alpha.gguf"));
        touch(t.file("beta.gguf"));
        touch(t.file("notes.txt"));
        touch(t.file("gamma.gguf.partial"));
        std::filesystem::create_directory(t.file("hf-model"));
        touch(t.file("hf-model/config.json"), "{}");
        std::filesystem::create_directory(t.file("not-a-model"));
    }
    std::string path() const { return t.path().string(); }
};

TEST(ModelCatalog, ScansFilesAndFoldersByName) {
    Dir d;
    auto c = build_catalog({d.path(), {}, ""});
    ASSERT_TRUE(c.ok()) << c.error().message;
    ASSERT_EQ(c->size(), 3u);
    EXPECT_EQ((*c)[0].name, "alpha");
    EXPECT_EQ((*c)[1].name, "beta");
    EXPECT_EQ((*c)[2].name, "hf-model");
    EXPECT_EQ((*c)[2].path, d.t.file("hf-model"));
}

TEST(ModelCatalog, ModelsTomlRenamesAndSetsOptions) {
    Dir d;
    touch(d.t.file("models.toml"), R"(
[models.fast]
file = "alpha.gguf"
aliases = ["gpt-4o-mini", "small"]
context = 1024
kv_bytes = "64MiB"
chat_template = "t.jinja"
tool_call_parser = "hermes"

[models.beta]
kv_bytes = 1000000
)");
    auto c = build_catalog({d.path(), {}, ""});
    ASSERT_TRUE(c.ok()) << c.error().message;
    const ModelSpec* fast = nullptr;
    const ModelSpec* beta = nullptr;
    for (const ModelSpec& s : *c) {
        if (s.name == "fast") fast = &s;
        if (s.name == "beta") beta = &s;
    }
    ASSERT_NE(fast, nullptr);
    EXPECT_EQ(fast->path, d.t.file("alpha.gguf"));
    EXPECT_EQ(fast->aliases, (std::vector<std::string>{"gpt-4o-mini", "small"}));
    EXPECT_EQ(fast->context, 1024);
    EXPECT_EQ(fast->kv_bytes, 64 << 20);
    EXPECT_EQ(fast->chat_template_path, d.t.file("t.jinja"));
    EXPECT_EQ(fast->tool_call_parser, "hermes");
    ASSERT_NE(beta, nullptr);
    EXPECT_EQ(beta->kv_bytes, 1000000);
}

TEST(ModelCatalog, ModelsTomlMistakesAreErrorsWithTheLine) {
    struct Case {
        const char* toml;
        const char* expect;
    } cases[] = {
        {"[models.alpha]\ncontxt = 5\n", "unknown key 'contxt'"},
        {"[models.alpha]\ncontxt = 5\n", "line 2"},
        {"[models.x]\nfile = \"missing.gguf\"\n", "no model file or folder 'missing.gguf'"},
        {"[models.alpha]\ncontext = -1\n", "positive integer"},
        {"[models.alpha]\nkv_bytes = \"lots\"\n", "not a byte size"},
        {"[models.alpha]\naliases = \"a\"\n", "array of strings"},
        {"[other]\n", "unknown table 'other'"},
        {"[models.alpha]\naliases = [\"beta\"]\n", "used twice"},
        {"[models.alpha\n", "models.toml"},
    };
    for (const Case& k : cases) {
        Dir d;
        touch(d.t.file("models.toml"), k.toml);
        auto c = build_catalog({d.path(), {}, ""});
        ASSERT_FALSE(c.ok()) << k.toml;
        EXPECT_NE(c.error().message.find(k.expect), std::string::npos)
            << k.toml << " -> " << c.error().message;
    }
}

TEST(ModelCatalog, ModelFlagsComeFirstAndNamesAreUnique) {
    Dir d;
    test::TempDir other;
    touch(other.file("zeta.gguf"));
    auto c = build_catalog({d.path(), {other.file("zeta.gguf")}, ""});
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->front().name, "zeta");
    EXPECT_EQ(c->size(), 4u);

    touch(other.file("alpha.gguf"));
    auto clash = build_catalog({d.path(), {other.file("alpha.gguf")}, ""});
    ASSERT_FALSE(clash.ok());
    EXPECT_NE(clash.error().message.find("'alpha' is used twice"), std::string::npos);

    auto named = build_catalog({"", {other.file("zeta.gguf")}, "my-model"});
    ASSERT_TRUE(named.ok());
    EXPECT_EQ(named->front().name, "my-model");
    EXPECT_FALSE(build_catalog({d.path(), {other.file("zeta.gguf")}, "my-model"}).ok());
    EXPECT_FALSE(build_catalog({"", {other.file("nope.gguf")}, ""}).ok());
    EXPECT_FALSE(build_catalog({other.file("zeta.gguf"), {}, ""}).ok());  // not a directory
    test::TempDir empty;
    auto none = build_catalog({empty.path().string(), {}, ""});
    ASSERT_FALSE(none.ok());
    EXPECT_NE(none.error().message.find("holds no model"), std::string::npos);
}

TEST(ModelCatalog, ByteSizes) {
    EXPECT_EQ(*parse_byte_size("1000"), 1000);
    EXPECT_EQ(*parse_byte_size("4GB"), 4'000'000'000);
    EXPECT_EQ(*parse_byte_size("512 MiB"), 512LL << 20);
    EXPECT_EQ(*parse_byte_size("1.5GiB"), 3LL << 29);
    EXPECT_FALSE(parse_byte_size("").ok());
    EXPECT_FALSE(parse_byte_size("GB").ok());
    EXPECT_FALSE(parse_byte_size("5 parsecs").ok());
    EXPECT_FALSE(parse_byte_size("1e30").ok());
    EXPECT_FALSE(parse_byte_size("99999999999TB").ok());
}

TEST(ExpositionMerge, OneFamilyHeaderAndNoDuplicateSeries) {
    const std::string a =
        "# HELP x_total Things.\n# TYPE x_total counter\nx_total{model=\"a\"} 1\n"
        "# HELP h Latency.\n# TYPE h histogram\nh_bucket{model=\"a\",le=\"+Inf\"} 2\n"
        "h_sum{model=\"a\"} 0.5\nh_count{model=\"a\"} 2\n"
        "# HELP rss Process.\n# TYPE rss gauge\nrss 100\n";
    const std::string b =
        "# HELP x_total Things.\n# TYPE x_total counter\nx_total{model=\"b\"} 3\n"
        "# HELP h Latency.\n# TYPE h histogram\nh_bucket{model=\"b\",le=\"+Inf\"} 1\n"
        "h_sum{model=\"b\"} 0.25\nh_count{model=\"b\"} 1\n"
        "# HELP rss Process.\n# TYPE rss gauge\nrss 101\n";
    const std::string merged = merge_expositions({a, b});
    const test::Exposition e = test::parse_exposition(merged);
    EXPECT_TRUE(e.errors.empty()) << merged;
    EXPECT_EQ(e.sum("x_total"), 4);
    EXPECT_EQ(e.sum("x_total", {{"model", "b"}}), 3);
    EXPECT_EQ(e.sum("h_count"), 3);
    EXPECT_EQ(e.sum("rss"), 100);  // the first part's value, once
}

}  // namespace
}  // namespace ig::server
