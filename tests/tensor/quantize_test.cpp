#include "tensor/quantize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "tensor/half.h"

namespace ig {
namespace {

// The compiler's own _Float16 conversion is the oracle for our bit tricks.
TEST(Half, F32ToF16MatchesCompilerOnEveryHalfAndMidpoint) {
    for (uint32_t h = 0; h < 0x10000; ++h) {
        const float f = f16_to_f32(static_cast<uint16_t>(h));
        _Float16 c;
        std::memcpy(&c, &h, 2);
        if (std::isnan(f)) {
            EXPECT_TRUE(std::isnan(static_cast<float>(c)));
            continue;
        }
        ASSERT_EQ(f32_bits(f), f32_bits(static_cast<float>(c))) << std::hex << h;
        ASSERT_EQ(f32_to_f16(f), h) << std::hex << h;
    }
    std::mt19937 rng(1);
    std::uniform_int_distribution<uint32_t> bits;
    for (int i = 0; i < 2000000; ++i) {
        const float f = bits_f32(bits(rng));
        if (std::isnan(f)) continue;
        const _Float16 c = static_cast<_Float16>(f);
        uint16_t want;
        std::memcpy(&want, &c, 2);
        ASSERT_EQ(f32_to_f16(f), want) << f;
    }
}

TEST(Half, Bf16RoundsToNearestEven) {
    EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
    EXPECT_EQ(f32_to_bf16(bits_f32(0x3f808000)), 0x3f80);  // tie -> even
    EXPECT_EQ(f32_to_bf16(bits_f32(0x3f818000)), 0x3f82);  // tie -> even (up)
    EXPECT_EQ(f32_to_bf16(bits_f32(0x3f808001)), 0x3f81);
    EXPECT_EQ(bf16_to_f32(0xc000), -2.0f);
    EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
}

TEST(Quantize, Q8_0BlockLayout) {
    std::vector<float> x(32);
    for (int i = 0; i < 32; ++i) x[i] = (i - 16) * 0.5f;  // amax 8 at i = 0
    BlockQ8_0 b;
    ASSERT_TRUE(quantize_row(DType::Q8_0, x.data(), &b, 32));
    EXPECT_EQ(b.d, f32_to_f16(8.0f / 127.0f));
    EXPECT_EQ(b.qs[0], -127);
    EXPECT_EQ(b.qs[16], 0);
    EXPECT_EQ(b.qs[17], static_cast<int8_t>(std::nearbyint(0.5f * 127.0f / 8.0f)));
    std::vector<float> y(32);
    ASSERT_TRUE(dequantize_row(DType::Q8_0, &b, y.data(), 32));
    for (int i = 0; i < 32; ++i) EXPECT_NEAR(y[i], x[i], 8.0f / 127.0f);
}

TEST(Quantize, Q4_0BlockLayout) {
    std::vector<float> x(32, 0.0f);
    x[3] = -8.0f;  // largest magnitude, negative: d = 1, maps to nibble 0
    x[20] = 7.0f;  // high nibble of byte 4 -> 15
    BlockQ4_0 b;
    ASSERT_TRUE(quantize_row(DType::Q4_0, x.data(), &b, 32));
    EXPECT_EQ(f16_to_f32(b.d), 1.0f);
    EXPECT_EQ(b.qs[3] & 0x0f, 0);
    EXPECT_EQ(b.qs[4] >> 4, 15);
    EXPECT_EQ(b.qs[0], 0x88);  // zeros are nibble 8
    std::vector<float> y(32);
    ASSERT_TRUE(dequantize_row(DType::Q4_0, &b, y.data(), 32));
    for (int i = 0; i < 32; ++i) EXPECT_EQ(y[i], x[i]) << i;
}

TEST(Quantize, RoundTripErrorBounds) {
    std::mt19937 rng(5);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    const int n = 32 * 64;
    std::vector<float> x(n), y(n);
    for (auto& v : x) v = nd(rng);
    struct Case {
        DType t;
        double rel;  // bound on |err| / block amax
    } cases[] = {{DType::F16, 1e-3},
                 {DType::BF16, 8e-3},
                 {DType::Q8_0, 1.0 / 127 * 0.51 + 1e-3},
                 // Q4_0 maps the extreme value to -8, so the opposite side clamps at
                 // +7 and may lose a whole step there (as in GGML's reference).
                 {DType::Q4_0, 1.0 / 8 + 1e-3}};
    for (const auto& c : cases) {
        std::vector<uint8_t> buf(*row_bytes(c.t, n));
        ASSERT_TRUE(quantize_row(c.t, x.data(), buf.data(), n));
        ASSERT_TRUE(dequantize_row(c.t, buf.data(), y.data(), n));
        for (int b = 0; b < n / 32; ++b) {
            float amax = 0;
            for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b * 32 + j]));
            for (int j = 0; j < 32; ++j)
                ASSERT_LE(std::fabs(y[b * 32 + j] - x[b * 32 + j]), c.rel * amax)
                    << dtype_name(c.t) << " element " << b * 32 + j;
        }
    }
}

TEST(DType, SizesMatchGgml) {
    EXPECT_EQ(*row_bytes(DType::Q8_0, 64), 68u);
    EXPECT_EQ(*row_bytes(DType::Q4_0, 64), 36u);
    EXPECT_EQ(*row_bytes(DType::Q4_K, 256), 144u);
    EXPECT_EQ(*row_bytes(DType::Q6_K, 512), 420u);
    EXPECT_FALSE(row_bytes(DType::Q8_0, 33));
    EXPECT_FALSE(dtype_info(99));
    EXPECT_EQ(dtype_from_name("Q8_0"), DType::Q8_0);
    EXPECT_FALSE(dtype_from_name("q3_xs"));
}

}  // namespace
}  // namespace ig
