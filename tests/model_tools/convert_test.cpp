// `convert` on the real TinyStories-656K folder: the GGUF it writes holds
// the same weights (logits equal the folder's bit for bit) and a llama.cpp
// "llama" vocabulary whose SentencePiece scores reproduce the folder's
// tokenizer.json BPE on every test string.
#include <gtest/gtest.h>

#include <random>

#include "model/llama_model.h"
#include "model_tools/convert.h"
#include "support/model_runner.h"
#include "support/test_support.h"
#include "tokenizer/gguf_vocab.h"
#include "tokenizer/hf_folder_vocab.h"

namespace ig {
namespace {

std::string folder() {
    return test::shared_file("models/tinystories-656k");
}

class ConvertTinyStories : public testing::Test {
  protected:
    void SetUp() override {
        if (!test::exists(folder() + "/model.safetensors")) GTEST_SKIP() << "no " << folder();
        ThreadPool pool(2);
        auto s = convert_hf_folder(folder(), gguf(), QuantMix::F32, pool, {});
        ASSERT_TRUE(s.ok()) << s.error().message;
    }
    std::string gguf() const { return dir_.file("ts.gguf"); }
    test::TempDir dir_;
};

// Text made of the vocabulary's own pieces, so that many merges compete.
std::vector<std::string> test_strings(const Vocab& v) {
    std::vector<std::string> s = {"",
                                  " ",
                                  "  ",
                                  "Once upon a time",
                                  "Once upon a time, there was a little girl named Lily.",
                                  "She liked to play in the park with her dog, Max!",
                                  "Hello\nworld\t tabs  and   spaces ",
                                  "\"Why?\" asked Tom. 'Because,' said Mom.",
                                  "1234567890 3.14 -42",
                                  "naïve café déjà vu",
                                  "日本語のテキスト",
                                  "Ελληνικά и русский",
                                  "emoji 😀🐶🌈 done",
                                  "<|start_story|>Once",
                                  "x<|end_story|>y",
                                  "<unk>",
                                  "▁▁ literal",
                                  "a\u00a0b\u200bc",
                                  "ZZZZZZ qqqq xyzzy"};
    std::mt19937 rng(11);
    for (int i = 0; i < 400; ++i) {
        std::string t;
        const int n = 1 + static_cast<int>(rng() % 12);
        for (int k = 0; k < n; ++k) {
            const auto id = static_cast<size_t>(3 + rng() % static_cast<uint32_t>(v.size() - 3));
            std::string piece = v.tokens[id];
            if (piece.size() == 6 && piece.starts_with("<0x")) continue;
            for (size_t p; (p = piece.find("\u2581")) != std::string::npos;)
                piece.replace(p, 3, " ");
            t += piece;
        }
        s.push_back(t);
    }
    for (int i = 0; i < 50; ++i) {  // printable ASCII soup
        std::string t;
        for (int k = 0; k < 30; ++k) t += static_cast<char>(32 + rng() % 95);
        s.push_back(t);
    }
    return s;
}

TEST_F(ConvertTinyStories, TokenizationEqualsTokenizerJson) {
    auto g = GgufFile::open(gguf());
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(g->get_string("tokenizer.ggml.model"), "llama");
    auto from_gguf = load_tokenizer(*g);
    ASSERT_TRUE(from_gguf.ok()) << from_gguf.error().message;
    auto v = vocab_from_hf_folder(folder());
    ASSERT_TRUE(v.ok()) << v.error().message;
    auto from_json = make_tokenizer(*v);
    ASSERT_TRUE(from_json.ok());
    EXPECT_EQ((*from_gguf)->bos_id(), 1);
    EXPECT_EQ((*from_gguf)->eos_id(), 2);
    int mismatches = 0;
    const auto strings = test_strings(*v);
    for (const std::string& s : strings)
        for (bool special : {false, true}) {
            EncodeOptions o;
            o.parse_special = special;
            const auto a = (*from_json)->encode(s, o);
            const auto b = (*from_gguf)->encode(s, o);
            if (a != b) ++mismatches;
            EXPECT_EQ(a, b) << "'" << s << "' special=" << special;
            EXPECT_EQ((*from_json)->decode(a), (*from_gguf)->decode(b)) << s;
        }
    std::printf("[ convert  ] tokenization: %d of %zu encodings differ\n", mismatches,
                2 * strings.size());
}

TEST_F(ConvertTinyStories, LogitsEqualTheFolder) {
    ThreadPool pool(2);
    std::vector<std::vector<float>> out;
    for (const std::string& path : {folder(), gguf()}) {
        auto m = LlamaModel::load(path);
        ASSERT_TRUE(m.ok()) << m.error().message;
        test::KvArena kv(**m, 8, 16, DType::F32);
        const std::vector<int32_t> toks{1, 400, 37, 1200, 5, 99, 2047};
        const auto table = kv.take(7);
        out.push_back(test::run_seq(**m, kv, pool, toks, 0, table, 7));
    }
    ASSERT_EQ(out[0].size(), out[1].size());
    for (size_t i = 0; i < out[0].size(); ++i) ASSERT_EQ(out[0][i], out[1][i]) << i;
}

}  // namespace
}  // namespace ig
