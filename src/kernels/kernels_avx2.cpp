// AVX2 + FMA + F16C kernels (Haswell, Zen 1 and later). Compiled with
// -mavx2 -mfma -mf16c and entered only after cpu_features() says so; all code
// stays in an anonymous namespace (see kernel_impl.h for why).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/kernel_impl.h"

namespace ig {
namespace {

using kernel_detail::kRopeChunk;

inline int64_t min_i64(int64_t a, int64_t b) {
    return a < b ? a : b;
}

// Lanes [0, len) set; len <= 0 gives none, len >= 8 all.
inline __m256i lane_mask(int64_t len) {
    const int32_t l = len <= 0 ? 0 : len >= 8 ? 8 : static_cast<int32_t>(len);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(l), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

inline double hsum(__m256d v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
}

inline float hmax(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Widens v to double and adds it (or its squares) to two accumulators: sums
// of many positive terms keep full float precision this way.
inline void add_wide(__m256 v, __m256d& a0, __m256d& a1) {
    a0 = _mm256_add_pd(a0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    a1 = _mm256_add_pd(a1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}
inline void add_squares_wide(__m256 v, __m256d& a0, __m256d& a1) {
    const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    const __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    a0 = _mm256_fmadd_pd(lo, lo, a0);
    a1 = _mm256_fmadd_pd(hi, hi, a1);
}

// 8 halves at p; the partial form reads only the first n and zero-fills.
inline __m256 load_f16(const void* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(static_cast<const __m128i*>(p)));
}
inline __m256 load_f16_partial(const uint16_t* p, int64_t n) {
    alignas(16) uint16_t t[8] = {};
    std::memcpy(t, p, static_cast<size_t>(n) * 2);
    return load_f16(t);
}

// expf to ~1 ulp: exp(x) = 2^n * e^r with n = round(x / ln2), |r| <= ln2 / 2,
// a Cody-Waite split of ln2 and Cephes' degree-6 polynomial. 2^n is applied
// as two factors so that subnormal results and overflow to +inf come out as
// in expf. NaN propagates (max/min return their second operand on NaN).
inline __m256 exp_ps(__m256 x) {
    x = _mm256_min_ps(_mm256_set1_ps(89.0f), _mm256_max_ps(_mm256_set1_ps(-104.0f), x));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    const __m256 y =
        _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    const __m256i ni = _mm256_cvtps_epi32(n);  // in [-150, 128]
    const __m256i h1 = _mm256_srai_epi32(ni, 1);
    const __m256i h2 = _mm256_sub_epi32(ni, h1);
    const __m256i bias = _mm256_set1_epi32(127);
    const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(h1, bias), 23));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(h2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(y, s1), s2);
}

// ---------------------------------------------------------------------------
// matmul
//
// Weights<T>::block converts 32 consecutive weights (one quant block, or 32
// plain elements) into four vectors of 8 floats, bit-identical to
// dequantize_row. Plain types may end in a partial block (K % 32 != 0).

constexpr int64_t kBlock = 32;

template <DType T>
struct Weights;

template <>
struct Weights<DType::F32> {
    static constexpr bool kPlain = true;
    static constexpr int64_t kBlockBytes = kBlock * 4;
    static void block(const uint8_t* p, __m256 w[4]) {
        const auto* f = reinterpret_cast<const float*>(p);
        for (int j = 0; j < 4; ++j) w[j] = _mm256_loadu_ps(f + 8 * j);
    }
    static void partial(const uint8_t* p, int64_t n, __m256 w[4]) {
        const auto* f = reinterpret_cast<const float*>(p);
        for (int j = 0; j < 4; ++j)
            w[j] = n > 8 * j ? _mm256_maskload_ps(f + 8 * j, lane_mask(n - 8 * j))
                             : _mm256_setzero_ps();
    }
};

template <>
struct Weights<DType::F16> {
    static constexpr bool kPlain = true;
    static constexpr int64_t kBlockBytes = kBlock * 2;
    static void block(const uint8_t* p, __m256 w[4]) {
        for (int j = 0; j < 4; ++j) w[j] = load_f16(p + 16 * j);
    }
    static void partial(const uint8_t* p, int64_t n, __m256 w[4]) {
        alignas(32) uint8_t t[kBlockBytes] = {};
        std::memcpy(t, p, static_cast<size_t>(n) * 2);
        block(t, w);
    }
};

template <>
struct Weights<DType::BF16> {
    static constexpr bool kPlain = true;
    static constexpr int64_t kBlockBytes = kBlock * 2;
    static void block(const uint8_t* p, __m256 w[4]) {
        // bf16 is the top half of a float.
        for (int j = 0; j < 4; ++j) {
            const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * j));
            w[j] = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
        }
    }
    static void partial(const uint8_t* p, int64_t n, __m256 w[4]) {
        alignas(32) uint8_t t[kBlockBytes] = {};
        std::memcpy(t, p, static_cast<size_t>(n) * 2);
        block(t, w);
    }
};

inline __m256 block_scale(const uint8_t* p) {
    uint16_t d;
    std::memcpy(&d, p, 2);
    return _mm256_set1_ps(_cvtsh_ss(d));
}

template <>
struct Weights<DType::Q8_0> {
    static constexpr bool kPlain = false;
    static constexpr int64_t kBlockBytes = 34;
    // The integer values as floats; the caller applies the returned scale.
    static __m256 block_unscaled(const uint8_t* p, __m256 w[4]) {
        for (int j = 0; j < 4; ++j) {
            const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 2 + 8 * j));
            w[j] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q));
        }
        return block_scale(p);
    }
    static void block(const uint8_t* p, __m256 w[4]) {
        const __m256 d = block_unscaled(p, w);
        for (int j = 0; j < 4; ++j) w[j] = _mm256_mul_ps(w[j], d);
    }
    static void partial(const uint8_t*, int64_t, __m256*) {}
};

