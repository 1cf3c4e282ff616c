#include "tensor/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "tensor/half.h"
#include "tensor/kquants.h"

namespace ig {
namespace {

void quantize_q8_0(const float* x, BlockQ8_0* y, int64_t n) {
    for (int64_t b = 0; b < n / kQ8_0Block; ++b) {
        const float* xb = x + b * kQ8_0Block;
        float amax = 0.0f;
        for (int j = 0; j < kQ8_0Block; ++j) amax = std::max(amax, std::fabs(xb[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = f32_to_f16(d);
        for (int j = 0; j < kQ8_0Block; ++j)
            y[b].qs[j] = static_cast<int8_t>(std::nearbyint(xb[j] * id));
    }
}

void dequantize_q8_0(const BlockQ8_0* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / kQ8_0Block; ++b) {
        const float d = f16_to_f32(x[b].d);
        for (int j = 0; j < kQ8_0Block; ++j) y[b * kQ8_0Block + j] = d * x[b].qs[j];
    }
}

void quantize_q4_0(const float* x, BlockQ4_0* y, int64_t n) {
    for (int64_t b = 0; b < n / kQ4_0Block; ++b) {
        const float* xb = x + b * kQ4_0Block;
        // Scale from the signed value of largest magnitude so it maps to -8.
        float amax = 0.0f, vmax = 0.0f;
        for (int j = 0; j < kQ4_0Block; ++j) {
            if (std::fabs(xb[j]) > amax) {
                amax = std::fabs(xb[j]);
                vmax = xb[j];
            }
        }
        const float d = vmax / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = f32_to_f16(d);
        for (int j = 0; j < kQ4_0Block / 2; ++j) {
            const int q0 = std::min(15, static_cast<int>(xb[j] * id + 8.5f));
            const int q1 = std::min(15, static_cast<int>(xb[j + 16] * id + 8.5f));
            y[b].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
        }
    }
}

void dequantize_q4_0(const BlockQ4_0* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / kQ4_0Block; ++b) {
        const float d = f16_to_f32(x[b].d);
        for (int j = 0; j < kQ4_0Block / 2; ++j) {
            y[b * kQ4_0Block + j] = d * ((x[b].qs[j] & 0x0f) - 8);
            y[b * kQ4_0Block + j + 16] = d * ((x[b].qs[j] >> 4) - 8);
        }
    }
}

}  // namespace

bool quantize_row(DType t, const float* src, void* dst, int64_t n) {
    switch (t) {
        case DType::F32:
            std::memcpy(dst, src, static_cast<size_t>(n) * 4);
            return true;
        case DType::F16: {
            auto* d = static_cast<uint16_t*>(dst);
            for (int64_t i = 0; i < n; ++i) d[i] = f32_to_f16(src[i]);
            return true;
        }
        case DType::BF16: {
            auto* d = static_cast<uint16_t*>(dst);
            for (int64_t i = 0; i < n; ++i) d[i] = f32_to_bf16(src[i]);
            return true;
        }
        case DType::Q8_0:
            if (n % kQ8_0Block) return false;
            quantize_q8_0(src, static_cast<BlockQ8_0*>(dst), n);
            return true;
        case DType::Q4_0:
            if (n % kQ4_0Block) return false;
            quantize_q4_0(src, static_cast<BlockQ4_0*>(dst), n);
            return true;
        case DType::Q4_K:
            if (n % kQK_K) return false;
            quantize_q4_k(src, static_cast<BlockQ4_K*>(dst), n);
            return true;
        case DType::Q5_K:
            if (n % kQK_K) return false;
            quantize_q5_k(src, static_cast<BlockQ5_K*>(dst), n);
            return true;
        case DType::Q6_K:
            if (n % kQK_K) return false;
            quantize_q6_k(src, static_cast<BlockQ6_K*>(dst), n);
            return true;
        case DType::Q8_K:
            if (n % kQK_K) return false;
            quantize_q8_k(src, static_cast<BlockQ8_K*>(dst), n);
            return true;
        default:
            return false;
    }
}

bool dequantize_row(DType t, const void* src, float* dst, int64_t n) {
    switch (t) {
        case DType::F32:
            std::memcpy(dst, src, static_cast<size_t>(n) * 4);
            return true;
        case DType::F16: {
            const auto* s = static_cast<const uint16_t*>(src);
            for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(s[i]);
            return true;
        }
        case DType::BF16: {
            const auto* s = static_cast<const uint16_t*>(src);
            for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(s[i]);
            return true;
        }
        case DType::Q8_0:
            if (n % kQ8_0Block) return false;
            dequantize_q8_0(static_cast<const BlockQ8_0*>(src), dst, n);
            return true;
        case DType::Q4_0:
            if (n % kQ4_0Block) return false;
            dequantize_q4_0(static_cast<const BlockQ4_0*>(src), dst, n);
            return true;
        case DType::Q4_K:
            if (n % kQK_K) return false;
            dequantize_q4_k(static_cast<const BlockQ4_K*>(src), dst, n);
            return true;
        case DType::Q5_K:
            if (n % kQK_K) return false;
            dequantize_q5_k(static_cast<const BlockQ5_K*>(src), dst, n);
            return true;
        case DType::Q6_K:
            if (n % kQK_K) return false;
            dequantize_q6_k(static_cast<const BlockQ6_K*>(src), dst, n);
            return true;
        case DType::Q8_K:
            if (n % kQK_K) return false;
            dequantize_q8_k(static_cast<const BlockQ8_K*>(src), dst, n);
            return true;
        default:
            return false;
    }
}

}  // namespace ig
