#pragma once
// Row conversion between float and every computable storage type, bit-exact
// with the GGUF block layouts (Q8_0: f16 scale + 32 int8; Q4_0: f16 scale +
// 16 bytes of nibbles, low nibbles are elements 0..15, high 16..31).
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

// n must be a multiple of the type's block size; dst holds row_bytes(t, n).
// Returns false for a type that cannot be converted.
bool quantize_row(DType t, const float* src, void* dst, int64_t n);
bool dequantize_row(DType t, const void* src, float* dst, int64_t n);

}  // namespace ig