template <>
struct Weights<DType::Q4_0> {
    static constexpr bool kPlain = false;
    static constexpr int64_t kBlockBytes = 18;
    // The integer values (nibble - 8) as floats; the caller applies the
    // returned scale. Low nibbles are elements 0..15, high nibbles 16..31.
    static __m256 block_unscaled(const uint8_t* p, __m256 w[4]) {
        const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2));
        const __m256i b0 = _mm256_cvtepu8_epi32(q);                     // bytes 0..7
        const __m256i b1 = _mm256_cvtepu8_epi32(_mm_srli_si128(q, 8));  // bytes 8..15
        const __m256i m4 = _mm256_set1_epi32(0x0f), e8 = _mm256_set1_epi32(8);
        const __m256i parts[4] = {_mm256_and_si256(b0, m4), _mm256_and_si256(b1, m4),
                                  _mm256_srli_epi32(b0, 4), _mm256_srli_epi32(b1, 4)};
        for (int j = 0; j < 4; ++j) w[j] = _mm256_cvtepi32_ps(_mm256_sub_epi32(parts[j], e8));
        return block_scale(p);
    }
    static void block(const uint8_t* p, __m256 w[4]) {
        const __m256 d = block_unscaled(p, w);
        for (int j = 0; j < 4; ++j) w[j] = _mm256_mul_ps(w[j], d);
    }
    static void partial(const uint8_t*, int64_t, __m256*) {}
};

