// K-quants: dequantisation checked bit for bit against blocks assembled by
// hand from the GGUF format definition (scales and quants chosen so that
// every expected value is exact, computed here independently of
// dequantize_row); quantisation checked by its error against the input.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "tensor/half.h"
#include "tensor/quantize.h"

namespace ig {
namespace {

// Sub-block scales and mins of the hand-made Q4_K/Q5_K blocks: all 6 bits
// used, so the packing of bits 4-5 is exercised for j >= 4.
constexpr uint8_t kSc[8] = {1, 2, 3, 63, 17, 33, 48, 5};
constexpr uint8_t kMn[8] = {0, 7, 63, 1, 20, 40, 2, 60};

// The 12 scale bytes written straight from the format definition: bytes 0-3
// hold scale j (j < 4) in bits 0-5 and bits 4-5 of scale j + 4 in bits 6-7;
// bytes 4-7 the same for the mins; bytes 8-11 the low nibbles of scale and
// min j + 4.
void pack_by_hand(uint8_t* s) {
    for (int j = 0; j < 4; ++j) {
        s[j] = static_cast<uint8_t>(kSc[j] | ((kSc[j + 4] >> 4) << 6));
        s[j + 4] = static_cast<uint8_t>(kMn[j] | ((kMn[j + 4] >> 4) << 6));
        s[j + 8] = static_cast<uint8_t>((kSc[j + 4] & 15) | ((kMn[j + 4] & 15) << 4));
    }
}

TEST(KQuant, ScaleMinUnpacking) {
    uint8_t s[12];
    pack_by_hand(s);
    for (int j = 0; j < 8; ++j) {
        uint8_t sc, mn;
        kquant_scale_min(j, s, &sc, &mn);
        EXPECT_EQ(sc, kSc[j]) << j;
        EXPECT_EQ(mn, kMn[j]) << j;
    }
}

TEST(KQuant, Q4_KDequantizesAsSpecified) {
    BlockQ4_K b[2];
    const uint16_t d[2] = {0x3c00, 0x3e00};     // 1.0, 1.5
    const uint16_t dmin[2] = {0x3800, 0x4000};  // 0.5, 2.0
    for (int i = 0; i < 2; ++i) {
        b[i].d = d[i];
        b[i].dmin = dmin[i];
        pack_by_hand(b[i].scales);
        for (int k = 0; k < 128; ++k) b[i].qs[k] = static_cast<uint8_t>(k * 37 + 11 * i + 5);
    }
    std::vector<float> y(512);
    ASSERT_TRUE(dequantize_row(DType::Q4_K, b, y.data(), 512));
    for (int e = 0; e < 512; ++e) {
        const int i = e / 256, k = e % 256;
        const int group = k / 64, within = k % 64, sub = k / 32;
        const uint8_t byte = b[i].qs[32 * group + within % 32];
        const int q = within < 32 ? byte & 15 : byte >> 4;
        const double want = f16_to_f32(d[i]) * kSc[sub] * q - f16_to_f32(dmin[i]) * kMn[sub];
        ASSERT_EQ(y[e], static_cast<float>(want)) << "element " << e;
    }
}

TEST(KQuant, Q5_KDequantizesAsSpecified) {
    BlockQ5_K b;
    b.d = 0x3c00;     // 1.0
    b.dmin = 0x3400;  // 0.25
    pack_by_hand(b.scales);
    for (int k = 0; k < 128; ++k) b.qs[k] = static_cast<uint8_t>(k * 53 + 7);
    for (int k = 0; k < 32; ++k) b.qh[k] = static_cast<uint8_t>(k * 29 + 3);
    std::vector<float> y(256);
    ASSERT_TRUE(dequantize_row(DType::Q5_K, &b, y.data(), 256));
    for (int k = 0; k < 256; ++k) {
        const int group = k / 64, within = k % 64, sub = k / 32, l = within % 32;
        const int low = within < 32 ? b.qs[32 * group + l] & 15 : b.qs[32 * group + l] >> 4;
        // Bit 2*group of qh[l] for the first 32 of a group, 2*group+1 for the rest.
        const int high = (b.qh[l] >> (2 * group + (within < 32 ? 0 : 1))) & 1;
        const int q = low + 16 * high;
        const double want = 1.0 * kSc[sub] * q - 0.25 * kMn[sub];
        ASSERT_EQ(y[k], static_cast<float>(want)) << "element " << k;
    }
}

TEST(KQuant, Q6_KDequantizesAsSpecified) {
    BlockQ6_K b;
    b.d = 0x3400;  // 0.25
    const int8_t sc[16] = {1, -2, 3, -4, 127, -128, 0, 9, -17, 33, 64, -65, 100, 5, -1, 77};
    std::memcpy(b.scales, sc, 16);
    for (int k = 0; k < 128; ++k) b.ql[k] = static_cast<uint8_t>(k * 41 + 9);
    for (int k = 0; k < 64; ++k) b.qh[k] = static_cast<uint8_t>(k * 23 + 101);
    std::vector<float> y(256);
    ASSERT_TRUE(dequantize_row(DType::Q6_K, &b, y.data(), 256));
    for (int k = 0; k < 256; ++k) {
        // Half h of 128; quarter r of 32 inside it; l the position in the quarter.
        const int h = k / 128, r = (k % 128) / 32, l = k % 32;
        const uint8_t lbyte = b.ql[64 * h + 32 * (r % 2) + l];
        const int low = r < 2 ? lbyte & 15 : lbyte >> 4;
        const int high = (b.qh[32 * h + l] >> (2 * r)) & 3;
        const int q = (low | (high << 4)) - 32;
        const double want = 0.25 * sc[k / 16] * q;
        ASSERT_EQ(y[k], static_cast<float>(want)) << "element " << k;
    }
}

TEST(KQuant, Q8_KBlock) {
    std::mt19937 rng(3);
    std::normal_distribution<float> nd(0.0f, 2.0f);
    std::vector<float> x(512), y(512);
    for (auto& v : x) v = nd(rng);
    BlockQ8_K b[2];
    ASSERT_TRUE(quantize_row(DType::Q8_K, x.data(), b, 512));
    ASSERT_TRUE(dequantize_row(DType::Q8_K, b, y.data(), 512));
    for (int i = 0; i < 2; ++i) {
        float amax = 0;
        for (int k = 0; k < 256; ++k) amax = std::max(amax, std::fabs(x[256 * i + k]));
        EXPECT_FLOAT_EQ(std::fabs(b[i].d), amax / 127.0f);
        for (int j = 0; j < 16; ++j) {
            int s = 0;
            for (int l = 0; l < 16; ++l) s += b[i].qs[16 * j + l];
            EXPECT_EQ(b[i].bsums[j], s);
        }
        for (int k = 0; k < 256; ++k) {
            EXPECT_EQ(y[256 * i + k], b[i].d * b[i].qs[k]);
            EXPECT_LE(std::fabs(y[256 * i + k] - x[256 * i + k]), amax / 127.0f * 0.5001f);
        }
    }
}

double rel_rmse(const std::vector<float>& x, const std::vector<float>& y) {
    double num = 0, den = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        num += (double(x[i]) - y[i]) * (double(x[i]) - y[i]);
        den += double(x[i]) * x[i];
    }
    return std::sqrt(num / den);
}

std::vector<float> round_trip(DType t, const std::vector<float>& x) {
    const int64_t n = static_cast<int64_t>(x.size());
    std::vector<uint8_t> buf(*row_bytes(t, static_cast<uint64_t>(n)));
    std::vector<float> y(x.size());
    EXPECT_TRUE(quantize_row(t, x.data(), buf.data(), n));
    EXPECT_TRUE(dequantize_row(t, buf.data(), y.data(), n));
    return y;
}

// Relative RMSE on Gaussian and on heavy-tailed (Laplace-like) weights, each
// type within its bound, more bits strictly better, Q4_K better than Q4_0
// (what its sub-block mins and scale search are for).
TEST(KQuant, QuantizationErrorBoundsAndOrdering) {
    std::mt19937 rng(11);
    std::normal_distribution<float> nd(0.0f, 0.02f);
    std::exponential_distribution<float> ex(50.0f);
    for (int dist = 0; dist < 2; ++dist) {
        std::vector<float> x(256 * 64);
        for (auto& v : x) v = dist == 0 ? nd(rng) : (rng() & 1 ? 1.f : -1.f) * ex(rng);
        const double e4 = rel_rmse(x, round_trip(DType::Q4_K, x));
        const double e5 = rel_rmse(x, round_trip(DType::Q5_K, x));
        const double e6 = rel_rmse(x, round_trip(DType::Q6_K, x));
        const double e40 = rel_rmse(x, round_trip(DType::Q4_0, x));
        SCOPED_TRACE(testing::Message() << "dist " << dist << " q4_k " << e4 << " q5_k " << e5
                                        << " q6_k " << e6 << " q4_0 " << e40);
        EXPECT_LT(e4, 0.095);
        EXPECT_LT(e5, 0.048);
        EXPECT_LT(e6, 0.025);
        EXPECT_LT(e6, e5);
        EXPECT_LT(e5, e4);
        EXPECT_LT(e4, e40);
    }
}

// Quantising the dequantised values again changes them by far less than the
// first quantisation did: the grid is (nearly) a fixed point.
TEST(KQuant, RoundTripIsStable) {
    std::mt19937 rng(12);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> x(256 * 16);
    for (auto& v : x) v = nd(rng);
    for (DType t : {DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
        const std::vector<float> y1 = round_trip(t, x);
        const std::vector<float> y2 = round_trip(t, y1);
        const double first = rel_rmse(x, y1), second = rel_rmse(y1, y2);
        EXPECT_LT(second, 0.05 * first)
            << dtype_name(t) << " first " << first << " second " << second;
    }
}

TEST(KQuant, DegenerateBlocks) {
    for (DType t : {DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q8_K}) {
        SCOPED_TRACE(dtype_name(t));
        std::vector<float> zeros(256, 0.0f);
        for (float v : round_trip(t, zeros)) EXPECT_EQ(v, 0.0f);
        // A constant block and one with a single spike stay finite and close.
        std::vector<float> c(256, 0.75f), spike(256, 0.0f);
        spike[77] = -3.0f;
        for (const auto* x : {&c, &spike}) {
            const std::vector<float> y = round_trip(t, *x);
            for (int k = 0; k < 256; ++k) {
                ASSERT_TRUE(std::isfinite(y[k]));
                EXPECT_NEAR(y[k], (*x)[k], 0.05) << k;
            }
        }
    }
    EXPECT_FALSE(quantize_row(DType::Q4_K, nullptr, nullptr, 255));
    EXPECT_FALSE(dequantize_row(DType::Q6_K, nullptr, nullptr, 32));
    EXPECT_TRUE(dtype_is_computable(DType::Q5_K));
    EXPECT_EQ(*row_bytes(DType::Q5_K, 512), 352u);
    EXPECT_EQ(*row_bytes(DType::Q8_K, 256), 292u);
}

}  // namespace
}  // namespace ig
