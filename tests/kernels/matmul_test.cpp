// matmul: every ISA against a double-precision product of dequantize_row
// weights, and every vector ISA against the scalar reference, over odd sizes,
// tails, strides and partial row ranges; and every ISA bit for bit against
// itself with the same rows computed alone, split or ranged differently.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kernels/kernel_test_util.h"
#include "kernels/kernels.h"
#include "tensor/dtype.h"
#include "tensor/quantize.h"

namespace ig {
namespace {

using test::isa_param_name;

constexpr float kSentinel = 777.0f;

using Problem = test::MatmulProblem;

// Weight padding that decodes as NaN (plain types), activations without outliers.
Problem make_problem(DType t, int64_t M, int64_t K, int64_t N, uint32_t seed) {
    return test::make_problem(t, M, K, N, seed, {.weight_padding = 0xff, .outliers = false});
}

std::vector<float> run(const KernelTable& kt, const Problem& p, int64_t n0, int64_t n1) {
    std::vector<float> y(static_cast<size_t>(p.M * p.ldy), kSentinel);
    kt.matmul(p.t, p.w.data(), p.w_stride, p.x.data(), p.ldx, y.data(), p.ldy, p.M, p.K, n0, n1);
    return y;
}

// Exact-in-double dot product of row n with X row m, and sum of |terms|.
void naive(const Problem& p, int64_t m, int64_t n, double* dot, double* abs_sum) {
    double s = 0.0, a = 0.0;
    for (int64_t k = 0; k < p.K; ++k) {
        const double term = static_cast<double>(p.wf[n * p.K + k]) * p.x[m * p.ldx + k];
        s += term;
        a += std::fabs(term);
    }
    *dot = s;
    *abs_sum = a;
}

// Y holds results for [n0, n1) and the sentinel everywhere else. `want`
// gives the expected value; the allowed error is rel_ref * |ref| +
// rel_sum * sum|terms|.
template <class Want>
void check(const Problem& p, const std::vector<float>& y, int64_t n0, int64_t n1, Want want,
           double rel_ref, double rel_sum) {
    int failures = 0;
    for (int64_t m = 0; m < p.M; ++m) {
        for (int64_t n = 0; n < p.ldy; ++n) {
            const float got = y[m * p.ldy + n];
            if (n < n0 || n >= n1) {
                if (got != kSentinel && ++failures <= 5)
                    ADD_FAILURE() << "wrote outside [n0, n1) at m=" << m << " n=" << n;
                continue;
            }
            double ref, abs_sum;
            naive(p, m, n, &ref, &abs_sum);
            const double expect = want(m, n, ref);
            const double tol = rel_ref * std::fabs(ref) + rel_sum * abs_sum;
            if (!(std::fabs(got - expect) <= tol) && ++failures <= 5)
                ADD_FAILURE() << "m=" << m << " n=" << n << " got " << got << " want " << expect
                              << " (tol " << tol << ", sum|terms| " << abs_sum << ")";
        }
    }
}

struct Shape {
    DType t;
    int64_t K;
};

constexpr DType kKQuants[] = {DType::Q4_K, DType::Q5_K, DType::Q6_K};

// Plain types take any K; block types multiples of 32. 257/513/1031/4128
// cross the vector kernels' K chunks (256 elements) with every kind of tail.
std::vector<Shape> shapes() {
    std::vector<Shape> s;
    for (DType t : {DType::F32, DType::F16, DType::BF16})
        for (int64_t K : {1, 3, 17, 31, 32, 33, 63, 100, 257, 513, 1031, 4096}) s.push_back({t, K});
    for (DType t : {DType::Q8_0, DType::Q4_0})
        for (int64_t K : {32, 64, 96, 544, 4096 + 32}) s.push_back({t, K});
    // K-quants: whole super-blocks; 768 and 1280 end inside a K chunk.
    for (DType t : kKQuants)
        for (int64_t K : {256, 768, 1280}) s.push_back({t, K});
    return s;
}

// M <= 4 takes the decode path, M > 4 the tiled prefill path.
const int64_t kMs[] = {1, 2, 3, 4, 5, 8, 17};
constexpr int64_t kN = 11;
// Row ranges: whole matrix (tiles of 4, 4, 3), and 5, 2 and 1 rows inside it.
const std::pair<int64_t, int64_t> kRanges[] = {{0, kN}, {2, 7}, {5, 7}, {10, 11}};

class MatmulAllIsas : public ::testing::TestWithParam<Isa> {};

// Each ISA against the exact product. The scalar kernel sums in double, so
// it must be correctly rounded up to a double-sized slack; float kernels are
// allowed 1e-5 of the sum of |terms|.
TEST_P(MatmulAllIsas, MatchesDoubleReference) {
    IG_REQUIRE_ISA(GetParam());
    const KernelTable& kt = kernel_table(GetParam());
    const bool scalar = GetParam() == Isa::Scalar;
    const double rel_ref = scalar ? 0x1p-24 : 0.0;
    const double rel_sum = scalar ? 1e-12 : 1e-5;
    uint32_t seed = 1;
    for (const Shape& s : shapes()) {
        for (int64_t M : kMs) {
            const Problem p = make_problem(s.t, M, s.K, kN, seed++);
            for (auto [n0, n1] : kRanges) {
                SCOPED_TRACE(testing::Message() << dtype_name(s.t) << " K=" << s.K << " M=" << M
                                                << " rows [" << n0 << ", " << n1 << ")");
                const std::vector<float> y = run(kt, p, n0, n1);
                check(
                    p, y, n0, n1, [](int64_t, int64_t, double ref) { return ref; }, rel_ref,
                    rel_sum);
                if (HasFailure()) return;
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Isas, MatmulAllIsas, ::testing::ValuesIn(test::supported_isas(true)),
                         isa_param_name);

class MatmulVsScalar : public ::testing::TestWithParam<Isa> {};

TEST_P(MatmulVsScalar, MatchesScalarKernel) {
    IG_REQUIRE_ISA(GetParam());
    const KernelTable& kt = kernel_table(GetParam());
    const KernelTable& ref = kernel_table(Isa::Scalar);
    uint32_t seed = 1000;
    for (const Shape& s : shapes()) {
        for (int64_t M : kMs) {
            const Problem p = make_problem(s.t, M, s.K, kN, seed++);
            for (auto [n0, n1] : kRanges) {
                SCOPED_TRACE(testing::Message() << dtype_name(s.t) << " K=" << s.K << " M=" << M
                                                << " rows [" << n0 << ", " << n1 << ")");
                const std::vector<float> ys = run(ref, p, n0, n1);
                const std::vector<float> y = run(kt, p, n0, n1);
                check(
                    p, y, n0, n1, [&](int64_t m, int64_t n, double) { return ys[m * p.ldy + n]; },
                    0.0, 1e-5);
                if (HasFailure()) return;
            }
        }
    }
}

// Long rows with a large common offset: cancellation makes the result small
// next to sum|terms|, the case where float accumulation is weakest.
TEST_P(MatmulVsScalar, LongRowsWithCancellation) {
    IG_REQUIRE_ISA(GetParam());
    const KernelTable& kt = kernel_table(GetParam());
    for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_K,
                    DType::Q5_K, DType::Q6_K}) {
        for (int64_t M : {1, 6}) {
            SCOPED_TRACE(testing::Message() << dtype_name(t) << " M=" << M);
            Problem p = make_problem(t, M, 14336, 5, 77 + static_cast<uint32_t>(M));
            for (int64_t m = 0; m < M; ++m)
                for (int64_t k = 0; k < p.K; ++k) p.x[m * p.ldx + k] += (k % 2 ? 3.0f : -3.0f);
            const std::vector<float> y = run(kt, p, 0, 5);
            check(
                p, y, 0, 5, [](int64_t, int64_t, double ref) { return ref; }, 0.0, 1e-5);
        }
    }
}

TEST_P(MatmulVsScalar, EmptyInputs) {
    IG_REQUIRE_ISA(GetParam());
    const KernelTable& kt = kernel_table(GetParam());
    for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_K,
                    DType::Q5_K, DType::Q6_K}) {
        const int64_t block = dtype_info(static_cast<uint32_t>(t))->block_elems;
        const Problem p = make_problem(t, 6, std::max<int64_t>(32, block), 4, 5);
        // No rows, no X rows: Y untouched.
        std::vector<float> y = run(kt, p, 2, 2);
        for (float v : y) EXPECT_EQ(v, kSentinel);
        y.assign(y.size(), kSentinel);
        kt.matmul(t, p.w.data(), p.w_stride, p.x.data(), p.ldx, y.data(), p.ldy, 0, p.K, 0, 4);
        for (float v : y) EXPECT_EQ(v, kSentinel);
        // K = 0: every output is an empty sum.
        for (int64_t M : {1, 6}) {
            y.assign(y.size(), kSentinel);
            kt.matmul(t, p.w.data(), p.w_stride, p.x.data(), p.ldx, y.data(), p.ldy, M, 0, 1, 3);
            for (int64_t m = 0; m < M; ++m)
                for (int64_t n = 0; n < p.ldy; ++n)
                    EXPECT_EQ(y[m * p.ldy + n], n >= 1 && n < 3 ? 0.0f : kSentinel);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Isas, MatmulVsScalar, ::testing::ValuesIn(test::supported_isas(false)),
                         isa_param_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(MatmulVsScalar);  // a CPU without AVX2

// Batch invariance: Y[m][n] may depend only on weight row n and X row m, bit
// for bit, never on how many X rows share the call, where row m sits among
// them, or which [n0, n1) range the call covers. The model relies on this
// for "same seed + same prompt = same output" whatever else is batched.
class MatmulBatchInvariance : public ::testing::TestWithParam<Isa> {};

// Index of the first float whose bits differ, or -1.
int64_t first_bit_difference(const std::vector<float>& a, const std::vector<float>& b) {
    for (size_t i = 0; i < a.size(); ++i)
        if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) return static_cast<int64_t>(i);
    return -1;
}

void expect_same_bits(const Problem& p, const std::vector<float>& got,
                      const std::vector<float>& want, const char* how) {
    const int64_t i = first_bit_difference(got, want);
    if (i >= 0)
        ADD_FAILURE() << how << ": first difference at m=" << i / p.ldy << " n=" << i % p.ldy
                      << ": " << std::hexfloat << got[static_cast<size_t>(i)] << " vs "
                      << want[static_cast<size_t>(i)];
}

// Calls matmul on X rows [m0, m1) and weight rows [n0, n1) of p, into y.
void run_part(const KernelTable& kt, const Problem& p, int64_t m0, int64_t m1, int64_t n0,
              int64_t n1, std::vector<float>& y) {
    kt.matmul(p.t, p.w.data(), p.w_stride, p.x.data() + m0 * p.ldx, p.ldx, y.data() + m0 * p.ldy,
              p.ldy, m1 - m0, p.K, n0, n1);
}

TEST_P(MatmulBatchInvariance, BitIdenticalAloneSplitOrRanged) {
    IG_REQUIRE_ISA(GetParam());
    const KernelTable& kt = kernel_table(GetParam());
    // 13 rows: tiles of 4 leave a remainder; the odd range sizes below cut
    // through every tile position. The K below end inside or just past the
    // kernels' K chunks, and M covers the tile heights and their remainders.
    constexpr int64_t kRowsN = 13;
    const std::vector<int64_t> n_pieces[] = {{3, 5, 1, 3, 1}, {1, 7, 5}};
    std::vector<Shape> cases;
    for (DType t : {DType::F32, DType::F16, DType::BF16})
        for (int64_t K : {3, 17, 100, 513, 1031, 2053}) cases.push_back({t, K});
    for (DType t : {DType::Q8_0, DType::Q4_0})
        for (int64_t K : {32, 96, 544, 1056, 4128}) cases.push_back({t, K});
    for (DType t : kKQuants)
        for (int64_t K : {256, 1280, 2304}) cases.push_back({t, K});
    std::mt19937 rng(4242);
    uint32_t seed = 5000;
    for (const Shape& s : cases) {
        for (int64_t M : {1, 2, 3, 4, 5, 7, 8, 17, 33}) {
            SCOPED_TRACE(testing::Message() << dtype_name(s.t) << " K=" << s.K << " M=" << M);
            const Problem p = make_problem(s.t, M, s.K, kRowsN, seed++);
            const std::vector<float> all = run(kt, p, 0, kRowsN);

            // (a) every X row alone (M = 1).
            std::vector<float> y(all.size(), kSentinel);
            for (int64_t m = 0; m < M; ++m) run_part(kt, p, m, m + 1, 0, kRowsN, y);
            expect_same_bits(p, y, all, "rows one at a time");

            // (b) the X rows in 2 and in 3 calls, cut at random points.
            for (int parts : {2, 3}) {
                if (M < parts) continue;
                std::vector<int64_t> cuts = {0, M};
                while (static_cast<int>(cuts.size()) < parts + 1) {
                    const int64_t c = std::uniform_int_distribution<int64_t>(1, M - 1)(rng);
                    if (std::find(cuts.begin(), cuts.end(), c) == cuts.end()) cuts.push_back(c);
                }
                std::sort(cuts.begin(), cuts.end());
                y.assign(all.size(), kSentinel);
                for (size_t i = 0; i + 1 < cuts.size(); ++i)
                    run_part(kt, p, cuts[i], cuts[i + 1], 0, kRowsN, y);
                expect_same_bits(p, y, all, parts == 2 ? "X rows in 2 calls" : "X rows in 3 calls");
            }

            // (c) the weight rows in ranges of odd sizes.
            for (const std::vector<int64_t>& sizes : n_pieces) {
                y.assign(all.size(), kSentinel);
                int64_t n = 0;
                for (int64_t len : sizes) {
                    run_part(kt, p, 0, M, n, n + len, y);
                    n += len;
                }
                EXPECT_EQ(n, kRowsN);
                expect_same_bits(p, y, all, "weight rows in odd ranges");
            }
            if (HasFailure()) return;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Isas, MatmulBatchInvariance,
                         ::testing::ValuesIn(test::supported_isas(true)), isa_param_name);

// Packed float panels: every ISA gives matmul's bits on the original rows
// (the scalar reference sums both the same way), for whole and partial last
// panels, row ranges starting on a panel, and more X rows than one tile.
class MatmulFPacked : public ::testing::TestWithParam<Isa> {};

TEST_P(MatmulFPacked, SameBitsAsUnpackedRows) {
    IG_REQUIRE_ISA(GetParam());
    const KernelTable& kt = kernel_table(GetParam());
    uint32_t seed = 700;
    for (DType t : {DType::F32, DType::F16, DType::BF16}) {
        for (int64_t K : {1, 17, 256, 257, 1031}) {
            for (int64_t N : {16, 37, 70}) {
                for (int64_t M : {1, 2, 3, 5, 8, 9, 17, 33}) {
                    const Problem p = make_problem(t, M, K, N, seed++);
                    const int64_t panels = panel_count(N);
                    // Packed in two calls into a poisoned buffer: the padding
                    // must be written too.
                    std::vector<uint8_t> packed(f_packed_bytes(t, N, K), 0xff);
                    pack_f_weights(t, p.w.data(), p.w_stride, N, K, 0, 1, packed.data());
                    pack_f_weights(t, p.w.data(), p.w_stride, N, K, 1, panels, packed.data());
                    const std::pair<int64_t, int64_t> ranges[] = {
                        {0, N}, {16, N}, {0, 5}, {N > 32 ? 32 : 0, N - 1}};
                    for (auto [n0, n1] : ranges) {
                        SCOPED_TRACE(testing::Message()
                                     << dtype_name(t) << " K=" << K << " N=" << N << " M=" << M
                                     << " rows [" << n0 << ", " << n1 << ")");
                        std::vector<float> y(static_cast<size_t>(M * p.ldy), kSentinel);
                        kt.matmul_f_packed(t, packed.data(), p.x.data(), p.ldx, y.data(), p.ldy, M,
                                           K, n0, n1);
                        expect_same_bits(p, y, run(kt, p, n0, n1), "packed");
                        if (HasFailure()) return;
                    }
                }
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Isas, MatmulFPacked, ::testing::ValuesIn(test::supported_isas(true)),
                         isa_param_name);

TEST(MatmulFPacked, PanelSizes) {
    EXPECT_TRUE(f_packable(DType::F32));
    EXPECT_TRUE(f_packable(DType::F16));
    EXPECT_TRUE(f_packable(DType::BF16));
    EXPECT_FALSE(f_packable(DType::Q8_0));
    EXPECT_EQ(f_panel_bytes(DType::F16, 2048), 2048u * 32);
    EXPECT_EQ(f_panel_bytes(DType::F16, 3), 128u);  // 96 bytes padded to 64
    EXPECT_EQ(f_packed_bytes(DType::BF16, 17, 2), 2 * 64u);
    EXPECT_EQ(panel_count(0), 0);
    EXPECT_EQ(panel_count(33), 3);
}

// Both vector ISAs compute the canonical fma chain (kernel_impl.h), so they
// agree bit for bit for every weight type.
TEST(MatmulVectorIsas, Avx2AndAvx512GiveTheSameBits) {
    IG_REQUIRE_ISA(Isa::Avx512);
    const KernelTable& a = kernel_table(Isa::Avx2);
    const KernelTable& b = kernel_table(Isa::Avx512);
    uint32_t seed = 8000;
    for (const Shape& s : shapes()) {
        for (int64_t M : {1, 5, 17}) {
            SCOPED_TRACE(testing::Message() << dtype_name(s.t) << " K=" << s.K << " M=" << M);
            const Problem p = make_problem(s.t, M, s.K, kN, seed++);
            expect_same_bits(p, run(a, p, 0, kN), run(b, p, 0, kN), "avx2 vs avx512");
            if (HasFailure()) return;
        }
    }
}

// Hand-made blocks whose products are exact, so every ISA must agree bit for
// bit: checks nibble order, the -8 offset and the f16 scale.
TEST(MatmulKnownValues, QuantBlocksDecodeAsSpecified) {
    BlockQ4_0 q4[2];
    BlockQ8_0 q8[2];
    float x[64];
    for (int b = 0; b < 2; ++b) {
        q4[b].d = b == 0 ? 0x3c00 : 0x4000;  // 1.0, 2.0
        q8[b].d = b == 0 ? 0x3800 : 0x3c00;  // 0.5, 1.0
        for (int j = 0; j < 16; ++j) q4[b].qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
        for (int j = 0; j < 32; ++j) q8[b].qs[j] = static_cast<int8_t>(j * 8 - 128);
    }
    double want4 = 0, want8 = 0;
    for (int k = 0; k < 64; ++k) {
        x[k] = static_cast<float>((k % 7) - 3);
        const int b = k / 32, j = k % 32;
        const int q = j < 16 ? j : 15 - (j - 16);
        want4 += (b == 0 ? 1.0 : 2.0) * (q - 8) * x[k];
        want8 += (b == 0 ? 0.5 : 1.0) * (j * 8 - 128) * x[k];
    }
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
        if (!isa_supported(isa)) continue;
        SCOPED_TRACE(isa_name(isa));
        float y = 0;
        kernel_table(isa).matmul(DType::Q4_0, q4, sizeof(q4), x, 64, &y, 1, 1, 64, 0, 1);
        EXPECT_EQ(y, want4);
        kernel_table(isa).matmul(DType::Q8_0, q8, sizeof(q8), x, 64, &y, 1, 1, 64, 0, 1);
        EXPECT_EQ(y, want8);
    }
}

// K-quants: with X a unit vector e_k, every ISA must return exactly weight
// element k as dequantize_row gives it (the other terms are exact zeros),
// for every k of a two-super-block row and both the decode and prefill paths.
TEST(MatmulKnownValues, KQuantsEqualDequantizeRowBitForBit) {
    constexpr int64_t K = 512, N = 3;
    for (DType t : kKQuants) {
        const Problem p = make_problem(t, 1, K, N, 99);
        for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
            if (!isa_supported(isa)) continue;
            SCOPED_TRACE(testing::Message() << dtype_name(t) << " " << isa_name(isa));
            for (int64_t M : {1, 5}) {
                int failures = 0;
                for (int64_t k = 0; k < K; ++k) {
                    std::vector<float> x(static_cast<size_t>(M * K), 0.0f);
                    for (int64_t m = 0; m < M; ++m) x[m * K + k] = 1.0f;
                    std::vector<float> y(static_cast<size_t>(M * N), kSentinel);
                    kernel_table(isa).matmul(t, p.w.data(), p.w_stride, x.data(), K, y.data(), N, M,
                                             K, 0, N);
                    for (int64_t m = 0; m < M; ++m)
                        for (int64_t n = 0; n < N; ++n)
                            if (y[m * N + n] != p.wf[n * K + k] && ++failures <= 3)
                                ADD_FAILURE() << "M=" << M << " n=" << n << " k=" << k << ": "
                                              << y[m * N + n] << " vs " << p.wf[n * K + k];
                }
            }
        }
    }
}

}  // namespace
}  // namespace ig
