// AVX2 integer matmul path (matmul_q8): the activation quantization and the
// AVX2 instance of kernels_q8_x86.inc. Compiled with -mavx2 -mfma -mf16c;
// everything but the two kernel_detail entry points stays in an anonymous
// namespace.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/kernel_impl.h"

namespace ig {
namespace {

#define IG_Q8_VNNI 0
#include "kernels/kernels_q8_x86.inc"
#undef IG_Q8_VNNI

inline int32_t hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
    return _mm_cvtsi128_si32(s);
}

// ---------------------------------------------------------------------------
// Activation quantization: per block of 32, d = max|x| / 127 and
// q = round-to-nearest-even(x * (1 / d)), as the scalar reference.

void quantize_rows(const float* X, int64_t ldx, int64_t M, int64_t K, void* Xq) {
    const size_t rb = q8_row_bytes(K);
    const int64_t blocks = K / 32;
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int64_t m = 0; m < M; ++m) {
        auto* out = static_cast<uint8_t*>(Xq) + static_cast<size_t>(m) * rb;
        // Blocks past K in the last group read as zero.
        if (blocks % kBlocks != 0) std::memset(out + rb - kQ8GroupBytes, 0, kQ8GroupBytes);
        for (int64_t bi = 0; bi < blocks; ++bi) {
            uint8_t* grp = out + (bi / kBlocks) * kQ8GroupBytes;
            const int64_t b = bi % kBlocks;
            const float* x = X + m * ldx + bi * 32;
            __m256 v[4];
            for (int i = 0; i < 4; ++i) v[i] = _mm256_loadu_ps(x + 8 * i);
            __m256 mx = _mm256_max_ps(_mm256_and_ps(v[0], abs_mask), _mm256_and_ps(v[1], abs_mask));
            mx = _mm256_max_ps(
                mx, _mm256_max_ps(_mm256_and_ps(v[2], abs_mask), _mm256_and_ps(v[3], abs_mask)));
            __m128 s = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
            s = _mm_max_ps(s, _mm_movehl_ps(s, s));
            s = _mm_max_ss(s, _mm_movehdup_ps(s));
            const float amax = _mm_cvtss_f32(s);
            const float d = amax / 127.0f;
            const float id = d != 0.0f ? 1.0f / d : 0.0f;
            const __m256 vid = _mm256_set1_ps(id);
            __m256i q[4];
            for (int i = 0; i < 4; ++i) q[i] = _mm256_cvtps_epi32(_mm256_mul_ps(v[i], vid));
            const int32_t sum = hsum_i32(
                _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
            const __m256i p16a = _mm256_packs_epi32(q[0], q[1]);
            const __m256i p16b = _mm256_packs_epi32(q[2], q[3]);
            const __m256i p8 = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p16a, p16b), perm);
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(grp + 32 * b), p8);
            std::memcpy(grp + kQ8DOffset + 4 * b, &d, 4);
            std::memcpy(grp + kQ8SumOffset + 4 * b, &sum, 4);
        }
    }
}

}  // namespace

namespace kernel_detail {

void avx2_quantize_rows_q8(const float* X, int64_t ldx, int64_t M, int64_t K, void* Xq) {
    quantize_rows(X, ldx, M, K, Xq);
}

void avx2_matmul_q8(DType wtype, const void* W, size_t w_stride, const void* Xq, float* Y,
                    int64_t ldy, int64_t M, int64_t K, int64_t n0, int64_t n1) {
    matmul_q8_x86(wtype, W, w_stride, Xq, Y, ldy, M, K, n0, n1);
}

void avx2_matmul_q8_packed(DType wtype, const void* Wp, const void* Xq, float* Y, int64_t ldy,
                           int64_t M, int64_t K, int64_t n0, int64_t n1) {
    matmul_q8_packed_x86(wtype, Wp, Xq, Y, ldy, M, K, n0, n1);
}

}  // namespace kernel_detail
}  // namespace ig
