// Integer matmul path (quantize_rows_q8 + matmul_q8): every vector ISA bit
// for bit against the scalar reference; the scalar reference against the
// exact product within the activation-rounding bound; batch invariance; and
// hand-made blocks that pin down element order and offsets.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
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

std::vector<uint8_t> quantize(const KernelTable& kt, const test::MatmulProblem& p) {
    std::vector<uint8_t> q(q8_row_bytes(p.K) * static_cast<size_t>(p.M), 0xcc);
    kt.quantize_rows_q8(p.x.data(), p.ldx, p.M, p.K, q.data());
    return q;
}

std::vector<float> run(const KernelTable& kt, const test::MatmulProblem& p,
                       const std::vector<uint8_t>& xq, int64_t m0, int64_t m1, int64_t n0,
                       int64_t n1, std::vector<float>* into = nullptr) {
    std::vector<float> y(static_cast<size_t>(p.M * p.ldy), kSentinel);
    std::vector<float>& out = into ? *into : y;
    kt.matmul_q8(p.t, p.w.data(), p.w_stride, xq.data() + q8_row_bytes(p.K) * m0,
                 out.data() + m0 * p.ldy, p.ldy, m1 - m0, p.K, n0, n1);
    return y;
}

int64_t first_bit_difference(const std::vector<float>& a, const std::vector<float>& b) {
    for (size_t i = 0; i < a.size(); ++i)
        if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) return static_cast<int64_t>(i);
    return -1;
}

void expect_same_bits(const test::MatmulProblem& p, const std::vector<float>& got,
                      const std::vector<float>& want, const char* how) {
    const int64_t i = first_bit_difference(got, want);
    if (i >= 0)
        ADD_FAILURE() << how << ": first difference at m=" << i / p.ldy << " n=" << i % p.ldy
                      << ": " << std::hexfloat << got[static_cast<size_t>(i)] << " vs "
                      << want[static_cast<size_t>(i)];
}

struct Shape {
    DType t;
    int64_t K;
};

// Q8_0/Q4_0: partial last groups (K % 256 != 0) and more groups than one
// unpacked chunk (2048 elements); K-quants: 1 to 9 super-blocks.
std::vector<Shape> shapes() {
    std::vector<Shape> s;
    for (DType t : {DType::Q8_0, DType::Q4_0})
        for (int64_t K : {32, 96, 256, 544, 4128}) s.push_back({t, K});
    for (DType t : {DType::Q4_K, DType::Q5_K, DType::Q6_K})
        for (int64_t K : {256, 768, 2304}) s.push_back({t, K});
    return s;
}

TEST(MatmulQ8, RowBytesAndSupportedTypes) {
    EXPECT_EQ(q8_row_bytes(0), 0u);
    EXPECT_EQ(q8_row_bytes(32), 320u);
    EXPECT_EQ(q8_row_bytes(256), 320u);
    EXPECT_EQ(q8_row_bytes(288), 640u);
    for (DType t : {DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K})
        EXPECT_TRUE(matmul_q8_supports(t)) << dtype_name(t);
    for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_K})
        EXPECT_FALSE(matmul_q8_supports(t)) << dtype_name(t);
}

// The scalar quantization: per block d = max|x| / 127, |x - d q| <= d / 2
// (plus float slack), block sums equal the sum of q, missing blocks zero.
TEST(MatmulQ8, ScalarQuantizationWithinHalfStep) {
    const KernelTable& kt = kernel_table(Isa::Scalar);
    for (int64_t K : {32, 224, 288}) {
        const test::MatmulProblem p = test::make_problem(DType::Q8_0, 3, K, 1, 7);
        const std::vector<uint8_t> q = quantize(kt, p);
        const size_t rb = q8_row_bytes(K);
        for (int64_t m = 0; m < p.M; ++m) {
            const uint8_t* row = q.data() + rb * static_cast<size_t>(m);
            for (int64_t b = 0; b < static_cast<int64_t>(rb / 320) * 8; ++b) {
                const uint8_t* g = row + (b / 8) * 320;
                float d;
                int32_t sum, want_sum = 0;
                std::memcpy(&d, g + 256 + 4 * (b % 8), 4);
                std::memcpy(&sum, g + 288 + 4 * (b % 8), 4);
                float amax = 0;
                for (int i = 0; i < 32; ++i) {
                    const auto qi = static_cast<int8_t>(g[32 * (b % 8) + i]);
                    want_sum += qi;
                    if (32 * b >= K) {
                        EXPECT_EQ(qi, 0);
                        continue;
                    }
                    const float x = p.x[m * p.ldx + 32 * b + i];
                    amax = std::max(amax, std::fabs(x));
                    EXPECT_LE(std::fabs(x - d * qi), 0.5f * d * (1 + 1e-5f) + 1e-6f * std::fabs(x))
                        << "m=" << m << " k=" << 32 * b + i;
                }
                EXPECT_EQ(d, amax / 127.0f);
                EXPECT_EQ(sum, want_sum);
            }
        }
    }
}

