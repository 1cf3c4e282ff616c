#pragma once
// Internal to src/kernels (and its tests): the per-ISA tables and the few
// plain helpers they share.
//
// The ISA files are compiled with -mavx2 / -mavx512*. Any function they define
// with inline or external linkage that baseline code also uses (a header
// inline, a template instance) could be the copy the linker keeps, and would
// then crash on an older CPU. So the ISA files keep everything in an anonymous
// namespace, use no header-defined helpers, and share only the functions
// declared here, which are defined in baseline files.
#include <cstdint>
#include <optional>
#include <string_view>

#include "kernels/kernels.h"

namespace ig::kernel_detail {

extern const KernelTable kScalarKernels;
extern const KernelTable kAvx2Kernels;
extern const KernelTable kAvx512Kernels;

// "scalar", "avx2" or "avx512" (any case); nullopt for anything else.
std::optional<Isa> parse_isa(std::string_view name);

// The ISA to run given the value of IG_ISA (null when unset) and the best one
// the CPU supports: the override can only lower it; unknown values are ignored.
Isa resolve_isa(const char* override_value, Isa best_supported);

// Rope angles for frequencies [i0, i0 + count): theta = (double)pos * inv_freq[i],
// cos/sin in double, rounded to float. Shared so that every ISA rotates by
// exactly the same numbers.
void rope_cos_sin(int32_t pos, const float* inv_freq, int64_t i0, int64_t count, float* cos_out,
                  float* sin_out);

// Frequencies per rope cos/sin table; tables live on the stack.
inline constexpr int64_t kRopeChunk = 128;

// float(1 / sqrt(sum_sq / n + eps)), in double; shared by every rmsnorm.
float rms_scale(double sum_sq, int64_t n, float eps);

// A kernel got a type it does not implement: a caller bug. Prints and aborts.
[[noreturn]] void unsupported_dtype(const char* op, DType t);

// The canonical float matmul (AVX2 and AVX-512 give the same bits; the scalar
// reference sums in double instead): per (weight row, X row) one float
// accumulator starting at +0, then acc = fma(x[k], w[k], acc) for k in order,
// w[k] the weight exactly as dequantize_row gives it. The vector kernels run
// it on 16-row panels, one vector per k for 16 outputs and the X value
// broadcast, so no horizontal sums are needed.
//
// Packed float weights (pack_f_weights; F32, F16, BF16 kept as they are): a
// panel holds element k of its 16 rows r at k * 16 + r (rows past N zero),
// padded to a multiple of 64 bytes.

// Quantized activation rows (matmul_q8). A row of K elements is cut into
// groups of 256 (8 blocks of 32; the last group may hold fewer blocks, its
// missing ones zero). Group g of a row starts at g * kQ8GroupBytes and holds
//   int8  qs[256]  at 0:   x ~= d[b] * qs[32b + i]
//   float d[8]     at 256: block scales, max|x| / 127
//   int32 sum[8]   at 288: sum of each block's qs (for the K-quants' mins)
// A group spans one K-quant super-block, so its 8 blocks line up with the
// super-block's 8 sub-blocks of 32.
inline constexpr int64_t kQ8Group = 256;
inline constexpr int64_t kQ8GroupBytes = 320;
inline constexpr int64_t kQ8DOffset = 256;
inline constexpr int64_t kQ8SumOffset = 288;

// The canonical integer matmul (every ISA reproduces it bit for bit).
//
// Q8_0, Q4_0: per (weight row, X row) one float accumulator starting at +0;
// block b (32 elements), in order, adds
//   acc = fma(dw[b] * dx[b], float(P), acc)
// where P is the exact integer sum over the block's 32 elements of w * q (w
// the weight's integer: q8, or nibble - 8; q the activation's) and dw[b] the
// weight block's d. The result is acc. (One rounding per block: the packed
// kernels dot 16 rows at once and keep one float op per 16 x 32 products.)
//
// Q4_K, Q5_K: one float accumulator starting at +0; sub-block b (32
// elements), in order, adds
//   acc = fma(d * dx[b], float(sc[b] * P), acc)
//   acc = fma(-(dmin * dx[b]), float(mn[b] * sum[b]), acc)
// where P is the exact integer sum of w * q (w = 0..15 / 0..31), sc[b] and
// mn[b] the sub-block's 6-bit scale and min, d and dmin the super-block's,
// and sum[b] the activation block's sum of q. (Both products are exact in
// float; the packed kernels serve 16 rows per op, as for Q4_0.)
//
// Q6_K: one float accumulator starting at +0; block b (32 elements), in
// order, adds
//   acc = fma(d * dx[b], float(s0 * S0 + s1 * S1), acc)
// where Sh is the exact integer sum over the block's half h (16 elements)
// of w * q (w = q6 - 32) and sh its int8 scale. (|s0 S0 + s1 S1| < 2^24:
// exact in float.)
//
// Packed Q8_0 / Q4_0 weights (pack_q8_weights). A panel holds 16 rows r of
// K elements (rows past N are zero) in q8_panel_bytes(t, K) bytes:
//   quants at 0: per block b, kPanelQuantBytes<type> (QB) bytes at b * QB
//     Q8_0 (512): byte 64s + 4r + i = (w[r][32b + 4s + i] + 128), s in 0..7
//     Q4_0 (256): byte 64s + 4r + i = qs[r][b][4s + i], s in 0..3: its low
//                 nibble is element 4s + i of the block, its high 16 + 4s + i
//   scales after the quants: per block, f16 d[16] (row r at 2r), 32 bytes
//   padding to a multiple of 64 bytes.
// So a 64-byte load is 16 rows x 4 consecutive elements.
//
// Packed Q4_K, Q5_K: per super-block (256 elements) one record of
// kPanelSuperBytesQ4_K / Q5_K bytes, records in order:
//   at 0:    per sub-block j, 256 bytes as Q4_0's quants (the low 4 bits)
//   at 2048: f16 d[16], at 2080: f16 dmin[16] (row r at 2r)
//   at 2112: uint8 sc[8][16], at 2240: uint8 mn[8][16] (sub-block j, row r)
//   Q5_K at 2368: per sub-block j, 64 bytes of fifth bits: line t's byte
//            position p (= 4r + i) has bit 2g (its low-nibble element) and
//            2g + 1 (its high-nibble one) of byte 16t + p % 16, g = p / 16
//
// Packed Q6_K: per super-block one record of kPanelSuperBytesQ6_K bytes:
//   at 0:    per block j, 256 bytes as Q4_0's quants: the low 4 bits of q6
//   at 2048: per block j, 128 bytes of high bits: line t's byte position p
//            (= 4r + i) has 4 bits, bits 0-1 the high bits of its low-nibble
//            element and bits 2-3 those of its high-nibble one, in byte
//            32t + p % 32, low nibble for p < 32, high nibble for p >= 32
//   at 3072: int8 scales, block j half h row r at 32j + 16h + r
//   at 3328: f16 d[16]; padding to 3392
// (Constants, not a helper function: see the linkage note at the top.)
inline constexpr int64_t kPanelQuantBytesQ8_0 = 512;
inline constexpr int64_t kPanelQuantBytesQ4_0 = 256;
inline constexpr int64_t kPanelScaleBytes = 32;
inline constexpr int64_t kPanelSuperBytesQ4_K = 2368;
inline constexpr int64_t kQ4KDOffset = 2048, kQ4KDminOffset = 2080, kQ4KScOffset = 2112,
                         kQ4KMnOffset = 2240;
inline constexpr int64_t kPanelSuperBytesQ5_K = 2880, kQ5KHighOffset = 2368;
inline constexpr int64_t kPanelSuperBytesQ6_K = 3392;
inline constexpr int64_t kQ6KHighOffset = 2048, kQ6KScOffset = 3072, kQ6KDOffset = 3328;

// Packs blocks [b0, b0 + nb) of `rows` (<= 16) GGUF rows (row r at
// W + r * w_stride) as one panel's blocks: nb * QB bytes of
// quants and nb * kPanelScaleBytes of scales (K-quants: b0, nb multiples of
// 8, the records into `quants`; `scales` unused). Also used by the vector kernels
// to pack unpacked rows on the fly (baseline code: plain byte moves).
void pack_q8_panel(DType t, const uint8_t* W, size_t w_stride, int64_t rows, int64_t b0, int64_t nb,
                   uint8_t* quants, uint8_t* scales);

// The integer kernels are also entered by the AVX-512 table (AVX-512 CPUs
// have AVX2); defined in kernels_q8_avx2.cpp, never called by baseline code.
void avx2_quantize_rows_q8(const float* X, int64_t ldx, int64_t M, int64_t K, void* Xq);
void avx2_matmul_q8(DType wtype, const void* W, size_t w_stride, const void* Xq, float* Y,
                    int64_t ldy, int64_t M, int64_t K, int64_t n0, int64_t n1);
void avx2_matmul_q8_packed(DType wtype, const void* Wp, const void* Xq, float* Y, int64_t ldy,
                           int64_t M, int64_t K, int64_t n0, int64_t n1);
// The same with AVX512-VNNI dot products (call only where the CPU has them).
void avx512vnni_matmul_q8(DType wtype, const void* W, size_t w_stride, const void* Xq, float* Y,
                          int64_t ldy, int64_t M, int64_t K, int64_t n0, int64_t n1);
void avx512vnni_matmul_q8_packed(DType wtype, const void* Wp, const void* Xq, float* Y, int64_t ldy,
                                 int64_t M, int64_t K, int64_t n0, int64_t n1);
void scalar_quantize_rows_q8(const float* X, int64_t ldx, int64_t M, int64_t K, void* Xq);
void scalar_matmul_q8(DType wtype, const void* W, size_t w_stride, const void* Xq, float* Y,
                      int64_t ldy, int64_t M, int64_t K, int64_t n0, int64_t n1);
void scalar_matmul_q8_packed(DType wtype, const void* Wp, const void* Xq, float* Y, int64_t ldy,
                             int64_t M, int64_t K, int64_t n0, int64_t n1);

}  // namespace ig::kernel_detail
