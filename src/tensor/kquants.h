#pragma once
// K-quant rows (Q4_K, Q5_K, Q6_K) and the activation-side Q8_K: GGML's block
// layouts (see quantize.h) and its reference quantisation algorithms, written
// anew. n is a multiple of kQK_K. quantize_row/dequantize_row dispatch here.
#include <cstdint>

#include "tensor/quantize.h"

namespace ig {

void quantize_q4_k(const float* x, BlockQ4_K* y, int64_t n);
void quantize_q5_k(const float* x, BlockQ5_K* y, int64_t n);
void quantize_q6_k(const float* x, BlockQ6_K* y, int64_t n);
void quantize_q8_k(const float* x, BlockQ8_K* y, int64_t n);

void dequantize_q4_k(const BlockQ4_K* x, float* y, int64_t n);
void dequantize_q5_k(const BlockQ5_K* x, float* y, int64_t n);
void dequantize_q6_k(const BlockQ6_K* x, float* y, int64_t n);
void dequantize_q8_k(const BlockQ8_K* x, float* y, int64_t n);

}  // namespace ig
