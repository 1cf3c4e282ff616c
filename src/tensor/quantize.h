#pragma once
// Row conversion between float and every computable storage type, bit-exact
// with the GGUF block layouts (Q8_0: f16 scale + 32 int8; Q4_0: f16 scale +
// 16 bytes of nibbles, low nibbles are elements 0..15, high 16..31; the
// K-quants below).
#include <cstddef>
#include <cstdint>

#include "tensor/dtype.h"

namespace ig {

inline constexpr int kQ8_0Block = 32;
inline constexpr int kQ4_0Block = 32;

struct BlockQ8_0 {
    uint16_t d;  // f16 scale
    int8_t qs[32];
};
static_assert(sizeof(BlockQ8_0) == 34);

struct BlockQ4_0 {
    uint16_t d;  // f16 scale
    uint8_t qs[16];
};
static_assert(sizeof(BlockQ4_0) == 18);

// K-quants: super-blocks of 256 elements (GGML's QK_K).
inline constexpr int kQK_K = 256;

// 8 sub-blocks of 32, each with a 6-bit scale and a 6-bit min (see
// kquant_scale_min): x = d * scale_j * q - dmin * min_j, q in 0..15. qs holds
// 4 groups of 64 elements: byte l of group g is element 64g + l (low nibble)
// and 64g + 32 + l (high nibble).
struct BlockQ4_K {
    uint16_t d;     // f16 scale of the scales
    uint16_t dmin;  // f16 scale of the mins
    uint8_t scales[12];
    uint8_t qs[128];
};
static_assert(sizeof(BlockQ4_K) == 144);

// As Q4_K with a fifth bit per element: bit 2g of qh[l] is the high bit of
// element 64g + l, bit 2g + 1 that of 64g + 32 + l; q in 0..31.
struct BlockQ5_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[12];
    uint8_t qh[32];
    uint8_t qs[128];
};
static_assert(sizeof(BlockQ5_K) == 176);

// 16 sub-blocks of 16 with int8 scales: x = d * scale_j * (q - 32), q in
// 0..63. Two halves of 128 elements; in half h (ql + 64h, qh + 32h), for
// l < 32: element 128h + l = low nibble of ql[l] | (qh[l] bits 0-1) << 4,
// + 32 + l: low nibble of ql[32 + l] | bits 2-3, + 64 + l: high nibble of
// ql[l] | bits 4-5, + 96 + l: high nibble of ql[32 + l] | bits 6-7.
struct BlockQ6_K {
    uint8_t ql[128];
    uint8_t qh[64];
    int8_t scales[16];
    uint16_t d;
};
static_assert(sizeof(BlockQ6_K) == 210);

// Activation-side 8-bit blocks: x = d * qs; bsums[j] = sum of qs[16j..16j+15].
struct BlockQ8_K {
    float d;
    int8_t qs[256];
    int16_t bsums[16];
};
static_assert(sizeof(BlockQ8_K) == 292);

// Scale and min of sub-block j (0..7) from Q4_K/Q5_K's 12 packed bytes:
// j < 4: low 6 bits of bytes j and j + 4; j >= 4: low/high nibble of byte
// j + 4 with the top 2 bits of bytes j - 4 / j as bits 4-5.
inline void kquant_scale_min(int j, const uint8_t* q, uint8_t* sc, uint8_t* mn) {
    if (j < 4) {
        *sc = q[j] & 63;
        *mn = q[j + 4] & 63;
    } else {
        *sc = static_cast<uint8_t>((q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4));
        *mn = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

// n must be a multiple of the type's block size; dst holds row_bytes(t, n).
// Returns false for a type that cannot be converted.
bool quantize_row(DType t, const float* src, void* dst, int64_t n);
bool dequantize_row(DType t, const void* src, float* dst, int64_t n);

}  // namespace ig
