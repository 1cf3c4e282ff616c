// Hugging Face folders end to end: `infergrid convert` on the real
// TinyStories-656K folder, then greedy generation from the folder and from
// the converted GGUF gives the same tokens; `serve` on the folder answers.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "support/child_server.h"
#include "support/server_fixture.h"
#include "support/test_support.h"

namespace ig::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string tinystories() {
    return shared_file("models/tinystories-656k");
}

// The text (stdout) and the "prompt ids: ..." / "generated ids: ..." lines
// of a greedy `generate --ids` (timings and logs left out).
std::string greedy_ids(const std::string& model, std::string* all) {
    std::string out;
    const std::string cmd = binary() + " generate -m " + model +
                            " -p 'Once upon a time' -n 40 --temperature 0 --ignore-eos --ids "
                            "--threads 2 2>&1";
    EXPECT_EQ(run(cmd, &out), 0) << out;
    if (all) *all = out;
    std::string kept;
    size_t at = 0;
    while (at < out.size()) {
        size_t nl = out.find('\n', at);
        if (nl == std::string::npos) nl = out.size();
        const std::string line = out.substr(at, nl - at);
        if (line.starts_with("prompt ids:") || line.starts_with("generated ids:") ||
            line.starts_with("Once upon a time"))
            kept += line + "\n";
        at = nl + 1;
    }
    return kept;
}

TEST(HfFolderCli, ConvertThenGenerateGivesTheSameTokens) {
    if (!exists(tinystories() + "/model.safetensors")) GTEST_SKIP() << "no shared TinyStories";
    TempDir dir;
    const std::string gguf = dir.file("ts.gguf");
    std::string out;
    ASSERT_EQ(run(binary() + " convert " + tinystories() + " " + gguf + " 2>&1", &out), 0) << out;
    EXPECT_NE(out.find("blk.0.attn_q.weight"), std::string::npos) << out;
    std::string all;
    const std::string from_folder = greedy_ids(tinystories(), &all);
    const std::string from_gguf = greedy_ids(gguf, nullptr);
    EXPECT_EQ(from_folder, from_gguf);
    EXPECT_NE(from_folder.find("generated ids: "), std::string::npos) << all;
    EXPECT_NE(from_folder.find("Once upon a time"), std::string::npos) << all;

    // A quantized conversion loads and generates too.
    const std::string q8 = dir.file("ts-q8.gguf");
    ASSERT_EQ(run(binary() + " convert " + tinystories() + " " + q8 + " --type q8_0 2>&1", &out), 0)
        << out;
    EXPECT_NE(out.find("f32 -> q8_0"), std::string::npos) << out;
    greedy_ids(q8, nullptr);
}

TEST(HfFolderCli, ConvertErrors) {
    TempDir dir;
    std::string out;
    EXPECT_EQ(
        run(binary() + " convert " + dir.file("none") + " " + dir.file("a.gguf") + " 2>&1", &out),
        1);
    EXPECT_NE(out.find("not a directory"), std::string::npos) << out;
    std::filesystem::create_directory(dir.file("empty"));
    EXPECT_EQ(
        run(binary() + " convert " + dir.file("empty") + " " + dir.file("a.gguf") + " 2>&1", &out),
        1);
    EXPECT_NE(out.find("config.json"), std::string::npos) << out;
    EXPECT_FALSE(std::filesystem::exists(dir.file("a.gguf")));
    if (!exists(tinystories() + "/model.safetensors")) return;
    EXPECT_EQ(
        run(binary() + " convert " + tinystories() + " " + dir.file("a.gguf") + " --type q3_k 2>&1",
            &out),
        1);
    EXPECT_NE(out.find("unknown --type"), std::string::npos) << out;
}

TEST(HfFolderCli, ServeAnswersFromAFolder) {
    if (!exists(tinystories() + "/model.safetensors")) GTEST_SKIP() << "no shared TinyStories";
    ChildServer s;
    ASSERT_TRUE(s.start({binary(), "serve", "--model", tinystories(), "--port", "0", "--threads",
                         "2", "--log-level", "error"}));
    json body = {{"prompt", "Once upon a time"}, {"max_tokens", 16}, {"temperature", 0}};
    const HttpReply r = fetch(s.port, "POST", "/v1/completions", body.dump(), 60s);
    ASSERT_EQ(r.status, 200) << r.body;
    const json j = r.json();
    EXPECT_FALSE(j["choices"][0]["text"].get<std::string>().empty()) << r.body;
    EXPECT_EQ(j["model"], "tinystories-656k");
}

}  // namespace
}  // namespace ig::test
