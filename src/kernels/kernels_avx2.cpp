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
// matmul: the canonical float order (kernel_impl.h) on 16-row panels, as in
// the AVX-512 file (the same bits): a tile keeps MR X rows x NP panels of
// accumulators, two vectors per panel; per k it loads the panels' 16 rows at
// k and broadcasts one X value per row.
//
// Weights<T>::sub converts sub-vector s (elements 8s .. 8s + 7) of a block of
// 32 weights (one quant block, or 32 plain elements) into 8 floats, equal to
// dequantize_row's. Plain types may end in a partial block (K % 32 != 0),
// which sub_partial reads without going past it.

constexpr int64_t kBlock = 32;
// k per pass of the drivers: a multiple of every block size (256 for the
// K-quants). NP panels of it converted (at most 48 KiB) serve every X tile.
constexpr int64_t kChunkK = 256;
constexpr int kMaxMR = 6;  // X rows per tile
constexpr int kMaxNP = 3;  // panels per tile (MR * NP * 2 <= 12 accumulators in use)

struct NoScale {};

template <DType T>
struct Weights;

template <>
struct Weights<DType::F32> {
    static constexpr bool kPlain = true;
    static constexpr int64_t kBlockBytes = kBlock * 4;
    static NoScale scale(const uint8_t*) { return {}; }
    static __m256 sub(const uint8_t* p, int s, NoScale) {
        return _mm256_loadu_ps(reinterpret_cast<const float*>(p) + 8 * s);
    }
    // Sub-vector s of a block that holds only n elements (8s < n < 32); zero
    // past n.
    static __m256 sub_partial(const uint8_t* p, int64_t n, int s) {
        return _mm256_maskload_ps(reinterpret_cast<const float*>(p) + 8 * s, lane_mask(n - 8 * s));
    }
};

template <>
struct Weights<DType::F16> {
    static constexpr bool kPlain = true;
    static constexpr int64_t kBlockBytes = kBlock * 2;
    static NoScale scale(const uint8_t*) { return {}; }
    static __m256 sub(const uint8_t* p, int s, NoScale) { return load_f16(p + 16 * s); }
    static __m256 sub_partial(const uint8_t* p, int64_t n, int s) {
        return load_f16_partial(reinterpret_cast<const uint16_t*>(p) + 8 * s,
                                min_i64(8, n - 8 * s));
    }
};

template <>
struct Weights<DType::BF16> {
    static constexpr bool kPlain = true;
    static constexpr int64_t kBlockBytes = kBlock * 2;
    static NoScale scale(const uint8_t*) { return {}; }
    static __m256 sub(const uint8_t* p, int s, NoScale) {
        // bf16 is the top half of a float.
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * s));
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
    static __m256 sub_partial(const uint8_t* p, int64_t n, int s) {
        alignas(16) uint8_t t[16] = {};
        std::memcpy(t, p + 16 * s, static_cast<size_t>(min_i64(8, n - 8 * s)) * 2);
        return sub(t, 0, {});
    }
};

// The block's f16 scale in every lane (broadcast first: one conversion).
inline __m256 block_scale(const uint8_t* p) {
    int16_t d;
    std::memcpy(&d, p, 2);
    return _mm256_cvtph_ps(_mm_set1_epi16(d));
}

template <>
struct Weights<DType::Q8_0> {
    static constexpr bool kPlain = false;
    static constexpr int64_t kBlockBytes = 34;
    static __m256 scale(const uint8_t* p) { return block_scale(p); }
    static __m256 sub(const uint8_t* p, int s, __m256 d) {
        const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 2 + 8 * s));
        return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)), d);
    }
};

template <>
struct Weights<DType::Q4_0> {
    static constexpr bool kPlain = false;
    static constexpr int64_t kBlockBytes = 18;
    struct Scale {
        __m256 d, minus_8d;
    };
    static Scale scale(const uint8_t* p) {
        const __m256 d = block_scale(p);
        return {d, _mm256_mul_ps(d, _mm256_set1_ps(-8.0f))};
    }
    // Low nibbles of bytes 0..15 are elements 0..15, high nibbles 16..31.
    // fma(q, d, -8d) is (q - 8) * d rounded once, as dequantize_row computes
    // it (8d is exact; only a zero's sign may differ, which no sum sees),
    // and saves the integer subtraction.
    static __m256 sub(const uint8_t* p, int s, const Scale& sc) {
        const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 2 + 8 * (s & 1)));
        const __m256i b = _mm256_cvtepu8_epi32(q);
        const __m256i v =
            s < 2 ? _mm256_and_si256(b, _mm256_set1_epi32(0x0f)) : _mm256_srli_epi32(b, 4);
        return _mm256_fmadd_ps(_mm256_cvtepi32_ps(v), sc.d, sc.minus_8d);
    }
};

