// A model file whose metadata or tensors do not fit the architecture gets a
// clear error naming the problem, and a bad forward request is refused.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "model/llama_model.h"
#include "model_tools/synth.h"
#include "support/model_runner.h"
#include "support/test_support.h"

namespace ig {
namespace {

using KvEdit = std::function<bool(GgufKV&)>;  // false drops the key
using TensorEdit = std::function<bool(std::string&, std::vector<uint64_t>&)>;

// Copies a GGUF file through the writer, letting the test edit keys and tensors.
void rewrite(const std::string& src, const std::string& dst, const KvEdit& kv_edit,
             const TensorEdit& t_edit) {
    auto f = GgufFile::open(src);
    ASSERT_TRUE(f.ok()) << f.error().message;
    GgufWriter w;
    for (GgufKV kv : f->metadata())
        if (kv_edit(kv)) w.set(kv.key, kv.value);
    for (const auto& t : f->tensors()) {
        std::string name = t.name;
        std::vector<uint64_t> shape = t.shape;
        if (!t_edit(name, shape)) continue;
        const uint8_t* data = t.data;
        const uint64_t n = t.n_bytes;
        ASSERT_TRUE(w.add_tensor(name, shape, t.type, [data, n](uint8_t* dst, uint64_t size) {
                         std::memset(dst, 0, size);
                         std::memcpy(dst, data, std::min(n, size));
                     }).ok());
    }
    ASSERT_TRUE(w.write(dst).ok());
}

class ModelLoadErrors : public testing::Test {
  protected:
    virtual const char* preset() const { return "tiny-llama"; }
    void SetUp() override {
        ThreadPool pool(1);
        ASSERT_TRUE(synth_model(*synth_preset(preset()), DType::F32, 1, good_, pool).ok());
    }
    std::string load_error(const KvEdit& kv, const TensorEdit& te) {
        const std::string bad = dir_.file("bad.gguf");
        rewrite(good_, bad, kv, te);
        auto m = LlamaModel::load(bad);
        return m.ok() ? std::string("<loaded>") : m.error().message;
    }
    static bool keep_kv(GgufKV&) { return true; }
    static bool keep_t(std::string&, std::vector<uint64_t>&) { return true; }

