// Element-wise and KV-cache kernels: the scalar reference against naive
// double formulas and known values, and every vector ISA against the scalar
// reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <vector>

#include "kernels/kernel_test_util.h"
#include "kernels/kernels.h"
#include "tensor/half.h"

namespace ig {
namespace {

using test::close;
using test::isa_param_name;
using test::kSizes;

const KernelTable& scalar() {
    return kernel_table(Isa::Scalar);
}

constexpr double kTiny = 1e-37;  // absolute slack for results that underflow

// ---------------------------------------------------------------------------
// Scalar reference against naive formulas and known values

TEST(ScalarOps, RmsnormMatchesFormula) {
    std::mt19937 rng(1);
    for (int64_t n : kSizes) {
        const auto x = test::random_normal(rng, n, 3.0f);
        const auto w = test::random_normal(rng, n);
        std::vector<float> y(n);
        scalar().rmsnorm(x.data(), w.data(), y.data(), n, 1e-5f);
        double ss = 0;
        for (float v : x) ss += static_cast<double>(v) * v;
        const double scale = 1.0 / std::sqrt(ss / n + 1e-5f);
        for (int64_t i = 0; i < n; ++i)
            ASSERT_TRUE(close(y[i], x[i] * scale * w[i], 3e-7, 0)) << "n=" << n << " i=" << i;
    }
}

TEST(ScalarOps, RmsnormOfConstantIsOne) {
    std::vector<float> x(4096, -2.5f), w(4096, 1.0f), y(4096);
    scalar().rmsnorm(x.data(), w.data(), y.data(), 4096, 0.0f);
    for (float v : y) ASSERT_EQ(v, -1.0f);
    // With eps: 1 / sqrt(1 + 1) per element; y may alias x.
    std::vector<float> ones(17, 1.0f);
    scalar().rmsnorm(ones.data(), w.data(), ones.data(), 17, 1.0f);
    for (float v : ones) ASSERT_FLOAT_EQ(v, static_cast<float>(1.0 / std::sqrt(2.0)));
}

TEST(ScalarOps, RopeAtPositionZeroIsIdentity) {
    std::mt19937 rng(2);
    const std::vector<float> inv = test::random_uniform(rng, 64, 0.0f, 1.0f);
    for (bool neox : {false, true}) {
        const auto x = test::random_normal(rng, 4 * 128);
        std::vector<float> y = x;
        scalar().rope(y.data(), 4, 128, 128, 0, inv.data(), neox);
        EXPECT_EQ(y, x);
    }
}

TEST(ScalarOps, RopeHandExample) {
    // head_dim 6, rot_dims 4: inv_freq {1, 0.5}, pos 2 -> angles 2 and 1 rad;
    // dims 4 and 5 do not rotate.
    const float inv[2] = {1.0f, 0.5f};
    const float x[6] = {1, 2, 3, 4, 5, 6};
    const double c2 = std::cos(2.0), s2 = std::sin(2.0), c1 = std::cos(1.0), s1 = std::sin(1.0);
    // Pairs: (x0, x1) by 2 rad, (x2, x3) by 1 rad.
    const double pairs[6] = {
        1 * c2 - 2 * s2, 1 * s2 + 2 * c2, 3 * c1 - 4 * s1, 3 * s1 + 4 * c1, 5, 6};
    // NeoX: (x0, x2) by 2 rad, (x1, x3) by 1 rad.
    const double neox[6] = {
        1 * c2 - 3 * s2, 2 * c1 - 4 * s1, 1 * s2 + 3 * c2, 2 * s1 + 4 * c1, 5, 6};
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
        if (!isa_supported(isa)) continue;
        SCOPED_TRACE(isa_name(isa));
        for (bool nx : {false, true}) {
            float y[12];
            std::memcpy(y, x, sizeof x);
            std::memcpy(y + 6, x, sizeof x);  // two heads
            kernel_table(isa).rope(y, 2, 6, 4, 2, inv, nx);
            const double* want = nx ? neox : pairs;
            for (int i = 0; i < 12; ++i)
                EXPECT_NEAR(y[i], want[i % 6], 1e-6) << "neox=" << nx << " i=" << i;
        }
    }
}

TEST(ScalarOps, RopeLargePositionUsesDoubleAngle) {
    // At pos 1e6 a float angle would be off by ~0.03 rad.
    const float inv[1] = {0.9f};
    float y[2] = {1.0f, 0.0f};
    scalar().rope(y, 1, 2, 2, 1000000, inv, false);
    const double theta = 1e6 * static_cast<double>(0.9f);
    EXPECT_NEAR(y[0], std::cos(theta), 1e-7);
    EXPECT_NEAR(y[1], std::sin(theta), 1e-7);
}

TEST(ScalarOps, SoftmaxMatchesFormulaAndSumsToOne) {
    std::mt19937 rng(3);
    for (int64_t n : kSizes) {
        auto x = test::random_normal(rng, n, 4.0f);
        const auto x0 = x;
        scalar().softmax(x.data(), n);
        // The kernel subtracts the max in float (the inputs carry float
        // error anyway), then works in double.
        const float mx = *std::max_element(x0.begin(), x0.end());
        double sum = 0, out_sum = 0;
        for (float v : x0) sum += std::exp(static_cast<double>(v - mx));
        for (int64_t i = 0; i < n; ++i) {
            const double want = std::exp(static_cast<double>(x0[i] - mx)) / sum;
            ASSERT_TRUE(close(x[i], want, 2.5e-7, 0)) << "n=" << n;
            out_sum += x[i];
        }
        EXPECT_NEAR(out_sum, 1.0, 1e-6) << "n=" << n;
    }
}

TEST(ScalarOps, SoftmaxKnownValues) {
    float one[1] = {-123.0f};
    scalar().softmax(one, 1);
    EXPECT_EQ(one[0], 1.0f);
    float eq[5] = {7, 7, 7, 7, 7};
    scalar().softmax(eq, 5);
    for (float v : eq) EXPECT_FLOAT_EQ(v, 0.2f);
    const float inf = std::numeric_limits<float>::infinity();
    float masked[4] = {0.0f, -inf, std::log(3.0f), -inf};  // attention mask
    scalar().softmax(masked, 4);
    EXPECT_FLOAT_EQ(masked[0], 0.25f);
    EXPECT_EQ(masked[1], 0.0f);
    EXPECT_FLOAT_EQ(masked[2], 0.75f);
    EXPECT_EQ(masked[3], 0.0f);
    float big[2] = {10000.0f, 9999.0f};  // no overflow
    scalar().softmax(big, 2);
    EXPECT_FLOAT_EQ(big[0], static_cast<float>(1.0 / (1.0 + std::exp(-1.0))));
    EXPECT_FLOAT_EQ(big[1], static_cast<float>(std::exp(-1.0) / (1.0 + std::exp(-1.0))));
}

TEST(ScalarOps, SiluMulMatchesFormula) {
    std::mt19937 rng(4);
    const auto g = test::random_uniform(rng, 1000, -30.0f, 30.0f);
    const auto u = test::random_normal(rng, 1000);
    std::vector<float> out(1000);
    scalar().silu_mul(g.data(), u.data(), out.data(), 1000);
    for (int i = 0; i < 1000; ++i) {
        const double want = g[i] / (1.0 + std::exp(-static_cast<double>(g[i]))) * u[i];
        ASSERT_TRUE(close(out[i], want, 1e-7, kTiny)) << i;
    }
    const float g2[3] = {0.0f, 100.0f, -100.0f}, u2[3] = {5.0f, 2.0f, 2.0f};
    float o2[3];
    scalar().silu_mul(g2, u2, o2, 3);
    EXPECT_EQ(o2[0], 0.0f);
    EXPECT_EQ(o2[1], 200.0f);
    EXPECT_NEAR(o2[2], 0.0f, 1e-40);
}

TEST(ScalarOps, KvHelpersMatchFormulas) {
    std::mt19937 rng(5);
    for (int64_t n : kSizes) {
        const auto q = test::random_normal(rng, n);
        const auto k = test::random_normal(rng, n);
        std::vector<uint16_t> kh(n);
        for (int64_t i = 0; i < n; ++i) kh[i] = f32_to_f16(k[i]);
        double d32 = 0, d16 = 0;
        for (int64_t i = 0; i < n; ++i) {
            d32 += static_cast<double>(q[i]) * k[i];
            d16 += static_cast<double>(q[i]) * f16_to_f32(kh[i]);
        }
        EXPECT_EQ(scalar().dot_kv(q.data(), k.data(), DType::F32, n), static_cast<float>(d32));
        EXPECT_EQ(scalar().dot_kv(q.data(), kh.data(), DType::F16, n), static_cast<float>(d16));

        std::vector<uint16_t> stored(n);
        scalar().store_kv(k.data(), stored.data(), DType::F16, n);
        EXPECT_EQ(stored, kh);
        std::vector<float> stored32(n);
        scalar().store_kv(k.data(), stored32.data(), DType::F32, n);
        EXPECT_EQ(stored32, k);

        std::vector<float> y = q;
        scalar().axpy_kv(0.5f, kh.data(), DType::F16, y.data(), n);
        for (int64_t i = 0; i < n; ++i)
            ASSERT_EQ(y[i], std::fma(0.5f, f16_to_f32(kh[i]), q[i])) << "n=" << n;
    }
}

// ---------------------------------------------------------------------------
// Vector ISAs against the scalar reference

class OpsVsScalar : public ::testing::TestWithParam<Isa> {
  protected:
    void SetUp() override {
        IG_REQUIRE_ISA(GetParam());
        kt_ = &kernel_table(GetParam());
    }
    const KernelTable& kt() const { return *kt_; }

