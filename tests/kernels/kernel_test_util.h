#pragma once
// Helpers shared by the kernel tests.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernels.h"

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

}  // namespace ig::test
