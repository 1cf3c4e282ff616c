// Hugging Face tokenizer.json loading: the Llama 3 and Qwen files reproduce
// llama.cpp's vectors for those models; TinyStories' SentencePiece-style
// BPE round-trips.
#include "tokenizer/hf_tokenizer_json.h"

#include <gtest/gtest.h>

#include "support/test_support.h"
#include "support/tokenizer_vectors.h"
#include "tokenizer/incremental_decoder.h"

namespace ig {
namespace {

Expected<std::unique_ptr<Tokenizer>> load_hf(const std::string& dir) {
    return tokenizer_from_hf_json(test::read_text(dir + "/tokenizer.json"),
                                  test::read_text(dir + "/tokenizer_config.json"));
}

void check_vectors(const Tokenizer& tok, const std::string& name) {
    const std::string base = test::shared_file("tokenizers/gguf/ggml-vocab-" + name + ".gguf");
    const auto cases = test::read_vectors(base + ".inp", base + ".out");
    ASSERT_GT(cases.size(), 20u);
    for (const auto& c : cases) {
        const auto ids = tok.encode(c.text, {.add_special = false});
        EXPECT_EQ(ids, c.ids) << name << " text: [" << c.text << "]";
        EXPECT_EQ(tok.decode(ids), c.text) << name;  // byte-level BPE is lossless
    }
}

TEST(HfJson, Llama3MatchesLlamaBpeVectors) {
    const std::string dir = test::shared_file("tokenizers/hf/llama3");
    if (!test::exists(dir + "/tokenizer.json")) GTEST_SKIP() << "shared data not present";
    auto tok = load_hf(dir);
    ASSERT_TRUE(tok.ok()) << tok.error().message;
    check_vectors(**tok, "llama-bpe");
    const Tokenizer& t = **tok;
    EXPECT_EQ(t.n_vocab(), 128256);
    EXPECT_EQ(t.bos_id(), 128000);
    EXPECT_EQ(t.eos_id(), 128001);
    EXPECT_TRUE(t.is_eog(128009));   // <|eot_id|>
    EXPECT_FALSE(t.is_eog(128008));  // a reserved token in this (Llama 3.0) file
    EXPECT_FALSE(t.is_eog(128006));
}

TEST(HfJson, QwenMatchesQwen2AndDeepseekR1Vectors) {
    const std::string dir = test::shared_file("tokenizers/hf/qwen3");
    if (!test::exists(dir + "/tokenizer.json")) GTEST_SKIP() << "shared data not present";
    auto tok = load_hf(dir);
    ASSERT_TRUE(tok.ok()) << tok.error().message;
    check_vectors(**tok, "qwen2");
    check_vectors(**tok, "deepseek-r1-qwen");
    const Tokenizer& t = **tok;
    EXPECT_EQ(t.eos_id(), 151645);  // <|im_end|>
    EXPECT_TRUE(t.is_eog(151643));  // <|endoftext|>
    EXPECT_FALSE(t.vocab().add_bos);
    // Control tokens only with parse_special; then one id each.
    const std::string chat = "<|im_start|>user\nhi<|im_end|>";
    const auto plain = t.encode(chat);
    EXPECT_EQ(std::count(plain.begin(), plain.end(), 151644), 0);
    const auto special = t.encode(chat, {.parse_special = true});
    ASSERT_EQ(special.front(), 151644);
    EXPECT_EQ(special.back(), 151645);
    EXPECT_EQ(t.decode(special, true), chat);
    EXPECT_EQ(t.decode(special), "user\nhi");
}

TEST(HfJson, TinyStoriesSentencePieceStyleBpe) {
    const std::string dir = test::shared_file("models/tinystories-656k");
    if (!test::exists(dir + "/tokenizer.json")) GTEST_SKIP() << "shared data not present";
    auto tok = load_hf(dir);
    ASSERT_TRUE(tok.ok()) << tok.error().message;
    const Tokenizer& t = **tok;
    EXPECT_EQ(t.bos_id(), 1);  // <|start_story|>
    EXPECT_EQ(t.eos_id(), 2);
    const std::string text = "Once upon a time, there was a little girl named Lily.";
    const auto ids = t.encode(text);
    ASSERT_GT(ids.size(), 3u);
    EXPECT_EQ(ids[0], 1);
    EXPECT_LT(ids.size(), text.size() / 2);  // merges happened
    EXPECT_EQ(t.decode(ids), text);          // the prepended "▁" is stripped again
    IncrementalDecoder dec(t);
    std::string streamed;
    for (int32_t id : ids) streamed += dec.push(id);
    EXPECT_EQ(streamed + dec.flush(), text);
    // No <0xNN> tokens in this vocabulary: characters it lacks become one
    // <unk> per run (fuse_unk), which decodes to nothing.
    const auto unk = t.encode("a \xE2\x98\x83\xE2\x98\x83 b", {.add_special = false});
    EXPECT_EQ(std::count(unk.begin(), unk.end(), t.vocab().unk_id), 1);
}

TEST(HfJson, MalformedInputsAreErrors) {
    EXPECT_FALSE(tokenizer_from_hf_json("", "").ok());
    EXPECT_FALSE(tokenizer_from_hf_json("{", "").ok());
    EXPECT_FALSE(tokenizer_from_hf_json("[]", "").ok());
    EXPECT_FALSE(tokenizer_from_hf_json(R"({"model":{"type":"Unigram","vocab":[]}})", "").ok());
    EXPECT_FALSE(tokenizer_from_hf_json(R"({"model":{"type":"BPE","vocab":{"a":-1}},
        "pre_tokenizer":{"type":"ByteLevel"}})",
                                        "")
                     .ok());
    EXPECT_FALSE(tokenizer_from_hf_json(R"({"model":{"type":"BPE","vocab":{"a":"x"}},
        "pre_tokenizer":{"type":"ByteLevel"}})",
                                        "")
                     .ok());
    EXPECT_FALSE(tokenizer_from_hf_json(R"({"model":{"type":"BPE","vocab":{"a":0},"merges":[1]},
        "pre_tokenizer":{"type":"ByteLevel"}})",
                                        "")
                     .ok());
    EXPECT_FALSE(tokenizer_from_hf_json(R"({"model":{"type":"BPE","vocab":{"a":0}},
        "pre_tokenizer":{"type":"Split","pattern":{"Regex":"(unclosed"},"behavior":"Isolated"}})",
                                        "")
                     .ok());
    // Merges naming unknown tokens are skipped, not fatal.
    auto t = tokenizer_from_hf_json(R"({"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},
        "merges":["a b","x y","a"]},"pre_tokenizer":{"type":"ByteLevel","use_regex":false}})",
                                    "");
    ASSERT_TRUE(t.ok()) << t.error().message;
    EXPECT_EQ((*t)->encode("abab", {.add_special = false}), (std::vector<int32_t>{2, 2}));
    EXPECT_EQ((*t)->encode("zz", {.add_special = false}),
              (std::vector<int32_t>{}));  // no byte tokens, no unk
}

}  // namespace
}  // namespace ig
