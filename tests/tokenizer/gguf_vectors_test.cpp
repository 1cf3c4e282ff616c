// Every vocab-only GGUF in ../shared tokenizes llama.cpp's test strings to
// exactly the ids of the model's reference (Hugging Face) tokenizer, and
// decodes them back.
#include <gtest/gtest.h>

#include "model/gguf.h"
#include "support/test_support.h"
#include "tokenizer/incremental_decoder.h"
#include "tools/gguf_vocab.h"
#include "vector_util.h"

namespace ig {
namespace {

class GgufVectors : public ::testing::TestWithParam<const char*> {};

TEST_P(GgufVectors, EncodeExactlyAndDecodeBack) {
    const std::string base = test::shared_file(std::string("tokenizers/gguf/ggml-vocab-") + GetParam() + ".gguf");
    if (!test::exists(base)) GTEST_SKIP() << "shared data not present";
    auto f = GgufFile::open(base);
    ASSERT_TRUE(f.ok()) << f.error().message;
    auto tok = load_tokenizer(*f);
    ASSERT_TRUE(tok.ok()) << tok.error().message;
    const auto cases = test::read_vectors(base + ".inp", base + ".out");
    ASSERT_GT(cases.size(), 20u);
    const std::string name = GetParam();
    for (const auto& c : cases) {
        const auto ids = (*tok)->encode(c.text, {.add_special = false});
        EXPECT_EQ(ids, c.ids) << name << " text: [" << c.text << "]";
        // Lossless except where the vocabulary cannot represent the text:
        // SentencePiece-style vocabularies drop the leading space of a text
        // that starts with spaces? No: they keep it (only the added prefix is
        // stripped), so every case must come back.
        std::string text;
        IncrementalDecoder dec(**tok);
        for (int32_t id : ids) text += dec.push(id);
        text += dec.flush();
        EXPECT_EQ(text, c.text) << name << " decode of [" << c.text << "]";
    }
}

INSTANTIATE_TEST_SUITE_P(All, GgufVectors,
                         ::testing::Values("llama-spm", "phi-3", "baichuan", "gpt-2", "deepseek-coder",
                                           "deepseek-llm", "falcon", "mpt", "refact", "starcoder"),
                         [](const auto& info) {
                             std::string s = info.param;
                             for (char& c : s)
                                 if (c == '-') c = '_';
                             return s;
                         });

}  // namespace
}  // namespace ig
