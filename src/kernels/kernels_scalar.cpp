// Scalar reference kernels: portable, and as accurate as is cheap (sums in
// double). The vector kernels are tested against these.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "kernels/kernel_impl.h"
#include "tensor/half.h"
#include "tensor/quantize.h"

namespace ig {

namespace kernel_detail {

void rope_cos_sin(int32_t pos, const float* inv_freq, int64_t i0, int64_t count, float* cos_out,
                  float* sin_out) {
    for (int64_t i = 0; i < count; ++i) {
        // The angle grows to ~1e5 rad for long contexts: a float product would
        // already be off by ~1e-2 rad.
        const double theta = static_cast<double>(pos) * static_cast<double>(inv_freq[i0 + i]);
        cos_out[i] = static_cast<float>(std::cos(theta));
        sin_out[i] = static_cast<float>(std::sin(theta));
    }
}

float rms_scale(double sum_sq, int64_t n, float eps) {
    return static_cast<float>(1.0 / std::sqrt(sum_sq / static_cast<double>(n) + eps));
}

void unsupported_dtype(const char* op, DType t) {
    std::fprintf(stderr, "infergrid: kernel %s does not support type %s\n", op,
                 std::string(dtype_name(t)).c_str());
    std::abort();
}

}  // namespace kernel_detail

namespace {

using kernel_detail::kRopeChunk;

// Weight elements dequantized at a time: a multiple of every block size (256
// for the K-quants), and
// small enough to stay in L1 while all X rows of a tile use it.
constexpr int64_t kChunk = 256;
// X rows sharing one pass over a weight row.
constexpr int64_t kRows = 4;

// Byte offset of element k (a multiple of the block size) in a row of type t.
size_t elem_offset(DType t, int64_t k) {
    switch (t) {
        case DType::F32:
            return static_cast<size_t>(k) * 4;
        case DType::F16:
        case DType::BF16:
            return static_cast<size_t>(k) * 2;
        case DType::Q8_0:
            return static_cast<size_t>(k / kQ8_0Block) * sizeof(BlockQ8_0);
        case DType::Q4_0:
            return static_cast<size_t>(k / kQ4_0Block) * sizeof(BlockQ4_0);
        case DType::Q4_K:
            return static_cast<size_t>(k / kQK_K) * sizeof(BlockQ4_K);
        case DType::Q5_K:
            return static_cast<size_t>(k / kQK_K) * sizeof(BlockQ5_K);
        case DType::Q6_K:
            return static_cast<size_t>(k / kQK_K) * sizeof(BlockQ6_K);
        default:
            kernel_detail::unsupported_dtype("matmul", t);
    }
}

void matmul(DType wtype, const void* W, size_t w_stride, const float* X, int64_t ldx, float* Y,
            int64_t ldy, int64_t M, int64_t K, int64_t n0, int64_t n1) {
    elem_offset(wtype, 0);  // rejects unsupported types up front
    float buf[kChunk];
    for (int64_t n = n0; n < n1; ++n) {
        const auto* row = static_cast<const uint8_t*>(W) + static_cast<size_t>(n) * w_stride;
        for (int64_t m0 = 0; m0 < M; m0 += kRows) {
            const int64_t mr = std::min(kRows, M - m0);
            double acc[kRows] = {};
            // The row is re-dequantized per tile of X rows; it stays in cache,
            // so memory still sees it once.
            for (int64_t k0 = 0; k0 < K; k0 += kChunk) {
                const int64_t kc = std::min(kChunk, K - k0);
                dequantize_row(wtype, row + elem_offset(wtype, k0), buf, kc);
                for (int64_t j = 0; j < mr; ++j) {
                    const float* x = X + (m0 + j) * ldx + k0;
                    double s = 0.0;
                    for (int64_t k = 0; k < kc; ++k) s += static_cast<double>(buf[k]) * x[k];
                    acc[j] += s;
                }
            }
            for (int64_t j = 0; j < mr; ++j) Y[(m0 + j) * ldy + n] = static_cast<float>(acc[j]);
        }
    }
}

// Sums as matmul does (chunks of kChunk in double), so the bits match it.
void matmul_f_packed(DType wtype, const void* Wp, const float* X, int64_t ldx, float* Y,
                     int64_t ldy, int64_t M, int64_t K, int64_t n0, int64_t n1) {
    if (!f_packable(wtype)) kernel_detail::unsupported_dtype("matmul_f_packed", wtype);
    const size_t pb = f_panel_bytes(wtype, K);
    const auto weight = [&](const uint8_t* panel, int64_t k, int64_t r) {
        const size_t i = static_cast<size_t>(k * kPanelRows + r);
        float w;
        if (wtype == DType::F32) {
            std::memcpy(&w, panel + 4 * i, 4);
        } else {
            uint16_t h;
            std::memcpy(&h, panel + 2 * i, 2);
            w = wtype == DType::F16 ? f16_to_f32(h) : bf16_to_f32(h);
        }
        return w;
    };
    for (int64_t n = n0; n < n1; ++n) {
        const auto* panel =
            static_cast<const uint8_t*>(Wp) + static_cast<size_t>(n / kPanelRows) * pb;
        for (int64_t m = 0; m < M; ++m) {
            const float* x = X + m * ldx;
            double acc = 0.0;
            for (int64_t k0 = 0; k0 < K; k0 += kChunk) {
                double s = 0.0;
                for (int64_t k = k0; k < std::min(K, k0 + kChunk); ++k)
                    s += static_cast<double>(weight(panel, k, n % kPanelRows)) * x[k];
                acc += s;
            }
            Y[m * ldy + n] = static_cast<float>(acc);
        }
    }
}

void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps) {
    double ss = 0.0;
    for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
    const float scale = kernel_detail::rms_scale(ss, n, eps);
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] * scale) * w[i];
}