// One quant block against RM X rows: sum(q * x) per row, then one FMA by the
// block scale into accumulator S. d * (q . x) is as accurate as (d * q) . x
// and saves three multiplies per block.
template <class Wt, int RM, int A, int S>
inline void quant_block(const uint8_t* wb, const float* x, int64_t ldx, __m256 (&acc)[RM][A]) {
    __m256 wv[4];
    const __m256 d = Wt::block_unscaled(wb, wv);
    for (int m = 0; m < RM; ++m) {
        const float* xm = x + m * ldx;
        __m256 t0 = _mm256_mul_ps(wv[0], _mm256_loadu_ps(xm));
        __m256 t1 = _mm256_mul_ps(wv[1], _mm256_loadu_ps(xm + 8));
        t0 = _mm256_fmadd_ps(wv[2], _mm256_loadu_ps(xm + 16), t0);
        t1 = _mm256_fmadd_ps(wv[3], _mm256_loadu_ps(xm + 24), t1);
        acc[m][S] = _mm256_fmadd_ps(d, _mm256_add_ps(t0, t1), acc[m][S]);
    }
}

// Decode path (M <= 4): one weight row against RM X rows, each block converted
// once in registers, so the row streams from memory exactly once.
template <DType T, int RM>
void dot_row(const uint8_t* w, const float* X, int64_t ldx, int64_t K, float* out) {
    using Wt = Weights<T>;
    constexpr int A = RM == 1 ? 4 : 2;  // independent FMA chains per X row
    __m256 acc[RM][A];
    for (int m = 0; m < RM; ++m)
        for (int a = 0; a < A; ++a) acc[m][a] = _mm256_setzero_ps();
    const int64_t nb = K / kBlock;
    __m256 wv[4];
    if constexpr (Wt::kPlain) {
        for (int64_t b = 0; b < nb; ++b) {
            Wt::block(w + b * Wt::kBlockBytes, wv);
            const float* x = X + b * kBlock;
            for (int m = 0; m < RM; ++m)
                for (int j = 0; j < 4; ++j)
                    acc[m][j % A] =
                        _mm256_fmadd_ps(wv[j], _mm256_loadu_ps(x + m * ldx + 8 * j), acc[m][j % A]);
        }
    } else {
        int64_t b = 0;
        for (; b + 2 <= nb; b += 2) {
            quant_block<Wt, RM, A, 0>(w + b * Wt::kBlockBytes, X + b * kBlock, ldx, acc);
            quant_block<Wt, RM, A, 1>(w + (b + 1) * Wt::kBlockBytes, X + (b + 1) * kBlock, ldx,
                                      acc);
        }
        if (b < nb) quant_block<Wt, RM, A, 0>(w + b * Wt::kBlockBytes, X + b * kBlock, ldx, acc);
    }
    if constexpr (Wt::kPlain) {
        const int64_t rem = K - nb * kBlock;
        if (rem > 0) {
            Wt::partial(w + nb * Wt::kBlockBytes, rem, wv);
            const float* x = X + nb * kBlock;
            for (int m = 0; m < RM; ++m)
                for (int j = 0; j < 4; ++j)
                    if (rem > 8 * j) {
                        const __m256 xv =
                            _mm256_maskload_ps(x + m * ldx + 8 * j, lane_mask(rem - 8 * j));
                        acc[m][j % A] = _mm256_fmadd_ps(wv[j], xv, acc[m][j % A]);
                    }
        }
    }
    for (int m = 0; m < RM; ++m) {
        __m256 s = acc[m][0];
        for (int a = 1; a < A; ++a) s = _mm256_add_ps(s, acc[m][a]);
        out[m] = hsum(s);
    }
}

// Prefill path (M > 4): kTileN weight rows have a kTileK chunk converted into
// an L1 buffer once, then every tile of kTileM X rows runs over it. Partial
// sums per chunk go to Y. The rows still come from memory once per call; X is
// re-read once per kTileN rows instead of once per row.
constexpr int kTileN = 4;
constexpr int kTileM = 2;  // kTileN * kTileM = 8 accumulators hide FMA latency
constexpr int64_t kTileK = 512;