    test::TempDir dir_;
    std::string good_ = dir_.file("good.gguf");
};

TEST_F(ModelLoadErrors, UnchangedCopyLoads) {
    EXPECT_EQ(load_error(keep_kv, keep_t), "<loaded>");
}

TEST_F(ModelLoadErrors, MissingRequiredKey) {
    auto e = load_error([](GgufKV& kv) { return kv.key != "llama.block_count"; }, keep_t);
    EXPECT_NE(e.find("llama.block_count"), std::string::npos) << e;
}

TEST_F(ModelLoadErrors, UnsupportedArchitecture) {
    auto e = load_error(
        [](GgufKV& kv) {
            if (kv.key == "general.architecture") kv.value = GgufValue::str("mamba");
            return true;
        },
        keep_t);
    EXPECT_NE(e.find("mamba"), std::string::npos) << e;
}

TEST_F(ModelLoadErrors, WrongTypeForKey) {
    auto e = load_error(
        [](GgufKV& kv) {
            if (kv.key == "llama.embedding_length") kv.value = GgufValue::str("64");
            return true;
        },
        keep_t);
    EXPECT_NE(e.find("embedding_length"), std::string::npos) << e;
}

TEST_F(ModelLoadErrors, HeadsNotDividingKvHeads) {
    auto e = load_error(
        [](GgufKV& kv) {
            if (kv.key == "llama.attention.head_count_kv") kv.value = GgufValue::u32(3);
            return true;
        },
        keep_t);
    EXPECT_NE(e.find("head_count_kv"), std::string::npos) << e;
}

TEST_F(ModelLoadErrors, ShapeMismatch) {
    auto e = load_error(keep_kv, [](std::string& name, std::vector<uint64_t>& shape) {
        if (name == "blk.1.attn_k.weight") shape[1] = 64;  // expects 2 KV heads * 16 = 32
        return true;
    });
    EXPECT_NE(e.find("blk.1.attn_k.weight"), std::string::npos) << e;
    EXPECT_NE(e.find("shape"), std::string::npos) << e;
}

TEST_F(ModelLoadErrors, MissingTensor) {
    auto e = load_error(keep_kv, [](std::string& name, std::vector<uint64_t>&) {
        return name != "blk.0.ffn_down.weight";
    });
    EXPECT_NE(e.find("blk.0.ffn_down.weight"), std::string::npos) << e;
}

TEST_F(ModelLoadErrors, HyperparameterDisagreesWithTensors) {
    auto e = load_error(
        [](GgufKV& kv) {
            if (kv.key == "llama.feed_forward_length") kv.value = GgufValue::u32(96);
            return true;
        },
        keep_t);
    EXPECT_NE(e.find("ffn_gate"), std::string::npos) << e;
}

// qwen3: the per-head Q/K norm weights are required, [head_dim] each.
class Qwen3LoadErrors : public ModelLoadErrors {
  protected:
    const char* preset() const override { return "tiny-qwen3"; }
};

TEST_F(Qwen3LoadErrors, UnchangedCopyLoadsAsQwen3) {
    EXPECT_EQ(load_error(keep_kv, keep_t), "<loaded>");
    auto m = LlamaModel::load(good_);
    ASSERT_TRUE(m.ok()) << m.error().message;
    const ModelConfig& c = (*m)->config();
    EXPECT_EQ(c.arch, Arch::Qwen3);
    EXPECT_EQ(c.head_dim, 32);
    EXPECT_EQ(c.q_dim(), 128);  // != n_embd
    EXPECT_EQ(c.n_embd, 64);
    EXPECT_TRUE(c.qk_norm);
    EXPECT_TRUE(c.rope_neox);
    EXPECT_FALSE(c.qkv_bias);
}

TEST_F(Qwen3LoadErrors, MissingQOrKNormNamesTheTensor) {
    for (const std::string missing : {"blk.1.attn_q_norm.weight", "blk.0.attn_k_norm.weight"}) {
        auto e = load_error(
            keep_kv, [&](std::string& name, std::vector<uint64_t>&) { return name != missing; });
        EXPECT_NE(e.find("missing tensor '" + missing + "'"), std::string::npos) << e;
    }
}

TEST_F(Qwen3LoadErrors, NormOfWrongShape) {
    auto e = load_error(keep_kv, [](std::string& name, std::vector<uint64_t>& shape) {
        if (name == "blk.0.attn_q_norm.weight") shape[0] = 64;  // n_embd, not head_dim 32
        return true;
    });
    EXPECT_NE(e.find("blk.0.attn_q_norm.weight"), std::string::npos) << e;
    EXPECT_NE(e.find("expected [32]"), std::string::npos) << e;
}

TEST_F(Qwen3LoadErrors, UnknownArchitectureListsTheKnownOnes) {
    auto e = load_error(
        [](GgufKV& kv) {
            if (kv.key == "general.architecture") kv.value = GgufValue::str("qwen4");
            return true;
        },
        keep_t);
    EXPECT_NE(e.find("unsupported architecture 'qwen4'"), std::string::npos) << e;
    EXPECT_NE(e.find("qwen3"), std::string::npos) << e;
}

TEST(ModelForwardErrors, RefusesBadRequests) {
    test::TempDir dir;
    ThreadPool pool(1);
    const std::string path = dir.file("m.gguf");
    ASSERT_TRUE(synth_model(*synth_preset("tiny-llama"), DType::F32, 1, path, pool).ok());
    auto m = LlamaModel::load(path);
    ASSERT_TRUE(m.ok());
    test::KvArena kv(**m, 4, 16, DType::F16);
    const auto table = kv.take(32);
    const int64_t V = (*m)->config().n_vocab;
    std::vector<float> logits(static_cast<size_t>(V));
    auto err = [&](std::vector<int32_t> toks, int64_t start, std::vector<int32_t> tbl,
                   int64_t n_logits, size_t logits_size) {
        ForwardBatch b;
        b.seqs.push_back({toks, start, tbl, n_logits});
        std::vector<float> l(logits_size);
        auto st = (*m)->forward(b, kv.view(), pool, l);
        return st.ok() ? std::string("<ok>") : st.error().message;
    };
    EXPECT_EQ(err({1, 2}, 0, table, 1, V), "<ok>");
    EXPECT_NE(err({1, static_cast<int32_t>(V)}, 0, table, 1, V).find("vocabulary"),
              std::string::npos);
    EXPECT_NE(err({1, -3}, 0, table, 1, V).find("vocabulary"), std::string::npos);
    EXPECT_NE(err({1, 2}, 31, table, 1, V).find("blocks"), std::string::npos);
    EXPECT_NE(err({1, 2}, 0, {99}, 1, V).find("block id"), std::string::npos);
    EXPECT_NE(err({1, 2}, -1, table, 1, V).find("position"), std::string::npos);
    EXPECT_NE(err({1, 2}, 0, table, 2, V).find("logits buffer"), std::string::npos);
    EXPECT_NE(err({1, 2}, 0, table, 3, 3 * V).find("n_logits"), std::string::npos);
}

}  // namespace
}  // namespace ig