#include "kernels/kquant_x86.inc"  // kSuper, kIsKQuant, f16_scalar

// The 32 unsigned bytes in q (each < 32) as ds * q - dm, in 4 vectors of 8.
// ds = d * scale has at most 11 + 6 significant bits and q at most 5, so
// ds * q is exact in float and fma(ds, q, -dm) rounds exactly as
// dequantize_row's (ds * q) - dm does.
inline void affine32(__m256i q, float ds, float dm, __m256 out[4]) {
    const __m256 d = _mm256_set1_ps(ds), m = _mm256_set1_ps(-dm);
    const __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
    const __m128i parts[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
    for (int i = 0; i < 4; ++i) {
        const __m256 v = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(parts[i]));
        out[i] = _mm256_fmadd_ps(d, v, m);
    }
}

// The 16 signed bytes in q as ds * q, in 2 vectors of 8.
inline void scaled16(__m128i q, float ds, __m256* out) {
    const __m256 d = _mm256_set1_ps(ds);
    out[0] = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)));
    out[1] = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(q, 8))));
}

// Super<T>: scales(p, sc) decodes a super-block's scales once; sub32(p, j,
// sc, out) gives its elements [32j, 32j + 32) as 4 vectors of 8.
template <DType T>
struct Super;

// Q4_K/Q5_K: per sub-block d * scale and dmin * min.
struct AffineScales {
    float ds[8], dm[8];
};

// All 8 at once: with the 12 bytes read as 3 little-endian words u0..u2,
// scales 0-3 are the low 6 bits of u0's bytes, scales 4-7 the low nibbles of
// u2's bytes with bits 6-7 of u0's bytes above them; the mins likewise from
// u1 and u2's high nibbles (see kquant_scale_min in quantize.h). Then
// d * float(scale), as dequantize_row computes it.
inline void affine_scales(const uint8_t* p, AffineScales& sc) {
    const float d = f16_scalar(p), dmin = f16_scalar(p + 2);
    uint32_t u[3];
    std::memcpy(u, p + 4, 12);
    const uint32_t sc_lo = u[0] & 0x3f3f3f3fu, mn_lo = u[1] & 0x3f3f3f3fu;
    const uint32_t sc_hi = (u[2] & 0x0f0f0f0fu) | ((u[0] >> 2) & 0x30303030u);
    const uint32_t mn_hi = ((u[2] >> 4) & 0x0f0f0f0fu) | ((u[1] >> 2) & 0x30303030u);
    const __m128i s8 = _mm_setr_epi32(static_cast<int>(sc_lo), static_cast<int>(sc_hi),
                                      static_cast<int>(mn_lo), static_cast<int>(mn_hi));
    const __m256 sf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(s8));
    const __m256 mf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(s8, 8)));
    _mm256_storeu_ps(sc.ds, _mm256_mul_ps(_mm256_set1_ps(d), sf));
    _mm256_storeu_ps(sc.dm, _mm256_mul_ps(_mm256_set1_ps(dmin), mf));
}

template <>
struct Super<DType::Q4_K> {
    static constexpr int64_t kBytes = 144;
    using Scales = AffineScales;
    static void scales(const uint8_t* p, Scales& sc) { affine_scales(p, sc); }
    static void sub32(const uint8_t* p, int j, const Scales& sc, __m256 out[4]) {
        const __m256i q =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 16 + 32 * (j / 2)));
        const __m256i m4 = _mm256_set1_epi8(0x0f);
        const __m256i nib =
            j % 2 ? _mm256_and_si256(_mm256_srli_epi16(q, 4), m4) : _mm256_and_si256(q, m4);
        affine32(nib, sc.ds[j], sc.dm[j], out);
    }
};

template <>
struct Super<DType::Q5_K> {
    static constexpr int64_t kBytes = 176;
    using Scales = AffineScales;
    static void scales(const uint8_t* p, Scales& sc) { affine_scales(p, sc); }
    static void sub32(const uint8_t* p, int j, const Scales& sc, __m256 out[4]) {
        const __m256i q =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 48 + 32 * (j / 2)));
        const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 16));
        const __m256i m4 = _mm256_set1_epi8(0x0f);
        const __m256i nib =
            j % 2 ? _mm256_and_si256(_mm256_srli_epi16(q, 4), m4) : _mm256_and_si256(q, m4);
        // Bit j of each qh byte becomes bit 4 (the shift is per 16 bits; the
        // mask keeps each byte's own bit).
        const __m256i hb = _mm256_slli_epi16(
            _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(j)), _mm256_set1_epi8(1)), 4);
        affine32(_mm256_or_si256(nib, hb), sc.ds[j], sc.dm[j], out);
    }
};