// Converts elements [k0, k0 + kc) of a row into out, zero-padded to a
// multiple of 32 (k0 is a multiple of kTileK).
template <DType T>
void convert_chunk(const uint8_t* row, int64_t k0, int64_t kc, float* out) {
    using Wt = Weights<T>;
    const uint8_t* p = row + (k0 / kBlock) * Wt::kBlockBytes;
    const int64_t nb = kc / kBlock;
    __m256 wv[4];
    for (int64_t b = 0; b < nb; ++b) {
        Wt::block(p + b * Wt::kBlockBytes, wv);
        for (int j = 0; j < 4; ++j) _mm256_store_ps(out + b * kBlock + 8 * j, wv[j]);
    }
    if constexpr (Wt::kPlain) {
        if (kc > nb * kBlock) {
            Wt::partial(p + nb * Wt::kBlockBytes, kc - nb * kBlock, wv);
            for (int j = 0; j < 4; ++j) _mm256_store_ps(out + nb * kBlock + 8 * j, wv[j]);
        }
    }
}

template <int NR, int MR>
void tile(const float* buf, const float* x, int64_t ldx, int64_t kc, float* y, int64_t ldy,
          bool first) {
    __m256 acc[NR][MR];
    for (int i = 0; i < NR; ++i)
        for (int j = 0; j < MR; ++j) acc[i][j] = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 8 <= kc; k += 8) {
        __m256 xv[MR];
        for (int j = 0; j < MR; ++j) xv[j] = _mm256_loadu_ps(x + j * ldx + k);
        for (int i = 0; i < NR; ++i) {
            const __m256 wv = _mm256_load_ps(buf + i * kTileK + k);
            for (int j = 0; j < MR; ++j) acc[i][j] = _mm256_fmadd_ps(wv, xv[j], acc[i][j]);
        }
    }
    if (k < kc) {  // the buffer is zero-padded; X must not be read past kc
        const __m256i mask = lane_mask(kc - k);
        __m256 xv[MR];
        for (int j = 0; j < MR; ++j) xv[j] = _mm256_maskload_ps(x + j * ldx + k, mask);
        for (int i = 0; i < NR; ++i) {
            const __m256 wv = _mm256_load_ps(buf + i * kTileK + k);
            for (int j = 0; j < MR; ++j) acc[i][j] = _mm256_fmadd_ps(wv, xv[j], acc[i][j]);
        }
    }
    for (int i = 0; i < NR; ++i)
        for (int j = 0; j < MR; ++j) {
            const float s = hsum(acc[i][j]);
            float& d = y[j * ldy + i];
            d = first ? s : d + s;
        }
}

using TileFn = void (*)(const float*, const float*, int64_t, int64_t, float*, int64_t, bool);
constexpr TileFn kTiles[kTileN][kTileM] = {
    {tile<1, 1>, tile<1, 2>},
    {tile<2, 1>, tile<2, 2>},
    {tile<3, 1>, tile<3, 2>},
    {tile<4, 1>, tile<4, 2>},
};

template <DType T>
void matmul_t(const uint8_t* W, size_t w_stride, const float* X, int64_t ldx, float* Y, int64_t ldy,
              int64_t M, int64_t K, int64_t n0, int64_t n1) {
    if (M <= 4) {
        float out[4];
        for (int64_t n = n0; n < n1; ++n) {
            const uint8_t* row = W + static_cast<size_t>(n) * w_stride;
            switch (M) {
                case 1:
                    dot_row<T, 1>(row, X, ldx, K, out);
                    break;
                case 2:
                    dot_row<T, 2>(row, X, ldx, K, out);
                    break;
                case 3:
                    dot_row<T, 3>(row, X, ldx, K, out);
                    break;
                default:
                    dot_row<T, 4>(row, X, ldx, K, out);
                    break;
            }
            for (int64_t m = 0; m < M; ++m) Y[m * ldy + n] = out[m];
        }
        return;
    }
    alignas(32) float buf[kTileN * kTileK];
    for (int64_t n = n0; n < n1; n += kTileN) {
        const int64_t nr = min_i64(kTileN, n1 - n);
        for (int64_t k0 = 0; k0 < K; k0 += kTileK) {
            const int64_t kc = min_i64(kTileK, K - k0);
            for (int64_t i = 0; i < nr; ++i)
                convert_chunk<T>(W + static_cast<size_t>(n + i) * w_stride, k0, kc,
                                 buf + i * kTileK);
            for (int64_t m = 0; m < M; m += kTileM) {
                const int64_t mr = min_i64(kTileM, M - m);
                kTiles[nr - 1][mr - 1](buf, X + m * ldx + k0, ldx, kc, Y + m * ldy + n, ldy,
                                       k0 == 0);
            }
        }
    }
}

