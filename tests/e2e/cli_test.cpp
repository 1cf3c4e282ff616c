// The `infergrid` binary end to end: exit codes, errors and output.
#include <gtest/gtest.h>

#include "support/test_support.h"

namespace ig {
namespace {

std::string bin() {
    return test::binary();
}

TEST(Cli, GenerateOnSynthModel) {
    test::TempDir dir;
    const std::string m = dir.file("m.gguf");
    std::string out;
    ASSERT_EQ(
        test::run(bin() + " synth --preset tiny-llama --type q8_0 --out " + m + " 2>&1", &out), 0)
        << out;
    ASSERT_EQ(
        test::run(bin() + " generate -m " + m + " -p 'hello there' -n 8 --ignore-eos 2>&1", &out),
        0)
        << out;
    EXPECT_EQ(out.rfind("hello there", 0), 0u) << out;
    EXPECT_NE(out.find("tok/s"), std::string::npos) << out;
}

TEST(Cli, ClearErrorsForBadInput) {
    test::TempDir dir;
    std::string out;
    EXPECT_EQ(test::run(bin() + " generate -m " + dir.file("missing.gguf") + " -p x 2>&1", &out),
              1);
    EXPECT_NE(out.find("missing.gguf"), std::string::npos) << out;
    const std::string junk = dir.file("junk.gguf");
    ASSERT_EQ(test::run("head -c 100 /dev/urandom > " + junk), 0);
    EXPECT_EQ(test::run(bin() + " generate -m " + junk + " -p x 2>&1", &out), 1);
    EXPECT_NE(out.find("error:"), std::string::npos) << out;
    EXPECT_EQ(test::run(bin() + " inspect " + junk + " 2>&1", &out), 1);
    EXPECT_NE(test::run(bin() + " synth --preset nope --out x 2>&1", &out), 0);
    EXPECT_NE(test::run(bin() + " frobnicate 2>&1", &out), 0);
}

TEST(Cli, ServeRefusesUnknownOutputParsers) {
    test::TempDir dir;
    std::string out;
    const std::string m = dir.file("m.gguf");
    ASSERT_EQ(test::run(bin() + " synth --preset tiny-llama --out " + m + " 2>&1", &out), 0);
    EXPECT_NE(test::run(bin() + " serve " + m + " --port 0 --tool-call-parser banana 2>&1", &out),
              0);
    EXPECT_NE(out.find("hermes"), std::string::npos) << out;  // the valid names are listed
    EXPECT_NE(test::run(bin() + " serve " + m + " --port 0 --reasoning-parser banana 2>&1", &out),
              0);
    EXPECT_NE(out.find("qwen3"), std::string::npos) << out;
}

// Habits from other tools: an unknown command is named and ours are listed;
// --help shows defaults; requantizing warns.
TEST(Cli, UnknownCommandIsNamedAndHelpShowsDefaults) {
    std::string out;
    EXPECT_EQ(test::run(bin() + " run llama3 2>&1", &out), 1);
    EXPECT_NE(out.find("unknown command 'run'"), std::string::npos) << out;
    EXPECT_NE(out.find("serve"), std::string::npos) << out;
    EXPECT_NE(out.find("generate"), std::string::npos) << out;
    ASSERT_EQ(test::run(bin() + " generate --help 2>&1", &out), 0);
    EXPECT_NE(out.find("=64"), std::string::npos) << out;  // -n, --n-predict
    ASSERT_EQ(test::run(bin() + " plan --help 2>&1", &out), 0);
    EXPECT_NE(out.find("=1.3"), std::string::npos) << out;  // --headroom
}

TEST(Cli, RequantizingWarns) {
    test::TempDir dir;
    const std::string q4 = dir.file("q4.gguf"), q8 = dir.file("q8.gguf");
    std::string out;
    ASSERT_EQ(
        test::run(bin() + " synth --preset tiny-llama --type q4_0 --out " + q4 + " 2>&1", &out), 0)
        << out;
    ASSERT_EQ(test::run(bin() + " quantize " + q4 + " " + q8 + " --type q8_0 2>&1", &out), 0)
        << out;
    EXPECT_NE(out.find("warning: q4_0 weights are quantized again"), std::string::npos) << out;
}

TEST(Cli, PromptOverContextIsRefused) {
    test::TempDir dir;
    const std::string m = dir.file("m.gguf");
    std::string out;
    ASSERT_EQ(test::run(bin() + " synth --preset tiny-llama --ctx 16 --out " + m + " 2>&1", &out),
              0);
    EXPECT_EQ(test::run(bin() + " generate -m " + m + " -p 'a b c d e f' -n 100 2>&1", &out), 1);
    EXPECT_NE(out.find("context length 16"), std::string::npos) << out;
}

}  // namespace
}  // namespace ig