class MatmulQ8VsScalar : public ::testing::TestWithParam<Isa> {};

TEST_P(MatmulQ8VsScalar, QuantizationBitIdentical) {
    IG_REQUIRE_ISA(GetParam());
    const KernelTable& kt = kernel_table(GetParam());
    const KernelTable& ref = kernel_table(Isa::Scalar);
    uint32_t seed = 10;
    for (int64_t K : {32, 96, 256, 544, 4128}) {
        const test::MatmulProblem p = test::make_problem(DType::Q8_0, 5, K, 1, seed++);
        EXPECT_EQ(quantize(kt, p), quantize(ref, p)) << "K=" << K;
    }
}

TEST_P(MatmulQ8VsScalar, MatmulBitIdentical) {
    IG_REQUIRE_ISA(GetParam());
    const KernelTable& kt = kernel_table(GetParam());
    const KernelTable& ref = kernel_table(Isa::Scalar);
    constexpr int64_t kN = 11;
    const std::pair<int64_t, int64_t> ranges[] = {{0, kN}, {2, 7}, {10, 11}};
    uint32_t seed = 100;
    for (const Shape& s : shapes()) {
        for (int64_t M : {1, 2, 3, 4, 5, 8, 17, 67}) {
            const test::MatmulProblem p = test::make_problem(s.t, M, s.K, kN, seed++);
            const std::vector<uint8_t> xq = quantize(ref, p);
            for (auto [n0, n1] : ranges) {
                SCOPED_TRACE(testing::Message() << dtype_name(s.t) << " K=" << s.K << " M=" << M
                                                << " rows [" << n0 << ", " << n1 << ")");
                expect_same_bits(p, run(kt, p, xq, 0, M, n0, n1), run(ref, p, xq, 0, M, n0, n1),
                                 "vs scalar");
                if (HasFailure()) return;
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Isas, MatmulQ8VsScalar, ::testing::ValuesIn(test::supported_isas(false)),
                         isa_param_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(MatmulQ8VsScalar);

// Packed panels (Q8_0, Q4_0 and the K-quants): every ISA (scalar included) gives matmul_q8's
// bits on the original rows, for whole and partial last panels, row ranges
// starting on a panel, and more X rows than one row block of the kernels.
class MatmulQ8Packed : public ::testing::TestWithParam<Isa> {};

TEST_P(MatmulQ8Packed, SameBitsAsUnpackedRows) {
    IG_REQUIRE_ISA(GetParam());
    const KernelTable& kt = kernel_table(GetParam());
    const KernelTable& ref = kernel_table(Isa::Scalar);
    uint32_t seed = 900;
    for (DType t : {DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
        for (int64_t K : {32, 544, 4128}) {
            if (t != DType::Q8_0 && t != DType::Q4_0)
                K = K / 32 * 256;  // whole super-blocks: 256, 4352, 33024
            // 70: whole and partial groups of two panels (the VNNI Q8_0 /
            // Q4_0 prefill tiles), from panel 0 and from panel 1.
            for (int64_t N : {16, 37, 70}) {
                for (int64_t M : {1, 3, 8, 13, 16, 130}) {
                    if (K > 4096 && M > 13) continue;  // the scalar reference is slow
                    if (N == 70 && t != DType::Q8_0 && t != DType::Q4_0) continue;
                    const test::MatmulProblem p = test::make_problem(t, M, K, N, seed++);
                    const int64_t panels = panel_count(N);
                    std::vector<uint8_t> packed(q8_packed_bytes(t, N, K), 0xee);
                    pack_q8_weights(t, p.w.data(), p.w_stride, N, K, 0, 1, packed.data());
                    pack_q8_weights(t, p.w.data(), p.w_stride, N, K, 1, panels, packed.data());
                    const std::vector<uint8_t> xq = quantize(ref, p);
                    const std::pair<int64_t, int64_t> ranges[] = {{0, N}, {16, N}, {0, 5}};
                    for (auto [n0, n1] : ranges) {
                        SCOPED_TRACE(testing::Message()
                                     << dtype_name(t) << " K=" << K << " N=" << N << " M=" << M
                                     << " rows [" << n0 << ", " << n1 << ")");
                        std::vector<float> y(static_cast<size_t>(M * p.ldy), kSentinel);
                        kt.matmul_q8_packed(t, packed.data(), xq.data(), y.data(), p.ldy, M, K, n0,
                                            n1);
                        expect_same_bits(p, y, run(ref, p, xq, 0, M, n0, n1), "packed");
                        if (HasFailure()) return;
                    }
                }
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Isas, MatmulQ8Packed, ::testing::ValuesIn(test::supported_isas(true)),
                         isa_param_name);

TEST(MatmulQ8Packed, PanelSizes) {
    EXPECT_TRUE(q8_packable(DType::Q8_0));
    EXPECT_TRUE(q8_packable(DType::Q4_0));
    EXPECT_TRUE(q8_packable(DType::Q4_K));
    EXPECT_TRUE(q8_packable(DType::Q5_K));
    EXPECT_TRUE(q8_packable(DType::Q6_K));
    EXPECT_FALSE(q8_packable(DType::F16));
    // 16 rows x (d + quants) per block, padded to 64 bytes.
    EXPECT_EQ(q8_panel_bytes(DType::Q8_0, 64), 1088u);
    EXPECT_EQ(q8_panel_bytes(DType::Q4_0, 32), 320u);
    EXPECT_EQ(q8_packed_bytes(DType::Q8_0, 17, 64), 2 * 1088u);
    EXPECT_EQ(q8_packed_bytes(DType::Q4_0, 16, 2048), 16 * 18 * 64u);
    // Q4_K: per super-block, 16 rows x (quants + d, dmin + 8 scales and mins).
    EXPECT_EQ(q8_panel_bytes(DType::Q4_K, 512), 2 * 2368u);
    EXPECT_EQ(q8_packed_bytes(DType::Q4_K, 17, 256), 2 * 2368u);
    EXPECT_EQ(q8_panel_bytes(DType::Q5_K, 256), 2880u);  // Q4_K's record + fifth bits
    // Q6_K: 16 rows x (low nibbles + high bits + 2 scales per block + d), padded to 64.
    EXPECT_EQ(q8_panel_bytes(DType::Q6_K, 768), 3 * 3392u);
}

class MatmulQ8AllIsas : public ::testing::TestWithParam<Isa> {};

// Against the exact product of the dequantized weights with the float X:
// the activation rounding moves each term by at most |w| * d_block / 2; the
// float accumulation adds 1e-5 of sum|terms| at most.
TEST_P(MatmulQ8AllIsas, WithinActivationRoundingOfExactProduct) {
    IG_REQUIRE_ISA(GetParam());
    const KernelTable& kt = kernel_table(GetParam());
    constexpr int64_t kN = 7;
    uint32_t seed = 300;
    for (const Shape& s : shapes()) {
        for (int64_t M : {1, 5}) {
            const test::MatmulProblem p = test::make_problem(s.t, M, s.K, kN, seed++);
            const std::vector<uint8_t> xq = quantize(kt, p);
            const std::vector<float> y = run(kt, p, xq, 0, M, 0, kN);
            int failures = 0;
            for (int64_t m = 0; m < M; ++m) {
                for (int64_t n = 0; n < p.ldy; ++n) {
                    const float got = y[m * p.ldy + n];
                    if (n >= kN) {
                        EXPECT_EQ(got, kSentinel);
                        continue;
                    }
                    double ref = 0, abs_sum = 0, bound = 0;
                    for (int64_t b = 0; b < s.K / 32; ++b) {
                        double amax = 0;
                        for (int64_t i = 0; i < 32; ++i)
                            amax = std::max(amax, std::fabs(double(p.x[m * p.ldx + 32 * b + i])));
                        for (int64_t i = 0; i < 32; ++i) {
                            const int64_t k = 32 * b + i;
                            const double term = double(p.wf[n * s.K + k]) * p.x[m * p.ldx + k];
                            ref += term;
                            abs_sum += std::fabs(term);
                            bound += std::fabs(p.wf[n * s.K + k]) * amax / 254.0;
                        }
                    }
                    const double tol = bound * (1 + 1e-4) + 1e-5 * abs_sum;
                    if (!(std::fabs(got - ref) <= tol) && ++failures <= 5)
                        ADD_FAILURE() << dtype_name(s.t) << " K=" << s.K << " m=" << m << " n=" << n
                                      << " got " << got << " want " << ref << " tol " << tol;
                }
            }
            if (HasFailure()) return;
        }
    }
}

// Y[m][n] depends only on weight row n and X row m, bit for bit: rows alone,
// X rows in two calls, weight rows in odd ranges all give the same bits.
TEST_P(MatmulQ8AllIsas, BatchInvariant) {
    IG_REQUIRE_ISA(GetParam());
    const KernelTable& kt = kernel_table(GetParam());
    constexpr int64_t kN = 13;
    uint32_t seed = 700;
    for (const Shape& s : shapes()) {
        for (int64_t M : {3, 9, 70}) {
            SCOPED_TRACE(testing::Message() << dtype_name(s.t) << " K=" << s.K << " M=" << M);
            const test::MatmulProblem p = test::make_problem(s.t, M, s.K, kN, seed++);
            const std::vector<uint8_t> xq = quantize(kt, p);
            const std::vector<float> all = run(kt, p, xq, 0, M, 0, kN);
            std::vector<float> y(all.size(), kSentinel);
            for (int64_t m = 0; m < M; ++m) run(kt, p, xq, m, m + 1, 0, kN, &y);
            expect_same_bits(p, y, all, "rows one at a time");
            y.assign(all.size(), kSentinel);
            run(kt, p, xq, 0, M / 2 + 1, 0, kN, &y);
            run(kt, p, xq, M / 2 + 1, M, 0, kN, &y);
            expect_same_bits(p, y, all, "X rows in 2 calls");
            y.assign(all.size(), kSentinel);
            int64_t n = 0;
            for (int64_t len : {3, 5, 1, 3, 1}) {
                run(kt, p, xq, 0, M, n, n + len, &y);
                n += len;
            }
            expect_same_bits(p, y, all, "weight rows in odd ranges");
            if (HasFailure()) return;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Isas, MatmulQ8AllIsas, ::testing::ValuesIn(test::supported_isas(true)),
                         isa_param_name);

// Integer X with max |x| = 127 per block quantizes exactly (d = 1), so
// hand-made Q4_0/Q8_0 blocks give exact results: nibble order, the -8
// offset and the f16 scales.
TEST(MatmulQ8KnownValues, QuantBlocksDecodeAsSpecified) {
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
        x[k] = k % 32 == 3 ? -127.0f : static_cast<float>((k % 7) * 9 - 27);
        const int b = k / 32, j = k % 32;
        const int q = j < 16 ? j : 15 - (j - 16);
        want4 += (b == 0 ? 1.0 : 2.0) * (q - 8) * x[k];
        want8 += (b == 0 ? 0.5 : 1.0) * (j * 8 - 128) * x[k];
    }
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
        if (!isa_supported(isa)) continue;
        SCOPED_TRACE(isa_name(isa));
        const KernelTable& kt = kernel_table(isa);
        std::vector<uint8_t> xq(q8_row_bytes(64));
        kt.quantize_rows_q8(x, 64, 1, 64, xq.data());
        float y = 0;
        kt.matmul_q8(DType::Q4_0, q4, sizeof(q4), xq.data(), &y, 1, 1, 64, 0, 1);
        EXPECT_EQ(y, want4);
        kt.matmul_q8(DType::Q8_0, q8, sizeof(q8), xq.data(), &y, 1, 1, 64, 0, 1);
        EXPECT_EQ(y, want8);
    }
}

// Every weight at its largest magnitude against X = 127 everywhere: the
// integer sums reach their bounds (a Q5_K block's P = 31 * 127 * 32), where
// a kernel that keeps partial sums in int16 too long would wrap. Each ISA,
// packed or not, must give the exact product.
TEST(MatmulQ8KnownValues, ExtremeBlocksAreExact) {
    constexpr int64_t K = 512, N = 16, M = 2;
    for (DType t : {DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
        SCOPED_TRACE(dtype_name(t));
        const size_t rb = *row_bytes(t, K);
        std::vector<uint8_t> w(rb * N);
        double want = 0;  // one row: every row is the same
        for (int64_t b = 0; b < K / 256; ++b) {
            for (int64_t n = 0; n < N; ++n) {
                uint8_t* row = w.data() + n * rb;
                if (t == DType::Q8_0 || t == DType::Q4_0) {
                    const size_t bb = t == DType::Q8_0 ? sizeof(BlockQ8_0) : sizeof(BlockQ4_0);
                    for (int64_t i = 0; i < 8; ++i) {
                        uint8_t* blk = row + (8 * b + i) * bb;
                        const uint16_t one = 0x3c00;
                        std::memcpy(blk, &one, 2);
                        std::memset(blk + 2, t == DType::Q8_0 ? 0x81 : 0x00, bb - 2);  // -127, -8
                    }
                } else if (t == DType::Q6_K) {
                    uint8_t* blk = row + b * sizeof(BlockQ6_K);
                    std::memset(blk, 0xff, 192);      // q6 = 63: w = 31
                    std::memset(blk + 192, 127, 16);  // scales
                    const uint16_t one = 0x3c00;
                    std::memcpy(blk + 208, &one, 2);
                } else {
                    const bool q5 = t == DType::Q5_K;
                    uint8_t* blk = row + b * (q5 ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K));
                    const uint16_t one = 0x3c00, zero = 0;
                    std::memcpy(blk, &one, 2);       // d
                    std::memcpy(blk + 2, &zero, 2);  // dmin
                    // Every sub-block scale 63, every min 0 (see kquant_scale_min).
                    const uint8_t scales[12] = {0xff, 0xff, 0xff, 0xff, 0,    0,
                                                0,    0,    0x0f, 0x0f, 0x0f, 0x0f};
                    std::memcpy(blk + 4, scales, 12);
                    std::memset(blk + 16, 0xff, q5 ? 160 : 128);  // q = 15 / 31
                }
            }
        }
        const double wv = t == DType::Q8_0   ? -127
                          : t == DType::Q4_0 ? -8
                          : t == DType::Q4_K ? 63 * 15
                          : t == DType::Q5_K ? 63 * 31
                                             : 127 * 31;
        want = wv * 127 * K;
        std::vector<float> x(static_cast<size_t>(M * K), 127.0f);
        for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
            if (!isa_supported(isa)) continue;
            SCOPED_TRACE(isa_name(isa));
            const KernelTable& kt = kernel_table(isa);
            std::vector<uint8_t> xq(q8_row_bytes(K) * M);
            kt.quantize_rows_q8(x.data(), K, M, K, xq.data());
            std::vector<float> y(M * N, 0.0f);
            kt.matmul_q8(t, w.data(), rb, xq.data(), y.data(), N, M, K, 0, N);
            for (float v : y) EXPECT_EQ(v, want);
            if (!q8_packable(t)) continue;
            std::vector<uint8_t> packed(q8_packed_bytes(t, N, K));
            pack_q8_weights(t, w.data(), rb, N, K, 0, panel_count(N), packed.data());
            y.assign(y.size(), 0.0f);
            kt.matmul_q8_packed(t, packed.data(), xq.data(), y.data(), N, M, K, 0, N);
            for (float v : y) EXPECT_EQ(v, want);
        }
    }
}

// K-quants: X = 127 * e_k picks weight element k (times 127) out of a
// two-super-block row, for every k: pins down the element order of each
// layout, the scales, and the mins.
TEST(MatmulQ8KnownValues, KQuantUnitVectorsPickTheirElement) {
    constexpr int64_t K = 512, N = 3;
    for (DType t : {DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
        const test::MatmulProblem p = test::make_problem(t, 1, K, N, 99);
        for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
            if (!isa_supported(isa)) continue;
            SCOPED_TRACE(testing::Message() << dtype_name(t) << " " << isa_name(isa));
            const KernelTable& kt = kernel_table(isa);
            std::vector<float> x(K);
            std::vector<uint8_t> xq(q8_row_bytes(K));
            int failures = 0;
            for (int64_t k = 0; k < K; ++k) {
                std::fill(x.begin(), x.end(), 0.0f);
                x[static_cast<size_t>(k)] = 127.0f;
                kt.quantize_rows_q8(x.data(), K, 1, K, xq.data());
                float y[N];
                kt.matmul_q8(t, p.w.data(), p.w_stride, xq.data(), y, N, 1, K, 0, N);
                for (int64_t n = 0; n < N; ++n) {
                    double wmax = 0;
                    for (int64_t i = 0; i < K; ++i)
                        wmax = std::max(wmax, std::fabs(double(p.wf[n * K + i])));
                    const double want = 127.0 * p.wf[n * K + k];
                    if (!(std::fabs(y[n] - want) <= 127.0 * wmax * 1e-6) && ++failures <= 3)
                        ADD_FAILURE() << "n=" << n << " k=" << k << ": " << y[n] << " vs " << want;
                }
            }
        }
    }
}

}  // namespace
}  // namespace ig