template <>
struct Super<DType::Q6_K> {
    static constexpr int64_t kBytes = 210;
    struct Scales {
        float ds[16];  // d * scale per 16 elements
    };
    static void scales(const uint8_t* p, Scales& sc) {
        const float d = f16_scalar(p + 208);
        const auto* s = reinterpret_cast<const int8_t*>(p + 192);
        for (int i = 0; i < 16; ++i) sc.ds[i] = d * static_cast<float>(s[i]);
    }
    // Sub-block j is quarter r = j % 4 of half h = j / 4 (see quantize.h).
    static void sub32(const uint8_t* p, int j, const Scales& sc, __m256 out[4]) {
        const int h = j / 4, r = j % 4;
        const __m256i ql =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 64 * h + 32 * (r % 2)));
        const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 128 + 32 * h));
        const __m256i m4 = _mm256_set1_epi8(0x0f);
        const __m256i low =
            r < 2 ? _mm256_and_si256(ql, m4) : _mm256_and_si256(_mm256_srli_epi16(ql, 4), m4);
        const __m256i hb =
            _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * r)), _mm256_set1_epi8(3));
        const __m256i q =
            _mm256_sub_epi8(_mm256_or_si256(low, _mm256_slli_epi16(hb, 4)), _mm256_set1_epi8(32));
        scaled16(_mm256_castsi256_si128(q), sc.ds[2 * j], out);
        scaled16(_mm256_extracti128_si256(q, 1), sc.ds[2 * j + 1], out + 2);
    }
};

// A whole super-block into 256 floats.
template <DType T>
void dequant_super(const uint8_t* p, float* out) {
    typename Super<T>::Scales sc;
    Super<T>::scales(p, sc);
    for (int j = 0; j < 8; ++j) {
        __m256 v[4];
        Super<T>::sub32(p, j, sc, v);
        for (int i = 0; i < 4; ++i) _mm256_store_ps(out + 32 * j + 8 * i, v[i]);
    }
}

// Converts elements [k0, k0 + kc) of a row into out, zero-padded to a
// multiple of 32 (k0 is a multiple of kChunkK).
template <DType T>
void convert_blocks(const uint8_t* row, int64_t k0, int64_t kc, float* out) {
    using Wt = Weights<T>;
    const uint8_t* p = row + (k0 / kBlock) * Wt::kBlockBytes;
    const int64_t nb = kc / kBlock;
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* pb = p + b * Wt::kBlockBytes;
        const auto sc = Wt::scale(pb);
        for (int s = 0; s < 4; ++s) _mm256_store_ps(out + b * kBlock + 8 * s, Wt::sub(pb, s, sc));
    }
    if constexpr (Wt::kPlain) {
        const int64_t rem = kc - nb * kBlock;
        if (rem > 0) {
            const uint8_t* pb = p + nb * Wt::kBlockBytes;
            for (int s = 0; s < 4; ++s)
                _mm256_store_ps(out + nb * kBlock + 8 * s,
                                8 * s < rem ? Wt::sub_partial(pb, rem, s) : _mm256_setzero_ps());
        }
    }
}

template <DType T>
void convert_chunk(const uint8_t* row, int64_t k0, int64_t kc, float* out) {
    if constexpr (kIsKQuant<T>) {  // k0 and kc are multiples of kSuper
        const uint8_t* p = row + (k0 / kSuper) * Super<T>::kBytes;
        for (int64_t b = 0; b < kc / kSuper; ++b)
            dequant_super<T>(p + b * Super<T>::kBytes, out + b * kSuper);
    } else {
        convert_blocks<T>(row, k0, kc, out);
    }
}

// 16 consecutive elements of type S (one panel step) as two vectors of floats.
template <DType S>
inline void panel_step(const uint8_t* p, __m256& lo, __m256& hi) {
    if constexpr (S == DType::F32) {
        lo = _mm256_loadu_ps(reinterpret_cast<const float*>(p));
        hi = _mm256_loadu_ps(reinterpret_cast<const float*>(p) + 8);
    } else {
        lo = Weights<S>::sub(p, 0, {});
        hi = Weights<S>::sub(p, 1, {});
    }
}

template <DType S>
constexpr int64_t kStepBytes = 16 * (S == DType::F32 ? 4 : 2);

