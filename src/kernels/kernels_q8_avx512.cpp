// AVX512-VNNI integer matmul path (matmul_q8): the VNNI instance of
// kernels_q8_x86.inc (zmm dpbusd on panels, 256-bit for the K-quants). Compiled with
// the -mavx512* flags; used by the AVX-512 table when the CPU has VNNI.
#include <cstdint>
#include <cstring>

#include "kernels/immintrin_avx512.h"
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

void avx512vnni_matmul_q8_packed(DType wtype, const void* Wp, const void* Xq, float* Y, int64_t ldy,
                                 int64_t M, int64_t K, int64_t n0, int64_t n1) {
    matmul_q8_packed_x86(wtype, Wp, Xq, Y, ldy, M, K, n0, n1);
}

}  // namespace kernel_detail
}  // namespace ig