  private:
    const KernelTable* kt_ = nullptr;
};

// Compares a and b element-wise: |a - b| <= rel * |b| + abs.
void expect_close(const std::vector<float>& a, const std::vector<float>& b, double rel, double abs,
                  const char* what) {
    ASSERT_EQ(a.size(), b.size());
    int failures = 0;
    for (size_t i = 0; i < a.size(); ++i)
        if (!close(a[i], b[i], rel, abs) && ++failures <= 5)
            ADD_FAILURE() << what << " n=" << a.size() << " i=" << i << ": " << a[i]
                          << " vs scalar " << b[i];
}

TEST_P(OpsVsScalar, Rmsnorm) {
    std::mt19937 rng(10);
    for (int64_t n : kSizes) {
        const auto x = test::random_normal(rng, n, 2.0f);
        const auto w = test::random_normal(rng, n);
        std::vector<float> y(n), ys(n);
        kt().rmsnorm(x.data(), w.data(), y.data(), n, 1e-6f);
        scalar().rmsnorm(x.data(), w.data(), ys.data(), n, 1e-6f);
        expect_close(y, ys, 1e-6, 0, "rmsnorm");
        std::vector<float> inplace = x;  // y aliases x
        kt().rmsnorm(inplace.data(), w.data(), inplace.data(), n, 1e-6f);
        expect_close(inplace, ys, 1e-6, 0, "rmsnorm in place");
    }
}

TEST_P(OpsVsScalar, Rope) {
    std::mt19937 rng(11);
    // head_dim 512 needs two cos/sin chunks; rot_dims < head_dim leaves a tail.
    const std::pair<int64_t, int64_t> dims[] = {
        {2, 2},   {4, 4},   {6, 4},    {16, 16},   {18, 18},   {34, 34},   {64, 32},
        {64, 64}, {80, 80}, {128, 64}, {128, 128}, {256, 256}, {512, 512}, {512, 258}};
    for (auto [head_dim, rot] : dims) {
        const auto inv = test::random_uniform(rng, rot / 2, 0.0f, 1.0f);
        for (int64_t heads : {1, 3, 8}) {
            for (int32_t pos : {0, 1, 17, 4095, 131071}) {
                for (bool neox : {false, true}) {
                    const auto x = test::random_normal(rng, heads * head_dim);
                    std::vector<float> y = x, ys = x;
                    kt().rope(y.data(), heads, head_dim, rot, pos, inv.data(), neox);
                    scalar().rope(ys.data(), heads, head_dim, rot, pos, inv.data(), neox);
                    // Elements are |x| ~ 1; allow an ulp or two of FMA contraction.
                    expect_close(y, ys, 0, 1e-6, neox ? "rope neox" : "rope pairs");
                    for (int64_t h = 0; h < heads; ++h) {
                        for (int64_t d = rot; d < head_dim; ++d) {
                            ASSERT_EQ(y[h * head_dim + d], x[h * head_dim + d]);
                        }
                    }
                    if (pos == 0) {
                        ASSERT_EQ(y, x);
                    }
                    if (HasFailure()) return;
                }
            }
        }
    }
}

TEST_P(OpsVsScalar, Softmax) {
    std::mt19937 rng(12);
    for (int64_t n : kSizes) {
        for (float spread : {1.0f, 10.0f, 60.0f}) {
            auto x = test::random_normal(rng, n, spread);
            if (n > 4) x[n / 2] = -std::numeric_limits<float>::infinity();  // masked position
            std::vector<float> xs = x;
            kt().softmax(x.data(), n);
            scalar().softmax(xs.data(), n);
            expect_close(x, xs, 1e-6, kTiny, "softmax");
            const double sum = std::accumulate(x.begin(), x.end(), 0.0);
            EXPECT_NEAR(sum, 1.0, 1e-6);
        }
    }
}

// The vector exp polynomial over its whole range, through softmax of two
// values: softmax({0, d}) = {1 / (1 + e^d), e^d / (1 + e^d)}.
TEST_P(OpsVsScalar, SoftmaxExpRange) {
    std::vector<float> x, xs;
    for (float d = -104.0f; d <= 0.0f; d += 0.0137f) {
        float v[2] = {0.0f, d}, vs[2] = {0.0f, d};
        kt().softmax(v, 2);
        scalar().softmax(vs, 2);
        x.push_back(v[1]);
        xs.push_back(vs[1]);
    }
    expect_close(x, xs, 5e-7, 2e-45, "exp via softmax");
}

// One online-softmax chunk: the running max, exp(x - max) with -inf exactly
// 0, the sum; lanes past n untouched.
TEST_P(OpsVsScalar, OnlineSoftmaxChunk) {
    std::mt19937 rng(16);
    for (int64_t n : {1, 7, 8, 15, 16, 17, 40}) {
        for (float m0 : {-std::numeric_limits<float>::infinity(), 0.5f, 30.0f}) {
            auto x = test::random_normal(rng, static_cast<size_t>(n) + 1, 4.0f);
            x[0] = -std::numeric_limits<float>::infinity();
            x[static_cast<size_t>(n)] = 1234.0f;  // past n
            auto xs = x;
            const float want_m = std::max(m0, *std::max_element(x.begin(), x.end() - 1));
            float m = m0, ms = m0;
            const float sum = kt().online_softmax_chunk(x.data(), n, &m);
            const float sums = scalar().online_softmax_chunk(xs.data(), n, &ms);
            EXPECT_EQ(m, want_m);
            EXPECT_EQ(ms, want_m);
            EXPECT_EQ(x[0], 0.0f);
            EXPECT_EQ(x[static_cast<size_t>(n)], 1234.0f);
            x.pop_back();
            xs.pop_back();
            expect_close(x, xs, 5e-7, 2e-45, "online_softmax_chunk");
            EXPECT_NEAR(sum, sums, 1e-6 * sums + 1e-30);
        }
    }
    // Every score masked and no running max yet: all zeros, sum 0.
    std::vector<float> x(5, -std::numeric_limits<float>::infinity());
    float m = -std::numeric_limits<float>::infinity();
    EXPECT_EQ(kt().online_softmax_chunk(x.data(), 5, &m), 0.0f);
    for (float v : x) EXPECT_EQ(v, 0.0f);
}

TEST_P(OpsVsScalar, SiluMul) {
    std::mt19937 rng(13);
    for (int64_t n : kSizes) {
        for (float range : {4.0f, 40.0f, 200.0f}) {
            const auto g = test::random_uniform(rng, n, -range, range);
            const auto u = test::random_normal(rng, n);
            std::vector<float> out(n), outs(n);
            kt().silu_mul(g.data(), u.data(), out.data(), n);
            scalar().silu_mul(g.data(), u.data(), outs.data(), n);
            expect_close(out, outs, 1e-6, 1e-40, "silu_mul");
            std::vector<float> inplace = g;  // out aliases gate
            kt().silu_mul(inplace.data(), u.data(), inplace.data(), n);
            expect_close(inplace, outs, 1e-6, 1e-40, "silu_mul in place");
        }
    }
}

TEST_P(OpsVsScalar, Add) {
    std::mt19937 rng(14);
    for (int64_t n : kSizes) {
        const auto x = test::random_normal(rng, n);
        auto y = test::random_normal(rng, n);
        auto ys = y;
        kt().add(y.data(), x.data(), n);
        scalar().add(ys.data(), x.data(), n);
        EXPECT_EQ(y, ys);
    }
}

// Bit for bit (one fma chain per output), every tail of rows and columns,
// padded strides, with and without accumulating into Y; columns past N and
// Y's padding stay untouched.
TEST_P(OpsVsScalar, GemmNnIsBitExact) {
    std::mt19937 rng(15);
    for (int64_t M : {1, 3, 4, 7, 128})
        for (int64_t K : {1, 16, 64})
            for (int64_t N : {1, 15, 16, 17, 33, 64, 70}) {
                const int64_t ldx = K + 1, ldb = N + 3, ldy = N + 2;
                const auto X = test::random_normal(rng, static_cast<size_t>(M * ldx));
                const auto B = test::random_normal(rng, static_cast<size_t>(K * ldb));
                const auto Y0 = test::random_normal(rng, static_cast<size_t>(M * ldy));
                for (bool acc : {false, true}) {
                    auto y = Y0, ys = Y0;
                    kt().gemm_nn(X.data(), ldx, B.data(), ldb, y.data(), ldy, M, K, N, acc);
                    scalar().gemm_nn(X.data(), ldx, B.data(), ldb, ys.data(), ldy, M, K, N, acc);
                    EXPECT_EQ(0, std::memcmp(y.data(), ys.data(), y.size() * sizeof(float)))
                        << "M=" << M << " K=" << K << " N=" << N << " acc=" << acc;
                    for (int64_t m = 0; m < M; ++m)
                        for (int64_t n = N; n < ldy; ++n)
                            EXPECT_EQ(y[m * ldy + n], Y0[m * ldy + n]);
                }
            }
    // Against a float64 product: the chain rounds each of K steps.
    const int64_t M = 5, K = 64, N = 20;
    const auto X = test::random_normal(rng, M * K);
    const auto B = test::random_normal(rng, K * N);
    std::vector<float> y(M * N);
    kt().gemm_nn(X.data(), K, B.data(), N, y.data(), N, M, K, N, false);
    for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
            double ref = 0, mag = 0;
            for (int64_t k = 0; k < K; ++k) {
                ref += double(X[m * K + k]) * B[k * N + n];
                mag += std::fabs(double(X[m * K + k]) * B[k * N + n]);
            }
            EXPECT_NEAR(y[m * N + n], ref, 1e-6 * mag + 1e-7);
        }
}