void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t rot_dims, int32_t pos,
          const float* inv_freq, bool neox) {
    const int64_t half = rot_dims / 2;
    float c[kRopeChunk], s[kRopeChunk];
    for (int64_t i0 = 0; i0 < half; i0 += kRopeChunk) {
        const int64_t cnt = std::min(kRopeChunk, half - i0);
        kernel_detail::rope_cos_sin(pos, inv_freq, i0, cnt, c, s);
        for (int64_t h = 0; h < n_heads; ++h) {
            float* xh = x + h * head_dim;
            for (int64_t i = 0; i < cnt; ++i) {
                const int64_t a = neox ? i0 + i : 2 * (i0 + i);
                const int64_t b = neox ? a + half : a + 1;
                const float x0 = xh[a], x1 = xh[b];
                xh[a] = x0 * c[i] - x1 * s[i];
                xh[b] = x0 * s[i] + x1 * c[i];
            }
        }
    }
}

void softmax(float* x, int64_t n) {
    float mx = x[0];
    for (int64_t i = 1; i < n; ++i) mx = std::max(mx, x[i]);
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        const double e = std::exp(static_cast<double>(x[i] - mx));
        x[i] = static_cast<float>(e);
        sum += e;
    }
    const double inv = 1.0 / sum;
    for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(x[i] * inv);
}

void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const double g = gate[i];
        out[i] = static_cast<float>(g / (1.0 + std::exp(-g)) * up[i]);
    }
}

void add(float* y, const float* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

float online_softmax_chunk(float* x, int64_t n, float* running_max) {
    float mx = *running_max;
    for (int64_t i = 0; i < n; ++i) mx = std::max(mx, x[i]);
    *running_max = mx;
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
        x[i] = x[i] == -std::numeric_limits<float>::infinity() ? 0.0f : std::exp(x[i] - mx);
        sum += x[i];
    }
    return sum;
}

void gemm_nn(const float* X, int64_t ldx, const float* B, int64_t ldb, float* Y, int64_t ldy,
             int64_t M, int64_t K, int64_t N, bool accumulate) {
    for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
            float acc = accumulate ? Y[m * ldy + n] : 0.0f;
            for (int64_t k = 0; k < K; ++k) acc = std::fma(X[m * ldx + k], B[k * ldb + n], acc);
            Y[m * ldy + n] = acc;
        }
}

float dot_kv(const float* q, const void* k, DType kv_type, int64_t n) {
    double s = 0.0;
    if (kv_type == DType::F32) {
        const auto* kf = static_cast<const float*>(k);
        for (int64_t i = 0; i < n; ++i) s += static_cast<double>(q[i]) * kf[i];
    } else if (kv_type == DType::F16) {
        const auto* kh = static_cast<const uint16_t*>(k);
        for (int64_t i = 0; i < n; ++i) s += static_cast<double>(q[i]) * f16_to_f32(kh[i]);
    } else {
        kernel_detail::unsupported_dtype("dot_kv", kv_type);
    }
    return static_cast<float>(s);
}

void axpy_kv(float a, const void* v, DType kv_type, float* y, int64_t n) {
    // a * v is exact in double, so each result is rounded once, as by an FMA.
    if (kv_type == DType::F32) {
        const auto* vf = static_cast<const float*>(v);
        for (int64_t i = 0; i < n; ++i)
            y[i] = static_cast<float>(y[i] + static_cast<double>(a) * vf[i]);
    } else if (kv_type == DType::F16) {
        const auto* vh = static_cast<const uint16_t*>(v);
        for (int64_t i = 0; i < n; ++i)
            y[i] = static_cast<float>(y[i] + static_cast<double>(a) * f16_to_f32(vh[i]));
    } else {
        kernel_detail::unsupported_dtype("axpy_kv", kv_type);
    }
}

void store_kv(const float* x, void* dst, DType kv_type, int64_t n) {
    if (kv_type == DType::F32) {
        std::memcpy(dst, x, static_cast<size_t>(n) * sizeof(float));
    } else if (kv_type == DType::F16) {
        auto* d = static_cast<uint16_t*>(dst);
        for (int64_t i = 0; i < n; ++i) d[i] = f32_to_f16(x[i]);
    } else {
        kernel_detail::unsupported_dtype("store_kv", kv_type);
    }
}

}  // namespace

namespace kernel_detail {
constinit const KernelTable kScalarKernels = {
    Isa::Scalar,
    matmul,
    matmul_f_packed,
    scalar_quantize_rows_q8,
    scalar_matmul_q8,
    scalar_matmul_q8_packed,
    rmsnorm,
    rope,
    softmax,
    silu_mul,
    add,
    dot_kv,
    axpy_kv,
    store_kv,
    gemm_nn,
    online_softmax_chunk,
};
}  // namespace kernel_detail

}  // namespace ig
