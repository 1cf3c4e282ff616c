// AVX512-VNNI integer matmul path (matmul_q8): the VNNI instance of
// kernels_q8_x86.inc (256-bit _mm256_dpbusd_epi32, AVX512-VL). Compiled with
// the -mavx512* flags; used by the AVX-512 table when the CPU has VNNI.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/kernel_impl.h"

namespace ig {
namespace {

#define IG_Q8_VNNI 1
#include "kernels/kernels_q8_x86.inc"
#undef IG_Q8_VNNI

}  // namespace

namespace kernel_detail {

void avx512vnni_matmul_q8(DType wtype, const void* W, size_t w_stride, const void* Xq, float* Y,
                          int64_t ldy, int64_t M, int64_t K, int64_t n0, int64_t n1) {
    matmul_q8_x86(wtype, W, w_stride, Xq, Y, ldy, M, K, n0, n1);
}

}  // namespace kernel_detail
}  // namespace ig
