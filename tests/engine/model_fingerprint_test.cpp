#include "engine/model_fingerprint.h"

#include <gtest/gtest.h>

#include "model_tools/synth.h"
#include "support/test_support.h"

namespace ig {
namespace {

TEST(ModelFingerprint, SameFileSameFingerprintOtherWeightsOther) {
    test::TempDir dir;
    ThreadPool pool(1);
    const auto spec = *synth_preset("tiny-llama");
    ASSERT_TRUE(synth_model(spec, DType::F32, 1, dir.file("a.gguf"), pool).ok());
    ASSERT_TRUE(synth_model(spec, DType::F32, 2, dir.file("b.gguf"), pool).ok());
    auto a1 = GgufFile::open(dir.file("a.gguf"));
    auto a2 = GgufFile::open(dir.file("a.gguf"));
    auto b = GgufFile::open(dir.file("b.gguf"));
    ASSERT_TRUE(a1.ok() && a2.ok() && b.ok());
    EXPECT_EQ(model_fingerprint(*a1), model_fingerprint(*a2));
    EXPECT_NE(model_fingerprint(*a1), model_fingerprint(*b));
    EXPECT_NE(model_fingerprint(*a1).find("llama"), std::string::npos);
}

}  // namespace
}  // namespace ig
