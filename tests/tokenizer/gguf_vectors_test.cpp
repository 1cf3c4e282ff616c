// Every vocab-only GGUF in ../shared tokenizes llama.cpp's test strings to
// exactly the ids of the model's reference (Hugging Face) tokenizer, and
// decodes them back.
#include <gtest/gtest.h>

#include "gguf/gguf.h"
#include "support/test_support.h"
#include "support/tokenizer_vectors.h"
#include "tokenizer/gguf_vocab.h"
#include "tokenizer/incremental_decoder.h"

namespace ig {
namespace {

class GgufVectors : public ::testing::TestWithParam<const char*> {};

TEST_P(GgufVectors, EncodeExactlyAndDecodeBack) {
    const std::string base =
        test::shared_file(std::string("tokenizers/gguf/ggml-vocab-") + GetParam() + ".gguf");
    if (!test::exists(base)) GTEST_SKIP() << "shared data not present";
    auto f = GgufFile::open(base);
    ASSERT_TRUE(f.ok()) << f.error().message;
    auto tok = load_tokenizer(*f);
    ASSERT_TRUE(tok.ok()) << tok.error().message;
    // baichuan and gpt-neox come without vectors: they are checked on the
    // same strings for the round trip only.
    const bool has_vectors = test::exists(base + ".out");
    const std::string vec =
        has_vectors ? base : test::shared_file("tokenizers/gguf/ggml-vocab-gpt-2.gguf");
    const auto cases = test::read_vectors(vec + ".inp", vec + ".out");
    ASSERT_GT(cases.size(), 20u);
    const std::string name = GetParam();
    for (const auto& c : cases) {
        const auto ids = (*tok)->encode(c.text, {.add_special = false});
        if (has_vectors) {
            EXPECT_EQ(ids, c.ids) << name << " text: [" << c.text << "]";
        }
        // Every vocabulary here represents every test string (byte fallback
        // or byte-level), so decoding is lossless.
        std::string text;
        IncrementalDecoder dec(**tok);
        for (int32_t id : ids) text += dec.push(id);
        text += dec.flush();
        EXPECT_EQ(text, c.text) << name << " decode of [" << c.text << "]";
    }
}

INSTANTIATE_TEST_SUITE_P(All, GgufVectors,
                         ::testing::Values("llama-spm", "phi-3", "baichuan", "gpt-2",
                                           "deepseek-coder", "deepseek-llm", "falcon", "mpt",
                                           "refact", "starcoder", "gpt-neox"),
                         [](const auto& info) {
                             std::string s = info.param;
                             for (char& c : s)
                                 if (c == '-') c = '_';
                             return s;
                         });

}  // namespace
}  // namespace ig
