// `infergrid quantize`: the type chosen for every tensor per mix, the output
// loads and computes logits close to the float model's, and the CLI's errors
// leave no file behind.
#include "model_tools/quantize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "model/llama_model.h"
#include "model_tools/synth.h"
#include "support/model_runner.h"
#include "support/test_support.h"

namespace ig {
namespace {

// 8 layers so that use_more_bits picks layers {0, 3, 6, 7}; rows of 256 so
// that K-quants apply; ffn 320 puts ffn_down's rows (320) off the 256 grid.
SynthSpec spec(int64_t n_ff, int64_t n_layer = 8) {
    SynthSpec s = *synth_preset("tiny-llama");
    s.n_embd = 256;
    s.n_layer = n_layer;
    s.n_ff = n_ff;
    return s;
}

// Logits of the last of 6 fixed tokens.
std::vector<float> last_logits(const std::string& path) {
    auto model = LlamaModel::load(path);
    EXPECT_TRUE(model.ok()) << model.error().message;
    if (!model.ok()) return {};
    LlamaModel& m = **model;
    ThreadPool pool(2);
    test::KvArena kv(m, 4, 16, DType::F32);
    const auto table = kv.take(6);
    const std::vector<int32_t> tokens = {1, 17, 99, 250, 3, 42};
    return test::run_seq(m, kv, pool, tokens, 0, table, 1);
}

double rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
        den += double(b[i]) * b[i];
    }
    return std::sqrt(num / den);
}

TEST(Quantize, EveryMixChoosesTypesLoadsAndComputes) {
    test::TempDir dir;
    ThreadPool pool(2);
    const std::string f32 = dir.file("f32.gguf");
    ASSERT_TRUE(synth_model(spec(512), DType::F32, 7, f32, pool).ok());
    const std::vector<float> ref = last_logits(f32);
    ASSERT_FALSE(ref.empty());

    struct Case {
        QuantMix mix;
        DType base, output, more_bits;  // more_bits: attn_v / ffn_down of layers 0, 3, 6, 7
        uint32_t file_type;
        // Relative RMS difference from the F32 model's logits (8 random layers
        // amplify weight error; the quantized types also quantize activations
        // to 8 bits; measured f16 7e-4, q8_0 0.022, q4_0 0.21, q4_k_m 0.18,
        // q5_k_m 0.092, q6_k 0.050).
        double logit_bound;
    } cases[] = {
        {QuantMix::F16, DType::F16, DType::F16, DType::F16, 1, 2e-3},
        {QuantMix::Q8_0, DType::Q8_0, DType::Q8_0, DType::Q8_0, 7, 3e-2},
        {QuantMix::Q4_0, DType::Q4_0, DType::Q6_K, DType::Q4_0, 2, 0.3},
        {QuantMix::Q4_K_M, DType::Q4_K, DType::Q6_K, DType::Q6_K, 15, 0.25},
        {QuantMix::Q5_K_M, DType::Q5_K, DType::Q6_K, DType::Q6_K, 17, 0.13},
        {QuantMix::Q6_K, DType::Q6_K, DType::Q6_K, DType::Q6_K, 18, 0.07},
    };
    double prev_err = 1e9;
    for (const Case& c : cases) {
        SCOPED_TRACE(std::string(quant_mix_name(c.mix)));
        const std::string out = dir.file(std::string(quant_mix_name(c.mix)) + ".gguf");
        struct Seen {
            size_t index;
            TensorPlan plan;  // copied: the callback's plan pointer dies with the call
            double rel_rmse;
        };
        std::vector<Seen> results;
        auto sum = quantize_model(f32, out, c.mix, pool, [&](const TensorResult& r) {
            results.push_back({r.index, *r.plan, r.rel_rmse});
        });
        ASSERT_TRUE(sum.ok()) << sum.error().message;
        auto file = GgufFile::open(out);
        ASSERT_TRUE(file.ok());
        EXPECT_EQ(file->get_int("general.file_type"), c.file_type);
        EXPECT_EQ(file->get_string("general.architecture"), "llama");
        ASSERT_EQ(results.size(), file->tensors().size());
        for (const auto& t : file->tensors()) {
            DType want = c.base;
            const std::string& n = t.name;
            if (t.shape.size() == 1)
                want = DType::F32;
            else if (n == "output.weight")
                want = c.output;
            else if (n.find("attn_v") != std::string::npos ||
                     n.find("ffn_down") != std::string::npos) {
                const int layer = n[4] - '0';
                const bool more = layer == 0 || layer == 3 || layer == 6 || layer == 7;
                want = more ? c.more_bits : c.base;
            }
            EXPECT_EQ(dtype_name(t.type), dtype_name(want)) << n;
        }
        for (const auto& r : results) {
            EXPECT_EQ(r.plan.out_type, file->tensors()[r.index].type);
            EXPECT_GE(r.rel_rmse, 0.0);
            EXPECT_LT(r.rel_rmse, 0.1) << r.plan.name;
        }
        EXPECT_EQ(sum->out_bytes + 0, [&] {
            uint64_t b = 0;
            for (const auto& t : file->tensors()) b += t.n_bytes;
            return b;
        }());
        const std::vector<float> got = last_logits(out);
        ASSERT_EQ(got.size(), ref.size());
        const double err = rel_diff(got, ref);
        EXPECT_LT(err, c.logit_bound);
        std::printf("[ quantize ] %-7s %.3f bits/weight, logits rel. RMS diff vs f32 %.4f\n",
                    std::string(quant_mix_name(c.mix)).c_str(), sum->bits_per_weight(), err);
        if (c.mix == QuantMix::Q4_K_M || c.mix == QuantMix::Q5_K_M || c.mix == QuantMix::Q6_K) {
            EXPECT_LT(err, prev_err);  // more bits, closer logits
            prev_err = err;
        }
    }
}