// Y[j][16p + r] = (first ? 0 : Y[j][16p + r]) + sum over k < kc of
// X[j][k] * (row r of panel p at k), for j < MR, p < NP, as fma chains in k
// order; panel p's step k at W + p * wps + k * kStepBytes<S>. The last panel
// has tail_rows rows that exist. Fully unrolled: GCC otherwise keeps the
// accumulators in memory.
template <DType S, int MR, int NP>
void panel_tile(const uint8_t* W, size_t wps, const float* X, int64_t ldx, int64_t kc, float* Y,
                int64_t ldy, int64_t tail_rows, bool first) {
    __m256i mask[NP][2];
#pragma GCC unroll 4
    for (int p = 0; p < NP; ++p)
        for (int h = 0; h < 2; ++h) mask[p][h] = lane_mask(p == NP - 1 ? tail_rows - 8 * h : 16);
    __m256 acc[MR][NP][2];
#pragma GCC unroll 8
    for (int j = 0; j < MR; ++j)
#pragma GCC unroll 4
        for (int p = 0; p < NP; ++p)
#pragma GCC unroll 2
            for (int h = 0; h < 2; ++h)
                acc[j][p][h] = first ? _mm256_setzero_ps()
                                     : _mm256_maskload_ps(Y + j * ldy + 16 * p + 8 * h, mask[p][h]);
    for (int64_t k = 0; k < kc; ++k) {
        __m256 w[NP][2];
#pragma GCC unroll 4
        for (int p = 0; p < NP; ++p)
            panel_step<S>(W + p * wps + k * kStepBytes<S>, w[p][0], w[p][1]);
#pragma GCC unroll 8
        for (int j = 0; j < MR; ++j) {
            const __m256 x = _mm256_broadcast_ss(X + j * ldx + k);
#pragma GCC unroll 4
            for (int p = 0; p < NP; ++p)
#pragma GCC unroll 2
                for (int h = 0; h < 2; ++h)
                    acc[j][p][h] = _mm256_fmadd_ps(x, w[p][h], acc[j][p][h]);
        }
    }
#pragma GCC unroll 8
    for (int j = 0; j < MR; ++j)
#pragma GCC unroll 4
        for (int p = 0; p < NP; ++p)
#pragma GCC unroll 2
            for (int h = 0; h < 2; ++h)
                _mm256_maskstore_ps(Y + j * ldy + 16 * p + 8 * h, mask[p][h], acc[j][p][h]);
}

using PanelTileFn = void (*)(const uint8_t*, size_t, const float*, int64_t, int64_t, float*,
                             int64_t, int64_t, bool);
#define IG_PANEL_TILES(S, MR) \
    { panel_tile<S, MR, 1>, panel_tile<S, MR, 2>, panel_tile<S, MR, 3> }
template <DType S>
constexpr PanelTileFn kPanelTiles[kMaxMR][kMaxNP] = {
    IG_PANEL_TILES(S, 1), IG_PANEL_TILES(S, 2), IG_PANEL_TILES(S, 3),
    IG_PANEL_TILES(S, 4), IG_PANEL_TILES(S, 5), IG_PANEL_TILES(S, 6),
};
#undef IG_PANEL_TILES

// Panels per group: 3 for one or two X rows (decode: 6 or 12 accumulators,
// three streams), else 1 (6 rows x 2 vectors = 12 accumulators).
inline int group_panels(int64_t M) {
    return M <= 2 ? 3 : 1;
}

// A chunk of nr converted rows (ld apart, `steps` columns) as one panel,
// rows past nr zero.
inline void transpose_panel(const float* rows, int64_t ld, int64_t nr, int64_t steps,
                            float* panel) {
    for (int64_t k = 0; k < steps; ++k)
        for (int64_t r = 0; r < 16; ++r) panel[k * 16 + r] = r < nr ? rows[r * ld + k] : 0.0f;
}

#include "kernels/kernels_float_x86.inc"

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