TEST_P(OpsVsScalar, DotKv) {
    std::mt19937 rng(15);
    for (int64_t n : kSizes) {
        const auto q = test::random_normal(rng, n);
        const auto k = test::random_normal(rng, n);
        std::vector<uint16_t> kh(n);
        scalar().store_kv(k.data(), kh.data(), DType::F16, n);
        double abs_sum = 0;
        for (int64_t i = 0; i < n; ++i) abs_sum += std::fabs(static_cast<double>(q[i]) * k[i]);
        for (DType t : {DType::F32, DType::F16}) {
            const void* kp = t == DType::F32 ? static_cast<const void*>(k.data()) : kh.data();
            const float got = kt().dot_kv(q.data(), kp, t, n);
            const float want = scalar().dot_kv(q.data(), kp, t, n);
            EXPECT_NEAR(got, want, 1e-5 * abs_sum) << dtype_name(t) << " n=" << n;
        }
    }
}

TEST_P(OpsVsScalar, AxpyKv) {
    std::mt19937 rng(16);
    for (int64_t n : kSizes) {
        const auto v = test::random_normal(rng, n);
        const auto y0 = test::random_normal(rng, n);
        std::vector<uint16_t> vh(n);
        scalar().store_kv(v.data(), vh.data(), DType::F16, n);
        for (DType t : {DType::F32, DType::F16}) {
            const void* vp = t == DType::F32 ? static_cast<const void*>(v.data()) : vh.data();
            std::vector<float> y = y0, ys = y0;
            kt().axpy_kv(-0.37f, vp, t, y.data(), n);
            scalar().axpy_kv(-0.37f, vp, t, ys.data(), n);
            // Both round a * v + y once (FMA vs exact double product).
            for (int64_t i = 0; i < n; ++i)
                ASSERT_TRUE(close(y[i], ys[i], 1.2e-7, 1e-30)) << dtype_name(t) << " n=" << n;
        }
    }
}

