// `infergrid quantize` end to end: errors leave no file, success lists every tensor.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "support/test_support.h"

namespace ig {
namespace {

TEST(Quantize, CliErrorsLeaveNoFile) {
    test::TempDir dir;
    const std::string bin = test::binary();
    std::string out;
    const std::string m = dir.file("m.gguf");
    ASSERT_EQ(test::run(bin + " synth --preset tiny-llama --type f16 -o " + m + " 2>&1", &out), 0)
        << out;
    // Unknown type.
    EXPECT_EQ(
        test::run(bin + " quantize " + m + " " + dir.file("a.gguf") + " --type q3_k 2>&1", &out),
        1);
    EXPECT_NE(out.find("unknown --type 'q3_k'"), std::string::npos) << out;
    EXPECT_FALSE(std::filesystem::exists(dir.file("a.gguf")));
    // Missing input.
    EXPECT_EQ(test::run(bin + " quantize " + dir.file("none.gguf") + " " + dir.file("b.gguf") +
                            " --type q8_0 2>&1",
                        &out),
              1);
    EXPECT_NE(out.find("cannot open"), std::string::npos) << out;
    EXPECT_FALSE(std::filesystem::exists(dir.file("b.gguf")));
    // Unwritable output.
    EXPECT_EQ(
        test::run(bin + " quantize " + m + " " + dir.file("no/such/dir.gguf") + " --type q8_0 2>&1",
                  &out),
        1);
    EXPECT_NE(out.find("cannot create"), std::string::npos) << out;
    // Success prints every tensor and the totals.
    ASSERT_EQ(
        test::run(bin + " quantize " + m + " " + dir.file("c.gguf") + " --type q4_0 2>&1", &out), 0)
        << out;
    EXPECT_NE(out.find("blk.0.attn_q.weight"), std::string::npos) << out;
    EXPECT_NE(out.find("f16 -> q4_0"), std::string::npos) << out;
    EXPECT_NE(out.find("bits per weight"), std::string::npos) << out;
    for (const auto& e : std::filesystem::directory_iterator(dir.file("")))
        EXPECT_EQ(e.path().extension(), ".gguf") << e.path();  // no .tmp left over
}

}  // namespace
}  // namespace ig