TEST(Quantize, FallbackForRowsOffTheBlockGridAndQuantizedInput) {
    test::TempDir dir;
    ThreadPool pool(2);
    const std::string q8 = dir.file("q8.gguf");
    // n_ff 320: ffn_down rows of 320 are no multiple of 256 but of 32.
    ASSERT_TRUE(synth_model(spec(320), DType::Q8_0, 3, q8, pool).ok());
    const std::string out = dir.file("q6.gguf");
    auto sum = quantize_model(q8, out, QuantMix::Q6_K, pool, nullptr);
    ASSERT_TRUE(sum.ok()) << sum.error().message;
    auto file = GgufFile::open(out);
    ASSERT_TRUE(file.ok());
    auto input = GgufFile::open(q8);
    ASSERT_TRUE(input.ok());
    auto plans = plan_quantization(*input, QuantMix::Q6_K);
    ASSERT_TRUE(plans.ok());
    for (const auto& t : file->tensors()) {
        if (t.name.find("ffn_down") != std::string::npos) {
            EXPECT_EQ(t.type, DType::Q8_0) << t.name;
        } else if (t.shape.size() == 2) {
            EXPECT_EQ(t.type, DType::Q6_K) << t.name;
        }
    }
    for (const auto& p : *plans) {
        if (p.name.find("ffn_down") != std::string::npos) {
            EXPECT_NE(p.note.find("fallback q8_0"), std::string::npos) << p.note;
        }
    }
    EXPECT_FALSE(last_logits(out).empty());
}

// `infergrid synth --type q4_k|q5_k|q6_k` goes through the same quantize_row;
// shapes off the 256 grid are refused with a clear message.
TEST(Quantize, SynthWritesKQuants) {
    test::TempDir dir;
    ThreadPool pool(2);
    for (DType t : {DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
        const std::string p = dir.file(std::string(dtype_name(t)) + ".gguf");
        ASSERT_TRUE(synth_model(spec(512, 1), t, 5, p, pool).ok()) << dtype_name(t);
        auto f = GgufFile::open(p);
        ASSERT_TRUE(f.ok());
        EXPECT_EQ(f->find_tensor("blk.0.ffn_down.weight")->type, t);
        EXPECT_FALSE(last_logits(p).empty());
    }
    auto st = synth_model(spec(320, 1), DType::Q4_K, 5, dir.file("bad.gguf"), pool);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("block size"), std::string::npos) << st.error().message;
}

}  // namespace
}  // namespace ig
