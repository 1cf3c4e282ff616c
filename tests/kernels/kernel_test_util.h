#pragma once
// Helpers shared by the kernel tests.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernels.h"
#include "tensor/dtype.h"
#include "tensor/quantize.h"

namespace ig::test {

// Vector ISAs are compared with the scalar reference; a CPU without one
// skips its instance (and says so) instead of passing silently.
#define IG_REQUIRE_ISA(isa)                                           \
    do {                                                              \
        if (!::ig::isa_supported(isa)) {                              \
            GTEST_SKIP() << "this CPU lacks " << ::ig::isa_name(isa); \
        }                                                             \
    } while (0)

// The ISAs this CPU can run, so the test list itself shows what was covered
// (an AVX-512 instance appears only on a CPU that has it).
inline std::vector<Isa> supported_isas(bool with_scalar) {
    std::vector<Isa> v;
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512})
        if ((with_scalar || isa != Isa::Scalar) && isa_supported(isa)) v.push_back(isa);
    return v;
}

inline std::string isa_param_name(const ::testing::TestParamInfo<Isa>& info) {
    return std::string(isa_name(info.param));
}

inline std::vector<float> random_normal(std::mt19937& rng, size_t n, float stddev = 1.0f) {
    std::normal_distribution<float> dist(0.0f, stddev);
    std::vector<float> v(n);
    for (float& f : v) f = dist(rng);
    return v;
}

inline std::vector<float> random_uniform(std::mt19937& rng, size_t n, float lo, float hi) {
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(n);
    for (float& f : v) f = dist(rng);
    return v;
}

// Element sizes that exercise every vector tail (8 and 16 lanes, 32-element
// blocks) plus a long run.
inline const std::vector<int64_t> kSizes = {1,  2,  3,  7,  8,  9,   15,  16,  17,   31,
                                            32, 33, 63, 64, 65, 100, 255, 257, 1000, 4096};

// |a - b| <= rel * |b| + abs, with NaN only matching NaN.
inline bool close(double a, double b, double rel, double abs) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
    if (std::isinf(a) || std::isinf(b)) return a == b;
    return std::fabs(a - b) <= rel * std::fabs(b) + abs;
}

// A matmul's inputs: N weight rows of type t quantized from N(0, 1) floats,
// stored w_stride apart with padding bytes, and M activation rows ldx apart
// with NaN padding: a kernel that reads past a row poisons its result.
struct MatmulProblem {
    DType t;
    int64_t M, K, N;
    size_t w_stride;
    int64_t ldx, ldy;
    std::vector<uint8_t> w;
    std::vector<float> x;
    std::vector<float> wf;  // dequantized weights, N x K
};

struct MatmulInputs {
    // 0xff decodes as NaN in plain types; 0xa5 is garbage in every type.
    uint8_t weight_padding = 0xa5;
    // Activations with a few outliers per row, as in real hidden states.
    bool outliers = true;
};

inline MatmulProblem make_problem(DType t, int64_t M, int64_t K, int64_t N, uint32_t seed,
                                  MatmulInputs in = {}) {
    std::mt19937 rng(seed);
    MatmulProblem p{t, M, K, N, 0, K + 3, N + 2, {}, {}, {}};
    p.w_stride = *row_bytes(t, static_cast<uint64_t>(K)) + 8;
    p.w.assign(p.w_stride * static_cast<size_t>(N), in.weight_padding);
    p.wf.resize(static_cast<size_t>(N * K));
    for (int64_t n = 0; n < N; ++n) {
        const std::vector<float> row = random_normal(rng, static_cast<size_t>(K));
        uint8_t* dst = p.w.data() + static_cast<size_t>(n) * p.w_stride;
        EXPECT_TRUE(quantize_row(t, row.data(), dst, K));
        EXPECT_TRUE(dequantize_row(t, dst, p.wf.data() + n * K, K));
    }
    p.x.assign(static_cast<size_t>(M * p.ldx), std::numeric_limits<float>::quiet_NaN());
    const std::vector<float> xs = random_normal(rng, static_cast<size_t>(M * K));
    for (int64_t m = 0; m < M; ++m)
        for (int64_t k = 0; k < K; ++k)
            p.x[m * p.ldx + k] = xs[m * K + k] * (in.outliers && k % 97 == 5 ? 20.0f : 1.0f);
    return p;
}

}  // namespace ig::test
