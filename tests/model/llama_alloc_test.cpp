// Steady-state decode allocates nothing: the forward pass reuses its scratch
// and the thread pool calls kernels by reference.
#include <gtest/gtest.h>

#include "model/llama_model.h"
#include "model_tools/synth.h"
#include "support/alloc_counter.h"
#include "support/model_runner.h"
#include "support/test_support.h"

namespace ig {
namespace {

void decode_allocates_nothing(const char* preset) {
    test::TempDir dir;
    ThreadPool pool(2);
    const std::string path = dir.file("m.gguf");
    ASSERT_TRUE(synth_model(*synth_preset(preset), DType::Q8_0, 1, path, pool).ok());
    auto m = LlamaModel::load(path);
    ASSERT_TRUE(m.ok());
    test::KvArena kv(**m, 8, 16, DType::F16);
    const auto table = kv.take(64);
    std::vector<int32_t> prompt = {1, 5, 9, 200, 17};
    std::vector<float> logits(static_cast<size_t>((*m)->config().n_vocab));
    ForwardBatch b;
    b.seqs.reserve(1);
    b.seqs.push_back({prompt, 0, table, 1});
    ASSERT_TRUE((*m)->forward(b, kv.view(), pool, logits).ok());
    int32_t tok = 3;
    auto step = [&](int64_t pos) {
        b.seqs.clear();
        b.seqs.push_back({std::span<const int32_t>(&tok, 1), pos, table, 1});
        return (*m)->forward(b, kv.view(), pool, logits).ok();
    };
    ASSERT_TRUE(step(5));  // first decode step may size scratch for one row
    const int64_t before = test::allocations();
    for (int64_t pos = 6; pos < 40; ++pos) ASSERT_TRUE(step(pos));
    EXPECT_EQ(test::allocations() - before, 0);
}

TEST(LlamaAlloc, DecodeStepsAllocateNothing) {
    if (!test::counting_allocations())
        GTEST_SKIP() << "allocation counting is off under sanitizers";
    // qwen2 (QKV bias) and qwen3 (per-head Q/K norm) between them cover every
    // optional step of the layer.
    for (const char* preset : {"tiny-qwen2", "tiny-qwen3"}) {
        SCOPED_TRACE(preset);
        decode_allocates_nothing(preset);
    }
}

}  // namespace
}  // namespace ig