void matmul(DType wtype, const void* W, size_t w_stride, const float* X, int64_t ldx, float* Y,
            int64_t ldy, int64_t M, int64_t K, int64_t n0, int64_t n1) {
    if (M <= 0 || n1 <= n0) return;
    if (K == 0) {  // empty sums; the tiled path would never write Y
        for (int64_t m = 0; m < M; ++m)
            for (int64_t n = n0; n < n1; ++n) Y[m * ldy + n] = 0.0f;
        return;
    }
    const auto* w = static_cast<const uint8_t*>(W);
    switch (wtype) {
        case DType::F32:
            return matmul_t<DType::F32>(w, w_stride, X, ldx, Y, ldy, M, K, n0, n1);
        case DType::F16:
            return matmul_t<DType::F16>(w, w_stride, X, ldx, Y, ldy, M, K, n0, n1);
        case DType::BF16:
            return matmul_t<DType::BF16>(w, w_stride, X, ldx, Y, ldy, M, K, n0, n1);
        case DType::Q8_0:
            return matmul_t<DType::Q8_0>(w, w_stride, X, ldx, Y, ldy, M, K, n0, n1);
        case DType::Q4_0:
            return matmul_t<DType::Q4_0>(w, w_stride, X, ldx, Y, ldy, M, K, n0, n1);
        default:
            kernel_detail::unsupported_dtype("matmul", wtype);
    }
}

// ---------------------------------------------------------------------------
// Element-wise ops

void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps) {
    __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) add_squares_wide(_mm256_loadu_ps(x + i), a0, a1);
    double ss = hsum(_mm256_add_pd(a0, a1));
    for (; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
    const float scale = kernel_detail::rms_scale(ss, n, eps);
    const __m256 vs = _mm256_set1_ps(scale);
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vs),
                                              _mm256_loadu_ps(w + i)));
    for (; i < n; ++i) y[i] = (x[i] * scale) * w[i];
}

// Rotations use mul + add (not FMA) in the same order as the scalar kernel.
void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t rot_dims, int32_t pos,
          const float* inv_freq, bool neox) {
    const int64_t half = rot_dims / 2;
    alignas(32) float c[kRopeChunk], s[kRopeChunk];
    // Pairs mode: cos and (-sin, +sin) repeated per pair, to rotate 4 pairs
    // per vector as x * cc + swap_pairs(x) * ss.
    alignas(32) float cc[2 * kRopeChunk], ss[2 * kRopeChunk];
    for (int64_t i0 = 0; i0 < half; i0 += kRopeChunk) {
        const int64_t cnt = min_i64(kRopeChunk, half - i0);
        kernel_detail::rope_cos_sin(pos, inv_freq, i0, cnt, c, s);
        if (!neox) {
            for (int64_t i = 0; i < cnt; ++i) {
                cc[2 * i] = cc[2 * i + 1] = c[i];
                ss[2 * i] = -s[i];
                ss[2 * i + 1] = s[i];
            }
        }
        for (int64_t h = 0; h < n_heads; ++h) {
            float* xh = x + h * head_dim;
            if (neox) {
                float* lo = xh + i0;
                float* hi = xh + half + i0;
                int64_t i = 0;
                for (; i + 8 <= cnt; i += 8) {
                    const __m256 a = _mm256_loadu_ps(lo + i), b = _mm256_loadu_ps(hi + i);
                    const __m256 vc = _mm256_load_ps(c + i), vs = _mm256_load_ps(s + i);
                    _mm256_storeu_ps(lo + i,
                                     _mm256_sub_ps(_mm256_mul_ps(a, vc), _mm256_mul_ps(b, vs)));
                    _mm256_storeu_ps(hi + i,
                                     _mm256_add_ps(_mm256_mul_ps(a, vs), _mm256_mul_ps(b, vc)));
                }
                for (; i < cnt; ++i) {
                    const float a = lo[i], b = hi[i];
                    lo[i] = a * c[i] - b * s[i];
                    hi[i] = a * s[i] + b * c[i];
                }
            } else {
                float* p = xh + 2 * i0;
                const int64_t len = 2 * cnt;
                int64_t d = 0;
                for (; d + 8 <= len; d += 8) {
                    const __m256 v = _mm256_loadu_ps(p + d);
                    const __m256 sw = _mm256_permute_ps(v, 0xB1);  // (x1, x0, x3, x2, ...)
                    _mm256_storeu_ps(p + d,
                                     _mm256_add_ps(_mm256_mul_ps(v, _mm256_load_ps(cc + d)),
                                                   _mm256_mul_ps(sw, _mm256_load_ps(ss + d))));
                }
                for (; d < len; d += 2) {
                    const float a = p[d], b = p[d + 1];
                    p[d] = a * cc[d] - b * ss[d + 1];
                    p[d + 1] = a * ss[d + 1] + b * cc[d];
                }
            }
        }
    }
}

