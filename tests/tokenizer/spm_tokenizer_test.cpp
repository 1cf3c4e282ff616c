#include "tokenizer/spm_tokenizer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "gguf/gguf.h"
#include "support/test_support.h"
#include "tokenizer/gguf_vocab.h"
#include "util/utf8.h"

namespace ig {
namespace {

Expected<SpmTokenizer> load(const std::string& path) {
    auto f = GgufFile::open(path);
    if (!f.ok()) return f.error();
    auto v = vocab_from_gguf(*f);
    if (!v.ok()) return v.error();
    return SpmTokenizer::create(std::move(v).value());
}

// llama.cpp's test vectors: every string must give exactly the ids that the
// Hugging Face tokenizer gave (no BOS in the vectors).
TEST(SpmTokenizer, LlamaSpmVectors) {
    const std::string base = test::shared_file("tokenizers/gguf/ggml-vocab-llama-spm.gguf");
    if (!test::exists(base)) GTEST_SKIP() << "shared data not present";
    auto tok = load(base);
    ASSERT_TRUE(tok.ok()) << tok.error().message;
    const std::string inp = test::read_text(base + ".inp");
    std::istringstream out(test::read_text(base + ".out"));
    const std::string sep = "\n__ggml_vocab_test__\n";
    size_t pos = 0, checked = 0;
    while (pos < inp.size()) {
        size_t end = inp.find(sep, pos);
        if (end == std::string::npos) break;
        const std::string text = inp.substr(pos, end - pos);
        pos = end + sep.size();
        std::string line;
        ASSERT_TRUE(std::getline(out, line));
        std::vector<int32_t> want;
        std::istringstream ls(line);
        for (int32_t id; ls >> id;) want.push_back(id);
        EXPECT_EQ(tok->encode(text, {.add_special = false}), want) << "text: [" << text << "]";
        ++checked;
    }
    EXPECT_GT(checked, 20u);
}

TEST(SpmTokenizer, StoriesPromptAndRoundTrip) {
    const std::string path = test::shared_file("models/stories260K.gguf");
    if (!test::exists(path)) GTEST_SKIP() << "shared data not present";
    auto tok = load(path);
    ASSERT_TRUE(tok.ok()) << tok.error().message;
    const auto ids = tok->encode("Once upon a time");
    ASSERT_FALSE(ids.empty());
    EXPECT_EQ(ids[0], 1);  // BOS
    // Decoding gives the text back (the first piece's space is the added prefix).
    IncrementalDecoder dec(*tok);
    std::string text;
    for (size_t i = 1; i < ids.size(); ++i) text += dec.push(ids[i]);
    text += dec.flush();
    EXPECT_EQ(text, "Once upon a time");
}

TEST(SpmTokenizer, ByteFallbackAndStreamingUtf8) {
    const std::string path = test::shared_file("models/stories260K.gguf");
    if (!test::exists(path)) GTEST_SKIP() << "shared data not present";
    auto tok = load(path);
    ASSERT_TRUE(tok.ok());
    // A 512-token vocabulary has no "é" or emoji: they must fall back to bytes
    // and decode back whole, never as half a character.
    const std::string s = "caf\xC3\xA9 \xF0\x9F\xA6\x99!";
    const auto ids = tok->encode(s, {.add_special = false});
    IncrementalDecoder dec(*tok);
    std::string text;
    for (int32_t id : ids) {
        std::string piece = dec.push(id);
        EXPECT_EQ(utf8::incomplete_tail(piece), 0u);
        EXPECT_EQ(utf8::sanitize(piece), piece);
        text += piece;
    }
    text += dec.flush();
    EXPECT_EQ(text, s);
}

}  // namespace
}  // namespace ig
