// The tokenize/detokenize subcommands, run as a user would.
#include <gtest/gtest.h>

#include <fstream>

#include "support/test_support.h"
#include "support/tokenizer_vectors.h"

namespace ig {
namespace {

TEST(TokenizeCli, JsonlMatchesVectors) {
    const std::string base = test::shared_file("tokenizers/gguf/ggml-vocab-gpt-2.gguf");
    if (!test::exists(base)) GTEST_SKIP() << "shared data not present";
    const auto cases = test::read_vectors(base + ".inp", base + ".out");
    test::TempDir dir;
    {
        std::ofstream in(dir.file("in.jsonl"));
        for (const auto& c : cases) {
            std::string j = "\"";
            for (unsigned char ch : c.text) {
                char buf[8];
                if (ch == '"' || ch == '\\') {
                    j += '\\';
                    j += static_cast<char>(ch);
                } else if (ch < 0x20) {
                    std::snprintf(buf, sizeof buf, "\\u%04x", ch);
                    j += buf;
                } else {
                    j += static_cast<char>(ch);
                }
            }
            in << j << "\"\n";
        }
    }
    std::string out;
    ASSERT_EQ(test::run(test::binary() + " tokenize --model " + base + " --no-bos --jsonl < " +
                            dir.file("in.jsonl"),
                        &out),
              0);
    std::istringstream lines(out);
    for (const auto& c : cases) {
        std::string line;
        ASSERT_TRUE(std::getline(lines, line));
        std::istringstream ls(line);
        std::vector<int32_t> ids;
        for (int32_t id; ls >> id;) ids.push_back(id);
        EXPECT_EQ(ids, c.ids) << c.text;
    }
    ASSERT_EQ(test::run(test::binary() + " detokenize --model " + base + " 15496 995", &out), 0);
    EXPECT_EQ(out, "Hello world\n");
    ASSERT_EQ(
        test::run("echo '[15496, 995]' | " + test::binary() + " detokenize --jsonl --model " + base,
                  &out),
        0);
    EXPECT_EQ(out, "\"Hello world\"\n");
    EXPECT_NE(
        test::run(test::binary() + " detokenize --model " + base + " 99999999 2>/dev/null", &out),
        0);
    EXPECT_NE(test::run(test::binary() + " tokenize 2>/dev/null x", &out),
              0);  // no tokenizer given
}

TEST(TokenizeCli, TokenizerJsonWithoutModel) {
    const std::string tj = test::shared_file("tokenizers/hf/qwen3/tokenizer.json");
    if (!test::exists(tj)) GTEST_SKIP() << "shared data not present";
    std::string out;
    ASSERT_EQ(test::run(test::binary() + " tokenize --tokenizer-json " + tj +
                            " --parse-special '<|im_start|>Hello world'",
                        &out),
              0);
    EXPECT_EQ(out, "151644 9707 1879\n");
}

}  // namespace
}  // namespace ig