void softmax(float* x, int64_t n) {
    __m256 vmax = _mm256_set1_ps(-__builtin_inff());
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(x + i));
    float mx = hmax(vmax);
    for (; i < n; ++i) mx = x[i] > mx ? x[i] : mx;
    const __m256 vm = _mm256_set1_ps(mx);
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    for (i = 0; i + 8 <= n; i += 8) {
        const __m256 e = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
        _mm256_storeu_ps(x + i, e);
        add_wide(e, s0, s1);
    }
    if (i < n) {
        const __m256i mask = lane_mask(n - i);
        __m256 e = exp_ps(_mm256_sub_ps(_mm256_maskload_ps(x + i, mask), vm));
        e = _mm256_and_ps(e, _mm256_castsi256_ps(mask));  // lanes past n add nothing
        _mm256_maskstore_ps(x + i, mask, e);
        add_wide(e, s0, s1);
    }
    const __m256 inv = _mm256_set1_ps(static_cast<float>(1.0 / hsum(_mm256_add_pd(s0, s1))));
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
    if (i < n) {
        const __m256i mask = lane_mask(n - i);
        _mm256_maskstore_ps(x + i, mask, _mm256_mul_ps(_mm256_maskload_ps(x + i, mask), inv));
    }
}

// silu(g) = g / (1 + e^-g), evaluated as g * e^g / (1 + e^g) for g < 0 so
// that e^-g cannot overflow where the result is still a normal float.
inline __m256 silu_mul_ps(__m256 g, __m256 u) {
    const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
    const __m256 e = exp_ps(_mm256_or_ps(g, sign));                  // exp(-|g|)
    const __m256 num = _mm256_blendv_ps(g, _mm256_mul_ps(g, e), g);  // sign of g selects
    return _mm256_mul_ps(_mm256_div_ps(num, _mm256_add_ps(one, e)), u);
}

void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, silu_mul_ps(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
    if (i < n) {
        const __m256i mask = lane_mask(n - i);
        _mm256_maskstore_ps(
            out + i, mask,
            silu_mul_ps(_mm256_maskload_ps(gate + i, mask), _mm256_maskload_ps(up + i, mask)));
    }
}

void add(float* y, const float* x, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_loadu_ps(x + i)));
    for (; i < n; ++i) y[i] += x[i];
}

