#pragma once
// CPU kernels with run-time dispatch. Each op has a scalar reference and
// vectorised versions (AVX2+FMA+F16C, AVX-512); `kernel_table()` returns the
// best one this CPU supports, `kernel_table(isa)` a specific one (tests
// compare every ISA with the scalar reference).
//
// Kernels take plain pointers and sizes, allocate nothing, and run on the
// calling thread; callers split work (rows) across a ThreadPool.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tensor/dtype.h"

namespace ig {

enum class Isa { Scalar, Avx2, Avx512 };

struct CpuFeatures {
    bool avx2 = false, fma = false, f16c = false;
    bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
    bool avx512vnni = false, avx512bf16 = false;
};

const CpuFeatures& cpu_features();  // detected by CPUID once
bool isa_supported(Isa isa);
Isa best_isa();  // honours IG_ISA=scalar|avx2|avx512 to force a lower one
std::string_view isa_name(Isa isa);

struct KernelTable {
    Isa isa;

    // Y[m * ldy + n] = sum_k W[n][k] * X[m * ldx + k]  for m in [0, M), n in [n0, n1).
    // W: rows of K elements of type wtype (F32, F16, BF16, Q8_0, Q4_0, Q4_K,
    // Q5_K, Q6_K), row n
    // starting at (const uint8_t*)W + n * w_stride. Each weight row is read
    // once for all M activation rows. K is a multiple of the type's block size
    // (256 for the K-quants).
    //
    // The vector ISAs compute each output as one fma chain over k in order
    // (kernel_impl.h), so Y[m][n] depends only on weight row n and X row m,
    // and AVX2 and AVX-512 give the same bits; the scalar reference sums in
    // double.
    void (*matmul)(DType wtype, const void* W, size_t w_stride, const float* X, int64_t ldx,
                   float* Y, int64_t ldy, int64_t M, int64_t K, int64_t n0, int64_t n1);
    // The same on float weights packed by pack_f_weights (F32, F16, BF16):
    // bit-identical to matmul on the original rows. n0 a multiple of
    // kPanelRows; rows [n0, n1) of Y are written, n1 <= the packed N.
    void (*matmul_f_packed)(DType wtype, const void* Wp, const float* X, int64_t ldx, float* Y,
                            int64_t ldy, int64_t M, int64_t K, int64_t n0, int64_t n1);

    // Integer path for quantized weights (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K; see
    // matmul_q8_supports). Activation rows are quantized once per call into
    // 8-bit blocks (layout in kernel_impl.h, q8_row_bytes(K) bytes per row),
    // then weight blocks are dotted with them in integers; only the per-block
    // scaling is float. Results differ from `matmul` by the activation
    // rounding (|x - x'| <= max|x of its 32-block| / 254 per element), like
    // llama.cpp's. Every ISA gives bit-identical results (the scalar kernel
    // defines them), and Y[m][n] depends only on weight row n and X row m.
    //
    // Xq[m * q8_row_bytes(K) ...] = quantized X[m * ldx ...], m in [0, M);
    // K a multiple of 32.
    void (*quantize_rows_q8)(const float* X, int64_t ldx, int64_t M, int64_t K, void* Xq);
    // Y[m * ldy + n] = sum_k W[n][k] * Xq[m][k]  for m in [0, M), n in [n0, n1).
    void (*matmul_q8)(DType wtype, const void* W, size_t w_stride, const void* Xq, float* Y,
                      int64_t ldy, int64_t M, int64_t K, int64_t n0, int64_t n1);
    // The same on weights packed by pack_q8_weights: bit-identical
    // to matmul_q8 on the original rows. n0 a multiple of kPanelRows; rows
    // [n0, n1) of Y are written, n1 <= the packed N.
    void (*matmul_q8_packed)(DType wtype, const void* Wp, const void* Xq, float* Y, int64_t ldy,
                             int64_t M, int64_t K, int64_t n0, int64_t n1);

    // y = x / sqrt(mean(x^2) + eps) * w   (y may alias x)
    void (*rmsnorm)(const float* x, const float* w, float* y, int64_t n, float eps);