TEST_P(OpsVsScalar, StoreKvIsBitExact) {
    std::mt19937 rng(17);
    const float inf = std::numeric_limits<float>::infinity();
    // Specials: signed zeros, f16 subnormals and their rounding, ties to even,
    // the overflow edge (65519.99 -> 65504, 65520 -> inf), infinities.
    const std::vector<float> specials = {0.0f,
                                         -0.0f,
                                         1.0f,
                                         -1.0f,
                                         5.96e-8f,
                                         2.98e-8f,
                                         2.99e-8f,
                                         1e-10f,
                                         6.1e-5f,
                                         6.0e-5f,
                                         -3e-6f,
                                         1.0f + 0x1p-11f,
                                         1.0f + 0x1p-10f + 0x1p-11f,
                                         65504.0f,
                                         65519.99f,
                                         65520.0f,
                                         -70000.0f,
                                         inf,
                                         -inf,
                                         3.14159265f};
    for (int64_t n : kSizes) {
        auto x = test::random_normal(rng, n, 100.0f);
        for (int64_t i = 0; i < n; ++i)
            if (i % 3 == 0) x[i] = specials[(i / 3) % specials.size()];
        std::vector<uint16_t> h(n + 1, 0xabcd), hs(n + 1, 0xabcd);
        kt().store_kv(x.data(), h.data(), DType::F16, n);
        scalar().store_kv(x.data(), hs.data(), DType::F16, n);
        EXPECT_EQ(h, hs) << "n=" << n;
        EXPECT_EQ(h[n], 0xabcd) << "wrote past n";
        std::vector<float> f(n);
        kt().store_kv(x.data(), f.data(), DType::F32, n);
        EXPECT_EQ(0, std::memcmp(f.data(), x.data(), n * sizeof(float)));
    }
    // NaN stays NaN (payload bits may differ).
    const float nan = std::numeric_limits<float>::quiet_NaN();
    uint16_t h = 0;
    kt().store_kv(&nan, &h, DType::F16, 1);
    EXPECT_TRUE(std::isnan(f16_to_f32(h)));
}

INSTANTIATE_TEST_SUITE_P(Isas, OpsVsScalar, ::testing::ValuesIn(test::supported_isas(false)),
                         isa_param_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(OpsVsScalar);  // a CPU without AVX2

}  // namespace
}  // namespace ig