float dot_kv(const float* q, const void* k, DType kv_type, int64_t n) {
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    int64_t i = 0;
    if (kv_type == DType::F32) {
        const auto* kf = static_cast<const float*>(k);
        for (; i + 32 <= n; i += 32)
            for (int j = 0; j < 4; ++j)
                acc[j] = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8 * j),
                                         _mm256_loadu_ps(kf + i + 8 * j), acc[j]);
        for (; i + 8 <= n; i += 8)
            acc[0] = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(kf + i), acc[0]);
        if (i < n) {
            const __m256i mask = lane_mask(n - i);
            acc[1] = _mm256_fmadd_ps(_mm256_maskload_ps(q + i, mask),
                                     _mm256_maskload_ps(kf + i, mask), acc[1]);
        }
    } else if (kv_type == DType::F16) {
        const auto* kh = static_cast<const uint16_t*>(k);
        for (; i + 32 <= n; i += 32)
            for (int j = 0; j < 4; ++j)
                acc[j] = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8 * j), load_f16(kh + i + 8 * j),
                                         acc[j]);
        for (; i + 8 <= n; i += 8)
            acc[0] = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load_f16(kh + i), acc[0]);
        if (i < n) {
            acc[1] = _mm256_fmadd_ps(_mm256_maskload_ps(q + i, lane_mask(n - i)),
                                     load_f16_partial(kh + i, n - i), acc[1]);
        }
    } else {
        kernel_detail::unsupported_dtype("dot_kv", kv_type);
    }
    return hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
}

void axpy_kv(float a, const void* v, DType kv_type, float* y, int64_t n) {
    const __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    if (kv_type == DType::F32) {
        const auto* vf = static_cast<const float*>(v);
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(y + i,
                             _mm256_fmadd_ps(va, _mm256_loadu_ps(vf + i), _mm256_loadu_ps(y + i)));
        if (i < n) {
            const __m256i mask = lane_mask(n - i);
            _mm256_maskstore_ps(y + i, mask,
                                _mm256_fmadd_ps(va, _mm256_maskload_ps(vf + i, mask),
                                                _mm256_maskload_ps(y + i, mask)));
        }
    } else if (kv_type == DType::F16) {
        const auto* vh = static_cast<const uint16_t*>(v);
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, load_f16(vh + i), _mm256_loadu_ps(y + i)));
        if (i < n) {
            const __m256i mask = lane_mask(n - i);
            _mm256_maskstore_ps(y + i, mask,
                                _mm256_fmadd_ps(va, load_f16_partial(vh + i, n - i),
                                                _mm256_maskload_ps(y + i, mask)));
        }
    } else {
        kernel_detail::unsupported_dtype("axpy_kv", kv_type);
    }
}

void store_kv(const float* x, void* dst, DType kv_type, int64_t n) {
    if (kv_type == DType::F32) {
        std::memcpy(dst, x, static_cast<size_t>(n) * sizeof(float));
    } else if (kv_type == DType::F16) {
        // F16C rounds to nearest even, like f32_to_f16.
        auto* d = static_cast<uint16_t*>(dst);
        constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
        int64_t i = 0;
        for (; i + 8 <= n; i += 8)
            _mm_storeu_si128(reinterpret_cast<__m128i*>(d + i),
                             _mm256_cvtps_ph(_mm256_loadu_ps(x + i), kRound));
        if (i < n) {
            alignas(16) uint16_t t[8];
            _mm_store_si128(reinterpret_cast<__m128i*>(t),
                            _mm256_cvtps_ph(_mm256_maskload_ps(x + i, lane_mask(n - i)), kRound));
            std::memcpy(d + i, t, static_cast<size_t>(n - i) * 2);
        }
    } else {
        kernel_detail::unsupported_dtype("store_kv", kv_type);
    }
}

}  // namespace

namespace kernel_detail {
constinit const KernelTable kAvx2Kernels = {
    Isa::Avx2, matmul, rmsnorm, rope, softmax, silu_mul, add, dot_kv, axpy_kv, store_kv,
};
}  // namespace kernel_detail

}  // namespace ig
