#include "model_tools/synth.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <utility>
#include <vector>

#include "model/llama_model.h"
#include "support/test_support.h"
#include "tokenizer/gguf_vocab.h"
#include "tokenizer/spm_tokenizer.h"

namespace ig {
namespace {

std::string bytes_of(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

TEST(Synth, SameSeedSameFileWhateverTheThreads) {
    test::TempDir dir;
    ThreadPool one(1), two(2);
    const auto spec = *synth_preset("tiny-qwen2");
    ASSERT_TRUE(synth_model(spec, DType::Q8_0, 9, dir.file("a.gguf"), one).ok());
    ASSERT_TRUE(synth_model(spec, DType::Q8_0, 9, dir.file("b.gguf"), two).ok());
    ASSERT_TRUE(synth_model(spec, DType::Q8_0, 10, dir.file("c.gguf"), two).ok());
    EXPECT_EQ(bytes_of(dir.file("a.gguf")), bytes_of(dir.file("b.gguf")));
    EXPECT_NE(bytes_of(dir.file("a.gguf")), bytes_of(dir.file("c.gguf")));
}

// Issue 23 item 5: writing and loading a model report progress (synth and
// serve printed nothing for seconds on large models).
TEST(Synth, WritingAndLoadingReportProgress) {
    test::TempDir dir;
    ThreadPool pool(1);
    std::vector<std::pair<int64_t, int64_t>> wrote, loaded;
    const auto spec = *synth_preset("tiny-llama");
    ASSERT_TRUE(
        synth_model(spec, DType::Q8_0, 1, dir.file("m.gguf"), pool, [&](int64_t d, int64_t t) {
            wrote.emplace_back(d, t);
        }).ok());
    ASSERT_GE(wrote.size(), 3u);
    EXPECT_EQ(wrote.front().first, 0);
    EXPECT_EQ(wrote.back().first, wrote.back().second);
    for (size_t i = 1; i < wrote.size(); ++i) EXPECT_EQ(wrote[i].first, wrote[i - 1].first + 1);
    auto m = LlamaModel::load(dir.file("m.gguf"),
                              [&](int64_t d, int64_t t) { loaded.emplace_back(d, t); });
    ASSERT_TRUE(m.ok()) << m.error().message;
    ASSERT_GE(loaded.size(), 2u);
    EXPECT_EQ(loaded.front().first, 0);
    EXPECT_EQ(loaded.back().first, loaded.back().second);  // 2 layers x 7 + output
    EXPECT_EQ(loaded.back().second, 15);
}

TEST(Synth, EveryPresetShapeLoads) {
    // Big presets are checked by their metadata only (writing them is for
    // benchmarks); tiny ones are written and loaded.
    test::TempDir dir;
    ThreadPool pool(2);
    for (const auto& name : synth_preset_names()) {
        if (name.rfind("tiny-", 0) != 0) continue;
        for (const char* type : {"f32", "f16", "bf16", "q8_0", "q4_0"}) {
            const std::string p = dir.file(name + type + ".gguf");
            auto st = synth_model(*synth_preset(name), *dtype_from_name(type), 1, p, pool);
            ASSERT_TRUE(st.ok()) << name << " " << type << ": " << st.error().message;
            auto m = LlamaModel::load(p);
            ASSERT_TRUE(m.ok()) << name << " " << type << ": " << m.error().message;
        }
    }
    auto big = synth_preset("tinyllama-1.1b");
    ASSERT_TRUE(big);
    EXPECT_EQ(big->n_embd, 2048);
    EXPECT_EQ(big->n_layer, 22);
    EXPECT_EQ(big->n_head, 32);
    EXPECT_EQ(big->n_head_kv, 4);
    EXPECT_EQ(big->n_ff, 5632);
    EXPECT_EQ(big->n_vocab, 32000);
    EXPECT_FALSE(big->tied_output);
    auto qwen = synth_preset("qwen2.5-0.5b");
    ASSERT_TRUE(qwen);
    EXPECT_EQ(qwen->arch, "qwen2");
    EXPECT_EQ(qwen->n_embd, 896);
    EXPECT_EQ(qwen->n_layer, 24);
    EXPECT_EQ(qwen->n_head, 14);
    EXPECT_EQ(qwen->n_head_kv, 2);
    EXPECT_EQ(qwen->n_ff, 4864);
    EXPECT_EQ(qwen->n_vocab, 151936);
    EXPECT_TRUE(qwen->tied_output);
    EXPECT_TRUE(qwen->qkv_bias);
    auto qwen3 = synth_preset("qwen3-0.6b");
    ASSERT_TRUE(qwen3);
    EXPECT_EQ(qwen3->arch, "qwen3");
    EXPECT_EQ(qwen3->n_embd, 1024);
    EXPECT_EQ(qwen3->n_layer, 28);
    EXPECT_EQ(qwen3->n_head, 16);
    EXPECT_EQ(qwen3->n_head_kv, 8);
    EXPECT_EQ(qwen3->head_dim, 128);
    EXPECT_EQ(qwen3->n_ff, 3072);
    EXPECT_EQ(qwen3->n_vocab, 151936);
    EXPECT_EQ(qwen3->n_ctx, 40960);
    EXPECT_EQ(qwen3->rope_base, 1e6f);
    EXPECT_EQ(qwen3->rms_eps, 1e-6f);
    EXPECT_TRUE(qwen3->tied_output);
    EXPECT_FALSE(qwen3->qkv_bias);
}

// Qwen3 as llama.cpp writes it: key/value_length, per-head Q/K norms, no
// QKV bias, and n_head * head_dim wide attention (not n_embd).
TEST(Synth, Qwen3Tensors) {
    test::TempDir dir;
    ThreadPool pool(1);
    ASSERT_TRUE(
        synth_model(*synth_preset("tiny-qwen3"), DType::F32, 1, dir.file("m.gguf"), pool).ok());
    auto f = GgufFile::open(dir.file("m.gguf"));
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_EQ(f->get_int("qwen3.attention.key_length"), 32);
    EXPECT_EQ(f->get_int("qwen3.attention.value_length"), 32);
    EXPECT_EQ(f->get_int("qwen3.rope.dimension_count"), 32);
    const auto shape = [&](const char* name) {
        const GgufTensorInfo* t = f->find_tensor(name);
        return t ? t->shape : std::vector<uint64_t>{};
    };
    EXPECT_EQ(shape("blk.1.attn_q_norm.weight"), (std::vector<uint64_t>{32}));
    EXPECT_EQ(shape("blk.1.attn_k_norm.weight"), (std::vector<uint64_t>{32}));
    EXPECT_EQ(shape("blk.0.attn_q.weight"), (std::vector<uint64_t>{64, 128}));
    EXPECT_EQ(shape("blk.0.attn_k.weight"), (std::vector<uint64_t>{64, 64}));
    EXPECT_EQ(shape("blk.0.attn_output.weight"), (std::vector<uint64_t>{128, 64}));
    EXPECT_EQ(f->find_tensor("blk.0.attn_q.bias"), nullptr);
    EXPECT_EQ(f->find_tensor("output.weight"), nullptr);  // tied
    // Other architectures keep n_embd / n_head and write no key_length.
    ASSERT_TRUE(
        synth_model(*synth_preset("tiny-qwen2"), DType::F32, 1, dir.file("q2.gguf"), pool).ok());
    auto q2 = GgufFile::open(dir.file("q2.gguf"));
    ASSERT_TRUE(q2.ok());
    EXPECT_EQ(q2->find("qwen2.attention.key_length"), nullptr);
    EXPECT_EQ(q2->find_tensor("blk.0.attn_q_norm.weight"), nullptr);
}

// A head_dim override gives llama the same n_head * head_dim != n_embd shape.
TEST(Synth, HeadDimOverride) {
    test::TempDir dir;
    ThreadPool pool(1);
    auto spec = *synth_preset("tiny-llama");
    spec.head_dim = 24;  // 4 heads x 24 = 96 != 64
    ASSERT_TRUE(synth_model(spec, DType::F32, 1, dir.file("m.gguf"), pool).ok());
    auto m = LlamaModel::load(dir.file("m.gguf"));
    ASSERT_TRUE(m.ok()) << m.error().message;
    EXPECT_EQ((*m)->config().head_dim, 24);
    EXPECT_EQ((*m)->config().q_dim(), 96);
    spec.head_dim = 7;
    EXPECT_FALSE(synth_model(spec, DType::F32, 1, dir.file("odd.gguf"), pool).ok());
    spec.head_dim = 20;  // 80-wide attn_output rows are not whole Q8_0 blocks
    auto st = synth_model(spec, DType::Q8_0, 1, dir.file("q.gguf"), pool);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("heads x head dim (80)"), std::string::npos)
        << st.error().message;
}

TEST(Synth, TokenizerWorks) {
    test::TempDir dir;
    ThreadPool pool(1);
    auto spec = *synth_preset("tiny-llama");
    spec.n_vocab = 2000;
    ASSERT_TRUE(synth_model(spec, DType::F16, 1, dir.file("m.gguf"), pool).ok());
    auto f = GgufFile::open(dir.file("m.gguf"));
    ASSERT_TRUE(f.ok());
    auto v = vocab_from_gguf(*f);
    ASSERT_TRUE(v.ok()) << v.error().message;
    EXPECT_EQ(v->size(), 2000);
    auto tok = SpmTokenizer::create(std::move(v).value());
    ASSERT_TRUE(tok.ok());
    const std::string text = "hello world, Zebra 42 \xC3\xA9t\xC3\xA9";
    auto ids = tok->encode(text);
    EXPECT_EQ(ids[0], 1);
    EXPECT_LT(ids.size(), text.size());  // merges happened
    IncrementalDecoder dec(*tok);
    std::string back;
    for (size_t i = 1; i < ids.size(); ++i) back += dec.push(ids[i]);
    back += dec.flush();
    EXPECT_EQ(back, text);
}

TEST(Synth, RejectsBadShapes) {
    test::TempDir dir;
    ThreadPool pool(1);
    auto spec = *synth_preset("tiny-llama");
    spec.n_embd = 48;  // not a multiple of Q8_0's 32-element block
    auto st = synth_model(spec, DType::Q8_0, 1, dir.file("x.gguf"), pool);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("block"), std::string::npos);
    spec = *synth_preset("tiny-llama");
    spec.n_head_kv = 3;
    EXPECT_FALSE(synth_model(spec, DType::F32, 1, dir.file("y.gguf"), pool).ok());
}

}  // namespace
}  // namespace ig
