// The same logits, bit for bit, whether a sequence runs alone or batched with
// others, and whether its prompt arrives in one chunk or several.
#include <gtest/gtest.h>

#include <cstddef>
#include <random>
#include <vector>

#include "model/llama_model.h"
#include "model_tools/synth.h"
#include "support/model_runner.h"
#include "support/test_support.h"

namespace ig {
namespace {

// Logits must match bit for bit, with F32 and F16 KV alike: the matmul
// kernels reduce every output in one fixed order whatever the batch size or
// the path (decode or tiled prefill) that computes it, so each token's
// projections, and hence its cache entries, are the same floats batched or
// alone; the other ops, attention included, work per token.
struct BatchCase {
    const char* preset;
    DType kv_type;
};

// Logits row r of a and b (V floats each) are identical.
void expect_same_row(const std::vector<float>& a, const std::vector<float>& b, size_t r, int64_t V,
                     size_t seq) {
    const auto row = [&](const std::vector<float>& v) {
        const auto first = v.begin() + static_cast<std::ptrdiff_t>(r * static_cast<size_t>(V));
        return std::vector<float>(first, first + V);
    };
    EXPECT_EQ(row(a), row(b)) << "sequence " << seq << " position " << r;
}

class LlamaBatch : public testing::TestWithParam<BatchCase> {
  protected:
    void SetUp() override {
        const std::string path = dir_.file("m.gguf");
        ASSERT_TRUE(
            synth_model(*synth_preset(GetParam().preset), DType::Q8_0, 5, path, pool_).ok());
        auto m = LlamaModel::load(path);
        ASSERT_TRUE(m.ok()) << m.error().message;
        model_ = std::move(m).value();
        std::mt19937 rng(11);
        for (int64_t len : {13, 5, 21}) {
            std::vector<int32_t> s(static_cast<size_t>(len + kDecode));
            for (auto& t : s) t = static_cast<int32_t>(rng() % model_->config().n_vocab);
            seqs_.push_back(s);
        }
    }
    // Reference: each sequence alone, prompt in one call, then decode steps.
    std::vector<std::vector<float>> alone(ThreadPool& pool) {
        std::vector<std::vector<float>> out;
        for (auto& s : seqs_) {
            test::KvArena kv(*model_, 8, 4, GetParam().kv_type);
            auto table = kv.take(static_cast<int64_t>(s.size()));
            const int64_t np = static_cast<int64_t>(s.size()) - kDecode;
            auto l = test::run_seq(*model_, kv, pool, std::span(s).first(np), 0, table, np);
            for (int64_t i = np; i < static_cast<int64_t>(s.size()); ++i) {
                auto r = test::run_seq(*model_, kv, pool, std::span(s).subspan(i, 1), i, table, 1);
                l.insert(l.end(), r.begin(), r.end());
            }
            out.push_back(l);
        }
        return out;
    }

    static constexpr int64_t kDecode = 3;
    test::TempDir dir_;
    ThreadPool pool_{2};
    std::unique_ptr<LlamaModel> model_;
    std::vector<std::vector<int32_t>> seqs_;
};

TEST_P(LlamaBatch, ChunkedPrefillEqualsOneChunk) {
    const auto ref = alone(pool_);
    const int64_t V = model_->config().n_vocab;
    for (size_t si = 0; si < seqs_.size(); ++si) {
        const auto& s = seqs_[si];
        test::KvArena kv(*model_, 8, 4, GetParam().kv_type, 99);
        auto table = kv.take(static_cast<int64_t>(s.size()));
        int64_t pos = 0;
        std::vector<float> got;
        for (int64_t chunk : {1, 4, 3, 100}) {
            const int64_t n = std::min<int64_t>(chunk, static_cast<int64_t>(s.size()) - pos);
            if (n <= 0) break;
            auto l = test::run_seq(*model_, kv, pool_, std::span(s).subspan(pos, n), pos, table, n);
            got.insert(got.end(), l.begin(), l.end());
            pos += n;
        }
        ASSERT_EQ(got.size(), ref[si].size());
        for (size_t r = 0; r < s.size(); ++r) expect_same_row(got, ref[si], r, V, si);
    }
}

TEST_P(LlamaBatch, MixedBatchEqualsAlone) {
    const auto ref = alone(pool_);
    const int64_t V = model_->config().n_vocab;
    test::KvArena kv(*model_, 32, 4, GetParam().kv_type, 123);
    std::vector<std::vector<int32_t>> tables;
    for (auto& s : seqs_) tables.push_back(kv.take(static_cast<int64_t>(s.size())));
    std::vector<int64_t> pos(seqs_.size(), 0);
    std::vector<std::vector<float>> got(seqs_.size());

    // Step plans: tokens per sequence per step; prefill chunks of one sequence
    // share a step with decode tokens of another.
    const std::vector<std::vector<int64_t>> plan = {{7, 5, 0}, {6, 1, 10}, {1, 1, 11},
                                                    {1, 1, 1}, {1, 0, 1},  {0, 0, 1}};
    for (const auto& step : plan) {
        ForwardBatch b;
        for (size_t si = 0; si < seqs_.size(); ++si) {
            const int64_t n = step[si];
            if (n == 0) continue;
            b.seqs.push_back(
                {std::span<const int32_t>(seqs_[si]).subspan(pos[si], n), pos[si], tables[si], n});
        }
        std::vector<float> logits(static_cast<size_t>(b.n_logit_rows() * V));
        auto st = model_->forward(b, kv.view(), pool_, logits);
        ASSERT_TRUE(st.ok()) << st.error().message;
        size_t off = 0;
        for (size_t si = 0; si < seqs_.size(); ++si) {
            const int64_t n = step[si];
            got[si].insert(got[si].end(), logits.begin() + off, logits.begin() + off + n * V);
            off += n * V;
            pos[si] += n;
        }
    }
    for (size_t si = 0; si < seqs_.size(); ++si) {
        ASSERT_EQ(got[si].size(), ref[si].size()) << "plan must cover sequence " << si;
        for (size_t r = 0; r < seqs_[si].size(); ++r) expect_same_row(got[si], ref[si], r, V, si);
    }
}

// Work is split over output rows and over (token, KV head) pairs, never
// inside one dot product, so the thread count cannot change a single bit.
TEST_P(LlamaBatch, ThreadCountDoesNotChangeABit) {
    ThreadPool one_thread(1);
    const auto one = alone(one_thread);
    const auto two = alone(pool_);
    ASSERT_EQ(one.size(), two.size());
    for (size_t si = 0; si < one.size(); ++si) EXPECT_EQ(one[si], two[si]) << "sequence " << si;
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, LlamaBatch,
    testing::Values(BatchCase{"tiny-llama", DType::F32}, BatchCase{"tiny-qwen2", DType::F32},
                    BatchCase{"tiny-llama", DType::F16}, BatchCase{"tiny-qwen2", DType::F16},
                    BatchCase{"tiny-qwen3", DType::F32}, BatchCase{"tiny-qwen3", DType::F16}));

}  // namespace
}  // namespace ig
