// CPU feature detection, the IG_ISA override and table dispatch.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "kernels/kernel_impl.h"
#include "kernels/kernels.h"

namespace ig {
namespace {

using kernel_detail::parse_isa;
using kernel_detail::resolve_isa;

Isa best_supported() {
    if (isa_supported(Isa::Avx512)) return Isa::Avx512;
    if (isa_supported(Isa::Avx2)) return Isa::Avx2;
    return Isa::Scalar;
}

// Sets IG_ISA for one scope and restores what was there (CI may set it).
class ScopedIsaEnv {
  public:
    explicit ScopedIsaEnv(const char* value) {
        if (const char* old = std::getenv("IG_ISA")) old_ = old;
        if (value)
            setenv("IG_ISA", value, 1);
        else
            unsetenv("IG_ISA");
    }
    ~ScopedIsaEnv() {
        if (old_)
            setenv("IG_ISA", old_->c_str(), 1);
        else
            unsetenv("IG_ISA");
    }

  private:
    std::optional<std::string> old_;
};

TEST(CpuFeatures, ReportsWhatWasDetected) {
    const CpuFeatures& f = cpu_features();
    std::string s;
    for (auto [name, on] : {std::pair{"avx2", f.avx2},
                            {"fma", f.fma},
                            {"f16c", f.f16c},
                            {"avx512f", f.avx512f},
                            {"avx512bw", f.avx512bw},
                            {"avx512vl", f.avx512vl},
                            {"avx512dq", f.avx512dq},
                            {"avx512vnni", f.avx512vnni},
                            {"avx512bf16", f.avx512bf16}})
        if (on) s += std::string(s.empty() ? "" : " ") + name;
    RecordProperty("cpu_features", s);
    std::printf("cpu features: %s; best isa: %s\n", s.c_str(),
                std::string(isa_name(best_supported())).c_str());
    EXPECT_EQ(&cpu_features(), &f);  // detected once
}

TEST(CpuFeatures, IsaSupportIsConsistent) {
    const CpuFeatures& f = cpu_features();
    EXPECT_TRUE(isa_supported(Isa::Scalar));
    EXPECT_EQ(isa_supported(Isa::Avx2), f.avx2 && f.fma && f.f16c);
    if (isa_supported(Isa::Avx512)) {
        EXPECT_TRUE(isa_supported(Isa::Avx2));
        EXPECT_TRUE(f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq);
    }
    // Extensions never appear without their base.
    if (f.avx512bw || f.avx512vl || f.avx512dq || f.avx512vnni || f.avx512bf16) {
        EXPECT_TRUE(f.avx512f);
    }
}

TEST(CpuFeatures, IsaNames) {
    EXPECT_EQ(isa_name(Isa::Scalar), "scalar");
    EXPECT_EQ(isa_name(Isa::Avx2), "avx2");
    EXPECT_EQ(isa_name(Isa::Avx512), "avx512");
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) EXPECT_EQ(parse_isa(isa_name(isa)), isa);
}

TEST(CpuFeatures, ParseIsa) {
    EXPECT_EQ(parse_isa("AVX2"), Isa::Avx2);
    EXPECT_EQ(parse_isa("Scalar"), Isa::Scalar);
    EXPECT_EQ(parse_isa(""), std::nullopt);
    EXPECT_EQ(parse_isa("avx"), std::nullopt);
    EXPECT_EQ(parse_isa("avx512f"), std::nullopt);
    EXPECT_EQ(parse_isa("sse"), std::nullopt);
}

TEST(CpuFeatures, ResolveIsaOnlyLowers) {
    EXPECT_EQ(resolve_isa(nullptr, Isa::Avx512), Isa::Avx512);
    EXPECT_EQ(resolve_isa("", Isa::Avx2), Isa::Avx2);
    EXPECT_EQ(resolve_isa("scalar", Isa::Avx512), Isa::Scalar);
    EXPECT_EQ(resolve_isa("avx2", Isa::Avx512), Isa::Avx2);
    EXPECT_EQ(resolve_isa("avx512", Isa::Avx512), Isa::Avx512);
    EXPECT_EQ(resolve_isa("avx512", Isa::Avx2), Isa::Avx2);  // cannot raise
    EXPECT_EQ(resolve_isa("avx2", Isa::Scalar), Isa::Scalar);
    EXPECT_EQ(resolve_isa("fastest", Isa::Avx2), Isa::Avx2);  // unknown: ignored
}

TEST(CpuFeatures, EnvOverrideIsReadOnEveryCall) {
    {
        ScopedIsaEnv env(nullptr);
        EXPECT_EQ(best_isa(), best_supported());
        EXPECT_EQ(kernel_table().isa, best_supported());
    }
    {
        ScopedIsaEnv env("scalar");
        EXPECT_EQ(best_isa(), Isa::Scalar);
        EXPECT_EQ(kernel_table().isa, Isa::Scalar);
    }
    {
        ScopedIsaEnv env("avx2");
        const Isa want = isa_supported(Isa::Avx2) ? Isa::Avx2 : Isa::Scalar;
        EXPECT_EQ(best_isa(), want);
        EXPECT_EQ(kernel_table().isa, want);
    }
    {
        ScopedIsaEnv env("avx512");
        EXPECT_EQ(best_isa(), best_supported());
    }
}

TEST(CpuFeatures, TablesAreComplete) {
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
        if (!isa_supported(isa)) continue;
        const KernelTable& kt = kernel_table(isa);
        EXPECT_EQ(kt.isa, isa);
        EXPECT_TRUE(kt.matmul && kt.rmsnorm && kt.rope && kt.softmax && kt.silu_mul && kt.add &&
                    kt.dot_kv && kt.axpy_kv && kt.store_kv)
            << isa_name(isa);
    }
}

TEST(CpuFeaturesDeathTest, UnsupportedIsaAborts) {
    if (isa_supported(Isa::Avx512)) GTEST_SKIP() << "every ISA is supported here";
    EXPECT_DEATH(kernel_table(Isa::Avx512), "does not support");
}

TEST(CpuFeaturesDeathTest, UnsupportedTypeAborts) {
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
        if (!isa_supported(isa)) continue;
        const KernelTable& kt = kernel_table(isa);
        float x[32] = {}, y[1] = {};
        uint8_t w[256] = {};
        EXPECT_DEATH(kt.matmul(DType::Q3_K, w, 110, x, 32, y, 1, 1, 256, 0, 1),
                     "matmul does not support type q3_k");
        EXPECT_DEATH(kt.dot_kv(x, w, DType::BF16, 4), "dot_kv does not support");
        EXPECT_DEATH(kt.store_kv(x, w, DType::Q8_0, 32), "store_kv does not support");
    }
}

}  // namespace
}  // namespace ig