    // Rotary embedding in place on n_heads heads of head_dim floats each (heads
    // contiguous). Only the first rot_dims dims of each head rotate; inv_freq
    // has rot_dims/2 entries (already scaled, e.g. Llama 3 rope scaling).
    // neox=false rotates adjacent pairs (x[2i], x[2i+1]) (GGUF llama);
    // neox=true rotates (x[i], x[i + rot_dims/2]) (qwen2).
    void (*rope)(float* x, int64_t n_heads, int64_t head_dim, int64_t rot_dims, int32_t pos,
                 const float* inv_freq, bool neox);

    // In place softmax over n floats; returns nothing. n >= 1.
    void (*softmax)(float* x, int64_t n);

    // out[i] = silu(gate[i]) * up[i]   (out may alias gate or up)
    void (*silu_mul)(const float* gate, const float* up, float* out, int64_t n);

    // y[i] += x[i]
    void (*add)(float* y, const float* x, int64_t n);

    // KV-cache helpers; kv_type is F32 or F16.
    // returns sum_i q[i] * k[i]
    float (*dot_kv)(const float* q, const void* k, DType kv_type, int64_t n);
    // y[i] += a * v[i]
    void (*axpy_kv)(float a, const void* v, DType kv_type, float* y, int64_t n);
    // dst[i] = (kv_type) x[i]
    void (*store_kv)(const float* x, void* dst, DType kv_type, int64_t n);

    // Y[m * ldy + n] = (accumulate ? Y[m * ldy + n] : 0) + sum_k X[m * ldx + k] * B[k * ldb + n]
    // for m in [0, M), n in [0, N): B row-major (K x N), not weight rows. Each
    // output is one fma chain over k in order, so every ISA gives the same
    // bits. For small products whose right side is not rows (attention:
    // queries x a chunk of keys transposed, probabilities x values): no
    // horizontal sums.
    void (*gemm_nn)(const float* X, int64_t ldx, const float* B, int64_t ldb, float* Y, int64_t ldy,
                    int64_t M, int64_t K, int64_t N, bool accumulate);

    // One chunk of an online softmax: *running_max = max(*running_max, x[0..n)),
    // then x[i] = exp(x[i] - *running_max) (x[i] = -inf gives exactly 0),
    // returning the sum of the new x. Vector ISAs use their own exp (within a
    // few ulp of the scalar one) and summation order.
    float (*online_softmax_chunk)(float* x, int64_t n, float* running_max);
};

// Bytes of one quantized activation row of K elements (K a multiple of 32).
size_t q8_row_bytes(int64_t K);
// Weight types matmul_q8 accepts.
bool matmul_q8_supports(DType wtype);

// Weights repacked at load: rows in panels of kPanelRows, each panel one
// contiguous stream (layouts in kernel_impl.h), the same size as the file's
// rows (the last panel padded with zero rows).
inline constexpr int64_t kPanelRows = 16;
// Panels holding N rows: ceil(N / kPanelRows).
int64_t panel_count(int64_t N);

// Float panels for matmul_f_packed: element k of the panel's 16 rows is 16
// consecutive values, so one vector load feeds 16 outputs.
bool f_packable(DType wtype);  // F32, F16, BF16
// Bytes of one packed panel of K columns (a multiple of 64).
size_t f_panel_bytes(DType wtype, int64_t K);
size_t f_packed_bytes(DType wtype, int64_t N, int64_t K);
// Packs panels [p0, p1) of the N rows of W (row n at W + n * w_stride) into
// out (panel p at p * f_panel_bytes); threads may split [0, panels).
void pack_f_weights(DType wtype, const void* W, size_t w_stride, int64_t N, int64_t K, int64_t p0,
                    int64_t p1, void* out);

// Integer panels for matmul_q8_packed, whose blocks interleave the rows 4
// bytes at a time, so that one vector op dots 16 rows with 4 activation bytes.
bool q8_packable(DType wtype);  // every matmul_q8 type
// Bytes of one packed panel of K columns (a multiple of 64).
size_t q8_panel_bytes(DType wtype, int64_t K);
size_t q8_packed_bytes(DType wtype, int64_t N, int64_t K);
// Packs panels [p0, p1) as pack_f_weights does (q8_packed_bytes in all).
void pack_q8_weights(DType wtype, const void* W, size_t w_stride, int64_t N, int64_t K, int64_t p0,
                     int64_t p1, void* out);

const KernelTable& kernel_table();         // best supported
const KernelTable& kernel_table(Isa isa);  // isa must be supported

}  // namespace ig
