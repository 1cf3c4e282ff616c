// A Hugging Face folder's vocabulary: tokenizer.json + tokenizer_config.json,
// every eos_token_id of generation_config.json ends generation, and the
// vocabulary is padded to config.json's vocab_size.
#include "tokenizer/hf_folder_vocab.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "gguf/gguf.h"
#include "support/test_support.h"
#include "tokenizer/gguf_vocab.h"
#include "tokenizer/hf_tokenizer_json.h"
#include "tokenizer/vocab_to_gguf.h"
#include "util/read_file.h"

namespace ig {
namespace {

namespace fs = std::filesystem;

class HfFolderVocab : public testing::Test {
  protected:
    void SetUp() override {
        src_ = test::shared_file("models/tinystories-656k");
        if (!test::exists(src_ + "/tokenizer.json")) GTEST_SKIP() << "no " << src_;
        fs::create_directory(dir());
        for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
            fs::copy_file(src_ + "/" + f, dir() + "/" + f);
    }
    std::string dir() const { return tmp_.file("m"); }
    void write(const std::string& name, const std::string& text) const {
        std::ofstream(dir() + "/" + name) << text;
    }
    std::string src_;
    test::TempDir tmp_;
};

TEST_F(HfFolderVocab, EveryGenerationConfigEosEndsGeneration) {
    write("generation_config.json", R"({"bos_token_id":1,"eos_token_id":[2,7]})");
    auto v = vocab_from_hf_folder(dir());
    ASSERT_TRUE(v.ok()) << v.error().message;
    EXPECT_EQ(v->eos_id, 2);
    EXPECT_EQ(v->bos_id, 1);
    auto tok = make_tokenizer(*v);
    ASSERT_TRUE(tok.ok());
    EXPECT_TRUE((*tok)->is_eog(2));
    EXPECT_TRUE((*tok)->is_eog(7));
    EXPECT_FALSE((*tok)->is_eog(8));
}

TEST_F(HfFolderVocab, PaddedToTheModelsVocabSize) {
    write("config.json", R"({"vocab_size":2056})");
    auto v = vocab_from_hf_folder(dir());
    ASSERT_TRUE(v.ok()) << v.error().message;
    ASSERT_EQ(v->size(), 2056);
    EXPECT_EQ(v->tokens[2050], "[PAD2050]");
    EXPECT_EQ(v->type(2050), TokenType::Unused);
}

TEST_F(HfFolderVocab, BadFilesAreNamed) {
    write("generation_config.json", R"({"eos_token_id":[2,99999]})");
    auto v = vocab_from_hf_folder(dir());
    ASSERT_FALSE(v.ok());
    EXPECT_NE(v.error().message.find("eos_token_id"), std::string::npos);
    write("generation_config.json", "{");
    EXPECT_FALSE(vocab_from_hf_folder(dir()).ok());
    fs::remove(dir() + "/tokenizer.json");
    auto missing = vocab_from_hf_folder(dir());
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message.find("tokenizer.json"), std::string::npos);
}

}  // namespace
}  // namespace ig

namespace ig {
namespace {

// Byte-level BPE tokenizer.json files written as llama.cpp vocabularies: the
// pre-tokenizer is named from its regexes and the GGUF tokenizes the same.
class ByteLevelToGguf : public testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(ByteLevelToGguf, NamesThePreTokenizerAndTokenizesTheSame) {
    const auto [name, pre] = GetParam();
    const std::string d = test::shared_file(std::string("tokenizers/hf/") + name);
    if (!test::exists(d + "/tokenizer.json")) GTEST_SKIP() << "no " << d;
    auto tj = read_file(d + "/tokenizer.json");
    auto tc = read_file(d + "/tokenizer_config.json");
    ASSERT_TRUE(tj.ok() && tc.ok());
    auto v = vocab_from_hf_json(*tj, *tc);
    ASSERT_TRUE(v.ok()) << v.error().message;
    auto kv = vocab_to_gguf(*v);
    ASSERT_TRUE(kv.ok()) << kv.error().message;
    GgufWriter w;
    for (auto& e : *kv) w.set(e.key, e.value);
    test::TempDir tmp;
    ASSERT_TRUE(w.write(tmp.file("v.gguf")).ok());
    auto g = GgufFile::open(tmp.file("v.gguf"));
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(g->get_string("tokenizer.ggml.pre"), pre);
    auto a = make_tokenizer(*v);
    auto b = load_tokenizer(*g);
    ASSERT_TRUE(a.ok() && b.ok());
    for (const char* s : {"Hello world", "  leading spaces and 12345 digits", "naïve café 日本語",
                          "don't stop\n\nnew lines\t tabs", "emoji 😀 <|im_start|> text"})
        EXPECT_EQ((*a)->encode(s), (*b)->encode(s)) << s;
}

INSTANTIATE_TEST_SUITE_P(Shared, ByteLevelToGguf,
                         testing::Values(std::pair{"llama3", "llama-bpe"},
                                         std::pair{"qwen3", "qwen2"}),
                         [](const auto& i) { return std::string(i.param.first); });

}  // namespace
}  // namespace ig