float online_softmax_chunk(float* x, int64_t n, float* running_max) {
    const __m256 ninf = _mm256_set1_ps(-__builtin_inff());
    __m256 vmax = _mm256_set1_ps(*running_max);
    for (int64_t i = 0; i < n; i += 8) {
        const __m256i mask = lane_mask(n - i);
        vmax = _mm256_max_ps(vmax, _mm256_blendv_ps(ninf, _mm256_maskload_ps(x + i, mask),
                                                    _mm256_castsi256_ps(mask)));
    }
    const float mx = hmax(vmax);
    *running_max = mx;
    const __m256 vs = _mm256_set1_ps(mx);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n; i += 8) {
        const __m256i mask = lane_mask(n - i);
        const __m256 v = _mm256_maskload_ps(x + i, mask);
        // -inf (masked scores) gives exactly 0; lanes past n add nothing.
        const __m256 live =
            _mm256_and_ps(_mm256_castsi256_ps(mask), _mm256_cmp_ps(v, ninf, _CMP_NEQ_UQ));
        const __m256 e = _mm256_and_ps(live, exp_ps(_mm256_sub_ps(v, vs)));
        _mm256_maskstore_ps(x + i, mask, e);
        acc = _mm256_add_ps(acc, e);
    }
    return hsum(acc);
}

// MR rows x NV vectors of 8 columns (the last masked by `tail`), one fma
// chain per output over k. Fully unrolled: otherwise GCC keeps the
// accumulators in memory and stores them every step.
template <int MR, int NV>
void gemm_nn_tile(const float* X, int64_t ldx, const float* B, int64_t ldb, float* Y, int64_t ldy,
                  int64_t K, __m256i tail, bool accumulate) {
    const auto mask = [&](int v) { return v == NV - 1 ? tail : _mm256_set1_epi32(-1); };
    const bool full = _mm256_movemask_ps(_mm256_castsi256_ps(tail)) == 0xff;
    __m256 a[MR][NV];
#pragma GCC unroll 8
    for (int j = 0; j < MR; ++j)
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v)
            a[j][v] =
                accumulate ? _mm256_maskload_ps(Y + j * ldy + 8 * v, mask(v)) : _mm256_setzero_ps();
    for (int64_t k = 0; k < K; ++k) {
        __m256 b[NV];
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v)  // masked loads are slow: only a partial last vector
            b[v] = v < NV - 1 || full ? _mm256_loadu_ps(B + k * ldb + 8 * v)
                                      : _mm256_maskload_ps(B + k * ldb + 8 * v, tail);
#pragma GCC unroll 8
        for (int j = 0; j < MR; ++j) {
            const __m256 x = _mm256_broadcast_ss(X + j * ldx + k);
#pragma GCC unroll 8
            for (int v = 0; v < NV; ++v) a[j][v] = _mm256_fmadd_ps(x, b[v], a[j][v]);
        }
    }
#pragma GCC unroll 8
    for (int j = 0; j < MR; ++j)
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) _mm256_maskstore_ps(Y + j * ldy + 8 * v, mask(v), a[j][v]);
}

template <int MR>
void gemm_nn_rows(const float* X, int64_t ldx, const float* B, int64_t ldb, float* Y, int64_t ldy,
                  int64_t K, int64_t N, bool accumulate) {
    for (int64_t n = 0; n < N; n += 32) {
        const int64_t w = N - n < 32 ? N - n : 32;
        const __m256i tail = lane_mask(w - 8 * ((w - 1) / 8));
        switch ((w + 7) / 8) {
            case 1:
                gemm_nn_tile<MR, 1>(X, ldx, B + n, ldb, Y + n, ldy, K, tail, accumulate);
                break;
            case 2:
                gemm_nn_tile<MR, 2>(X, ldx, B + n, ldb, Y + n, ldy, K, tail, accumulate);
                break;
            case 3:
                gemm_nn_tile<MR, 3>(X, ldx, B + n, ldb, Y + n, ldy, K, tail, accumulate);
                break;
            default:
                gemm_nn_tile<MR, 4>(X, ldx, B + n, ldb, Y + n, ldy, K, tail, accumulate);
        }
    }
}

void gemm_nn(const float* X, int64_t ldx, const float* B, int64_t ldb, float* Y, int64_t ldy,
             int64_t M, int64_t K, int64_t N, bool accumulate) {
    int64_t m = 0;
    if (N <= 16)  // two vectors per row: 4 rows keep 8 fma chains in flight
        for (; m + 4 <= M; m += 4)
            gemm_nn_rows<4>(X + m * ldx, ldx, B, ldb, Y + m * ldy, ldy, K, N, accumulate);
    for (; m + 2 <= M; m += 2)
        gemm_nn_rows<2>(X + m * ldx, ldx, B, ldb, Y + m * ldy, ldy, K, N, accumulate);
    if (m < M) gemm_nn_rows<1>(X + m * ldx, ldx, B, ldb, Y + m * ldy, ldy, K, N, accumulate);
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
    Isa::Avx2,
    matmul,
    matmul_f_packed,
    avx2_quantize_rows_q8,
    avx2_matmul_q8,
    avx2_matmul_q8_packed,
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
