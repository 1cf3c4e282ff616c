// AVX-512 kernels (F/BW/VL/DQ: Skylake-X, Zen 4 and later). Compiled with the
// AVX-512 flags and entered only after cpu_features() says so; all code stays
// in an anonymous namespace (see kernel_impl.h for why). Masked loads and
// stores handle every tail, so no scalar tail loops are needed.
#include <cstdint>
#include <cstring>

#include "kernels/immintrin_avx512.h"
#include "kernels/kernel_impl.h"

namespace ig {
namespace {

using kernel_detail::kRopeChunk;

inline int64_t min_i64(int64_t a, int64_t b) {
    return a < b ? a : b;
}

// Lanes [0, len) set; len <= 0 gives none, len >= 16 all.
inline __mmask16 lane_mask(int64_t len) {
    if (len <= 0) return 0;
    if (len >= 16) return 0xffff;
    return static_cast<__mmask16>((1u << len) - 1);
}

inline float hsum(__m512 v) {
    return _mm512_reduce_add_ps(v);
}
inline double hsum(__m512d v) {
    return _mm512_reduce_add_pd(v);
}

inline __m256 hi_half(__m512 v) {
    return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
}

// Widens v to double and adds it (or its squares) to two accumulators.
inline void add_wide(__m512 v, __m512d& a0, __m512d& a1) {
    a0 = _mm512_add_pd(a0, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
    a1 = _mm512_add_pd(a1, _mm512_cvtps_pd(hi_half(v)));
}
inline void add_squares_wide(__m512 v, __m512d& a0, __m512d& a1) {
    const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    const __m512d hi = _mm512_cvtps_pd(hi_half(v));
    a0 = _mm512_fmadd_pd(lo, lo, a0);
    a1 = _mm512_fmadd_pd(hi, hi, a1);
}

// 16 halves at p, only lanes in mask read (others zero).
inline __m512 load_f16(const void* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(static_cast<const __m256i*>(p)));
}
inline __m512 load_f16(const void* p, __mmask16 mask) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, p));
}
inline __m512 load_bf16(const void* p, __mmask16 mask) {
    const __m256i h = _mm256_maskz_loadu_epi16(mask, p);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// expf to ~1 ulp, as in the AVX2 file; scalef applies 2^n with correct
// subnormal results and overflow to +inf.
inline __m512 exp_ps(__m512 x) {
    x = _mm512_min_ps(_mm512_set1_ps(89.0f), _mm512_max_ps(_mm512_set1_ps(-104.0f), x));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    const __m512 y =
        _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(y, n);
}

// ---------------------------------------------------------------------------
// matmul: the canonical float order (kernel_impl.h) on 16-row panels. A tile
// keeps MR X rows x NP panels of accumulators; per k it loads one vector per
// panel (its 16 rows at k) and broadcasts one X value per row, so each output
// is one fma chain over k, whatever the tile, M or [n0, n1).

constexpr int64_t kBlock = 32;
// k per pass of the drivers: a multiple of every block size (256 for the
// K-quants). NP panels of it converted (at most 64 KiB) serve every X tile.
constexpr int64_t kChunkK = 256;
constexpr int kMaxMR = 8;  // X rows per tile
constexpr int kMaxNP = 4;  // panels per tile (MR * NP <= 24 accumulators in use)

struct NoScale {};

// Weights<T>::sub converts half h (elements 16h .. 16h + 15) of a block of 32
// weights into 16 floats equal to dequantize_row's; sub_partial reads a
// block of plain type that holds only n elements (16h < n < 32), zero past n.
template <DType T>
struct Weights;

template <>
struct Weights<DType::F32> {
    static constexpr bool kPlain = true;
    static constexpr int64_t kBlockBytes = kBlock * 4;
    static NoScale scale(const uint8_t*) { return {}; }
    static __m512 sub(const uint8_t* p, int h, NoScale) {
        return _mm512_loadu_ps(reinterpret_cast<const float*>(p) + 16 * h);
    }
    static __m512 sub_partial(const uint8_t* p, int64_t n, int h) {
        return _mm512_maskz_loadu_ps(lane_mask(n - 16 * h),
                                     reinterpret_cast<const float*>(p) + 16 * h);
    }
};

template <>
struct Weights<DType::F16> {
    static constexpr bool kPlain = true;
    static constexpr int64_t kBlockBytes = kBlock * 2;
    static NoScale scale(const uint8_t*) { return {}; }
    static __m512 sub(const uint8_t* p, int h, NoScale) { return load_f16(p + 32 * h); }
    static __m512 sub_partial(const uint8_t* p, int64_t n, int h) {
        return load_f16(p + 32 * h, lane_mask(n - 16 * h));
    }
};

template <>
struct Weights<DType::BF16> {
    static constexpr bool kPlain = true;
    static constexpr int64_t kBlockBytes = kBlock * 2;
    static NoScale scale(const uint8_t*) { return {}; }
    static __m512 sub(const uint8_t* p, int h, NoScale) { return load_bf16(p + 32 * h, 0xffff); }
    static __m512 sub_partial(const uint8_t* p, int64_t n, int h) {
        return load_bf16(p + 32 * h, lane_mask(n - 16 * h));
    }
};

inline __m512 block_scale(const uint8_t* p) {
    uint16_t d;
    std::memcpy(&d, p, 2);
    return _mm512_set1_ps(_cvtsh_ss(d));
}

template <>
struct Weights<DType::Q8_0> {
    static constexpr bool kPlain = false;
    static constexpr int64_t kBlockBytes = 34;
    static __m512 scale(const uint8_t* p) { return block_scale(p); }
    static __m512 sub(const uint8_t* p, int h, __m512 d) {
        const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2 + 16 * h));
        return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)), d);
    }
};

template <>
struct Weights<DType::Q4_0> {
    static constexpr bool kPlain = false;
    static constexpr int64_t kBlockBytes = 18;
    struct Scale {
        __m512 d, minus_8d;
    };
    static Scale scale(const uint8_t* p) {
        const __m512 d = block_scale(p);
        return {d, _mm512_mul_ps(d, _mm512_set1_ps(-8.0f))};
    }
    // Low nibbles are elements 0..15, high nibbles 16..31. fma(q, d, -8d) is
    // (q - 8) * d rounded once, as in the AVX2 file.
    static __m512 sub(const uint8_t* p, int h, const Scale& sc) {
        const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2));
        const __m128i nib = _mm_and_si128(h == 0 ? q : _mm_srli_epi16(q, 4), _mm_set1_epi8(0x0f));
        return _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(nib)), sc.d, sc.minus_8d);
    }
};

#include "kernels/kquant_x86.inc"  // kSuper, kIsKQuant, f16_scalar

// Q4_K/Q5_K's packed 6-bit scale and min of sub-block j (see quantize.h).
inline void k_scale_min(int j, const uint8_t* q, float d, float dmin, float* ds, float* dm) {
    int sc, mn;
    if (j < 4) {
        sc = q[j] & 63;
        mn = q[j + 4] & 63;
    } else {
        sc = (q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4);
        mn = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
    *ds = d * static_cast<float>(sc);
    *dm = dmin * static_cast<float>(mn);
}

// out[0..32) = ds * q - dm for the 32 unsigned bytes in q.
inline void store_affine32(__m256i q, float ds, float dm, float* out) {
    const __m512 d = _mm512_set1_ps(ds), m = _mm512_set1_ps(dm);
    const __m128i parts[2] = {_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1)};
    for (int i = 0; i < 2; ++i) {
        const __m512 v = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(parts[i]));
        _mm512_store_ps(out + 16 * i, _mm512_sub_ps(_mm512_mul_ps(d, v), m));
    }
}

// out[0..16) = ds * q for the 16 signed bytes in q.
inline void store_scaled16(__m128i q, float ds, float* out) {
    _mm512_store_ps(out,
                    _mm512_mul_ps(_mm512_set1_ps(ds), _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q))));
}

template <DType T>
struct Super;

template <>
struct Super<DType::Q4_K> {
    static constexpr int64_t kBytes = 144;
    static void dequant(const uint8_t* p, float* out) {
        const float d = f16_scalar(p), dmin = f16_scalar(p + 2);
        const uint8_t* scales = p + 4;
        const __m256i m4 = _mm256_set1_epi8(0x0f);
        for (int g = 0; g < 4; ++g) {
            const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 16 + 32 * g));
            float ds, dm;
            k_scale_min(2 * g, scales, d, dmin, &ds, &dm);
            store_affine32(_mm256_and_si256(q, m4), ds, dm, out + 64 * g);
            k_scale_min(2 * g + 1, scales, d, dmin, &ds, &dm);
            store_affine32(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), ds, dm,
                           out + 64 * g + 32);
        }
    }
};

template <>
struct Super<DType::Q5_K> {
    static constexpr int64_t kBytes = 176;
    static void dequant(const uint8_t* p, float* out) {
        const float d = f16_scalar(p), dmin = f16_scalar(p + 2);
        const uint8_t* scales = p + 4;
        const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 16));
        const __m256i m4 = _mm256_set1_epi8(0x0f), one = _mm256_set1_epi8(1);
        for (int g = 0; g < 4; ++g) {
            const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 48 + 32 * g));
            // Bit 2g (first 32) or 2g + 1 (second 32) of each qh byte, as bit 4.
            const __m128i s0 = _mm_cvtsi32_si128(2 * g), s1 = _mm_cvtsi32_si128(2 * g + 1);
            const __m256i h0 =
                _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(qh, s0), one), 4);
            const __m256i h1 =
                _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(qh, s1), one), 4);
            float ds, dm;
            k_scale_min(2 * g, scales, d, dmin, &ds, &dm);
            store_affine32(_mm256_or_si256(_mm256_and_si256(q, m4), h0), ds, dm, out + 64 * g);
            k_scale_min(2 * g + 1, scales, d, dmin, &ds, &dm);
            store_affine32(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), h1), ds,
                           dm, out + 64 * g + 32);
        }
    }
};

template <>
struct Super<DType::Q6_K> {
    static constexpr int64_t kBytes = 210;
    static void dequant(const uint8_t* p, float* out) {
        const float d = f16_scalar(p + 208);
        const auto* sc = reinterpret_cast<const int8_t*>(p + 192);
        const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(3),
                      off = _mm256_set1_epi8(32);
        for (int h = 0; h < 2; ++h) {
            const uint8_t* ql = p + 64 * h;
            const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql));
            const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32));
            const __m256i qh =
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 128 + 32 * h));
            const __m256i lows[4] = {_mm256_and_si256(l0, m4), _mm256_and_si256(l1, m4),
                                     _mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                                     _mm256_and_si256(_mm256_srli_epi16(l1, 4), m4)};
            for (int r = 0; r < 4; ++r) {
                const __m256i hb =
                    _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * r)), m2);
                const __m256i q =
                    _mm256_sub_epi8(_mm256_or_si256(lows[r], _mm256_slli_epi16(hb, 4)), off);
                float* o = out + 128 * h + 32 * r;
                store_scaled16(_mm256_castsi256_si128(q), d * static_cast<float>(sc[8 * h + 2 * r]),
                               o);
                store_scaled16(_mm256_extracti128_si256(q, 1),
                               d * static_cast<float>(sc[8 * h + 2 * r + 1]), o + 16);
            }
        }
    }
};

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
        _mm512_store_ps(out + b * kBlock, Wt::sub(pb, 0, sc));
        _mm512_store_ps(out + b * kBlock + 16, Wt::sub(pb, 1, sc));
    }
    if constexpr (Wt::kPlain) {
        const int64_t rem = kc - nb * kBlock;
        if (rem > 0) {
            const uint8_t* pb = p + nb * Wt::kBlockBytes;
            _mm512_store_ps(out + nb * kBlock, Wt::sub_partial(pb, rem, 0));
            _mm512_store_ps(out + nb * kBlock + 16,
                            rem > 16 ? Wt::sub_partial(pb, rem, 1) : _mm512_setzero_ps());
        }
    }
}

template <DType T>
void convert_chunk(const uint8_t* row, int64_t k0, int64_t kc, float* out) {
    if constexpr (kIsKQuant<T>) {  // k0 and kc are multiples of kSuper
        const uint8_t* p = row + (k0 / kSuper) * Super<T>::kBytes;
        for (int64_t b = 0; b < kc / kSuper; ++b)
            Super<T>::dequant(p + b * Super<T>::kBytes, out + b * kSuper);
    } else {
        convert_blocks<T>(row, k0, kc, out);
    }
}

// 16 consecutive elements of type S (one panel step) as floats.
template <DType S>
inline __m512 panel_step(const uint8_t* p) {
    if constexpr (S == DType::F32)
        return _mm512_loadu_ps(p);
    else if constexpr (S == DType::F16)
        return load_f16(p);
    else
        return load_bf16(p, 0xffff);
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
    const auto mask = [&](int p) { return lane_mask(p == NP - 1 ? tail_rows : 16); };
    __m512 acc[MR][NP];
#pragma GCC unroll 8
    for (int j = 0; j < MR; ++j)
#pragma GCC unroll 4
        for (int p = 0; p < NP; ++p)
            acc[j][p] =
                first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mask(p), Y + j * ldy + 16 * p);
    for (int64_t k = 0; k < kc; ++k) {
        __m512 w[NP];
#pragma GCC unroll 4
        for (int p = 0; p < NP; ++p) w[p] = panel_step<S>(W + p * wps + k * kStepBytes<S>);
#pragma GCC unroll 8
        for (int j = 0; j < MR; ++j) {
            const __m512 x = _mm512_set1_ps(X[j * ldx + k]);
#pragma GCC unroll 4
            for (int p = 0; p < NP; ++p) acc[j][p] = _mm512_fmadd_ps(x, w[p], acc[j][p]);
        }
    }
#pragma GCC unroll 8
    for (int j = 0; j < MR; ++j)
#pragma GCC unroll 4
        for (int p = 0; p < NP; ++p)
            _mm512_mask_storeu_ps(Y + j * ldy + 16 * p, mask(p), acc[j][p]);
}

using PanelTileFn = void (*)(const uint8_t*, size_t, const float*, int64_t, int64_t, float*,
                             int64_t, int64_t, bool);
#define IG_PANEL_TILES(S, MR) \
    { panel_tile<S, MR, 1>, panel_tile<S, MR, 2>, panel_tile<S, MR, 3>, panel_tile<S, MR, 4> }
template <DType S>
constexpr PanelTileFn kPanelTiles[kMaxMR][kMaxNP] = {
    IG_PANEL_TILES(S, 1), IG_PANEL_TILES(S, 2), IG_PANEL_TILES(S, 3), IG_PANEL_TILES(S, 4),
    IG_PANEL_TILES(S, 5), IG_PANEL_TILES(S, 6), IG_PANEL_TILES(S, 7), IG_PANEL_TILES(S, 8),
};
#undef IG_PANEL_TILES

// Panels per group: 4 when one tile of at most 4 rows covers M (decode: more
// streams in flight), else 3 (8 rows x 3 panels = 24 accumulators).
inline int group_panels(int64_t M) {
    return M <= 4 ? 4 : 3;
}

// dst[16c + r] = src[r * ld + c] for 16 rows r and columns c; rows r >= nr
// are taken as zero. Three rounds of shuffles: pairs of elements, pairs of
// pairs, then 128-bit lanes.
inline void transpose16(const float* src, int64_t ld, int64_t nr, float* dst) {
    __m512 r[16], t[16];
    for (int i = 0; i < 16; ++i) r[i] = i < nr ? _mm512_load_ps(src + i * ld) : _mm512_setzero_ps();
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    // u[4g + j], 128-bit lane L: column 4L + j of rows 4g .. 4g + 3.
    for (int g = 0; g < 16; g += 4)
        for (int h = 0; h < 2; ++h) {
            const __m512d a = _mm512_castps_pd(t[g + h]), b = _mm512_castps_pd(t[g + h + 2]);
            r[g + 2 * h] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
            r[g + 2 * h + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
        }
    for (int j = 0; j < 4; ++j) {
        const __m512 a = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88);  // lanes 0, 2
        const __m512 b = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xdd);  // lanes 1, 3
        const __m512 c = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88);
        const __m512 d = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xdd);
        _mm512_store_ps(dst + 16 * j, _mm512_shuffle_f32x4(a, c, 0x88));
        _mm512_store_ps(dst + 16 * (4 + j), _mm512_shuffle_f32x4(b, d, 0x88));
        _mm512_store_ps(dst + 16 * (8 + j), _mm512_shuffle_f32x4(a, c, 0xdd));
        _mm512_store_ps(dst + 16 * (12 + j), _mm512_shuffle_f32x4(b, d, 0xdd));
    }
}

// A chunk of nr converted rows (ld apart, `steps` columns, a multiple of
// 16) as one panel.
inline void transpose_panel(const float* rows, int64_t ld, int64_t nr, int64_t steps,
                            float* panel) {
    for (int64_t k = 0; k < steps; k += 16) transpose16(rows + k, ld, nr, panel + k * 16);
}

#include "kernels/kernels_float_x86.inc"

// ---------------------------------------------------------------------------
// Element-wise ops

void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps) {
    __m512d a0 = _mm512_setzero_pd(), a1 = _mm512_setzero_pd();
    int64_t i = 0;
    for (; i < n; i += 16) add_squares_wide(_mm512_maskz_loadu_ps(lane_mask(n - i), x + i), a0, a1);
    const float scale = kernel_detail::rms_scale(hsum(_mm512_add_pd(a0, a1)), n, eps);
    const __m512 vs = _mm512_set1_ps(scale);
    for (i = 0; i < n; i += 16) {
        const __mmask16 m = lane_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m,
                              _mm512_mul_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), vs),
                                            _mm512_maskz_loadu_ps(m, w + i)));
    }
}

// Rotations use mul + add (not FMA) in the same order as the scalar kernel.
void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t rot_dims, int32_t pos,
          const float* inv_freq, bool neox) {
    const int64_t half = rot_dims / 2;
    alignas(64) float c[kRopeChunk], s[kRopeChunk];
    // Pairs mode: cos and (-sin, +sin) repeated per pair, to rotate 8 pairs
    // per vector as x * cc + swap_pairs(x) * ss.
    alignas(64) float cc[2 * kRopeChunk], ss[2 * kRopeChunk];
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
                for (int64_t i = 0; i < cnt; i += 16) {
                    const __mmask16 m = lane_mask(cnt - i);
                    const __m512 a = _mm512_maskz_loadu_ps(m, lo + i);
                    const __m512 b = _mm512_maskz_loadu_ps(m, hi + i);
                    const __m512 vc = _mm512_maskz_loadu_ps(m, c + i);
                    const __m512 vs = _mm512_maskz_loadu_ps(m, s + i);
                    _mm512_mask_storeu_ps(
                        lo + i, m, _mm512_sub_ps(_mm512_mul_ps(a, vc), _mm512_mul_ps(b, vs)));
                    _mm512_mask_storeu_ps(
                        hi + i, m, _mm512_add_ps(_mm512_mul_ps(a, vs), _mm512_mul_ps(b, vc)));
                }
            } else {
                float* p = xh + 2 * i0;
                const int64_t len = 2 * cnt;
                for (int64_t d = 0; d < len; d += 16) {
                    // len is even, so a masked vector holds whole pairs.
                    const __mmask16 m = lane_mask(len - d);
                    const __m512 v = _mm512_maskz_loadu_ps(m, p + d);
                    const __m512 sw = _mm512_permute_ps(v, 0xB1);  // (x1, x0, x3, x2, ...)
                    const __m512 r =
                        _mm512_add_ps(_mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, cc + d)),
                                      _mm512_mul_ps(sw, _mm512_maskz_loadu_ps(m, ss + d)));
                    _mm512_mask_storeu_ps(p + d, m, r);
                }
            }
        }
    }
}

void softmax(float* x, int64_t n) {
    const __m512 ninf = _mm512_set1_ps(-__builtin_inff());
    __m512 vmax = ninf;
    for (int64_t i = 0; i < n; i += 16)
        vmax = _mm512_max_ps(vmax, _mm512_mask_loadu_ps(ninf, lane_mask(n - i), x + i));
    const __m512 vm = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = lane_mask(n - i);
        // Lanes past n are zeroed so they add nothing to the sum.
        const __m512 e =
            _mm512_maskz_mov_ps(m, exp_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), vm)));
        _mm512_mask_storeu_ps(x + i, m, e);
        add_wide(e, s0, s1);
    }
    const __m512 inv = _mm512_set1_ps(static_cast<float>(1.0 / hsum(_mm512_add_pd(s0, s1))));
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = lane_mask(n - i);
        _mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), inv));
    }
}

void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
    const __m512 one = _mm512_set1_ps(1.0f), sign = _mm512_set1_ps(-0.0f);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = lane_mask(n - i);
        const __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
        const __m512 u = _mm512_maskz_loadu_ps(m, up + i);
        // As in the AVX2 file: g * e^g / (1 + e^g) for g < 0, so e^-g cannot overflow.
        const __m512 e = exp_ps(_mm512_or_ps(g, sign));  // exp(-|g|)
        const __mmask16 neg = _mm512_movepi32_mask(_mm512_castps_si512(g));
        const __m512 num = _mm512_mask_mul_ps(g, neg, g, e);
        _mm512_mask_storeu_ps(out + i, m,
                              _mm512_mul_ps(_mm512_div_ps(num, _mm512_add_ps(one, e)), u));
    }
}

void add(float* y, const float* x, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = lane_mask(n - i);
        _mm512_mask_storeu_ps(
            y + i, m,
            _mm512_add_ps(_mm512_maskz_loadu_ps(m, y + i), _mm512_maskz_loadu_ps(m, x + i)));
    }
}

float dot_kv(const float* q, const void* k, DType kv_type, int64_t n) {
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps()};
    int64_t i = 0;
    if (kv_type == DType::F32) {
        const auto* kf = static_cast<const float*>(k);
        for (; i + 64 <= n; i += 64)
            for (int j = 0; j < 4; ++j)
                acc[j] = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 16 * j),
                                         _mm512_loadu_ps(kf + i + 16 * j), acc[j]);
        for (; i < n; i += 16) {
            const __mmask16 m = lane_mask(n - i);
            acc[0] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + i),
                                     _mm512_maskz_loadu_ps(m, kf + i), acc[0]);
        }
    } else if (kv_type == DType::F16) {
        const auto* kh = static_cast<const uint16_t*>(k);
        for (; i + 64 <= n; i += 64)
            for (int j = 0; j < 4; ++j)
                acc[j] = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 16 * j), load_f16(kh + i + 16 * j),
                                         acc[j]);
        for (; i < n; i += 16) {
            const __mmask16 m = lane_mask(n - i);
            acc[0] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + i), load_f16(kh + i, m), acc[0]);
        }
    } else {
        kernel_detail::unsupported_dtype("dot_kv", kv_type);
    }
    return hsum(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
}

void axpy_kv(float a, const void* v, DType kv_type, float* y, int64_t n) {
    const __m512 va = _mm512_set1_ps(a);
    if (kv_type == DType::F32) {
        const auto* vf = static_cast<const float*>(v);
        for (int64_t i = 0; i < n; i += 16) {
            const __mmask16 m = lane_mask(n - i);
            _mm512_mask_storeu_ps(y + i, m,
                                  _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, vf + i),
                                                  _mm512_maskz_loadu_ps(m, y + i)));
        }
    } else if (kv_type == DType::F16) {
        const auto* vh = static_cast<const uint16_t*>(v);
        for (int64_t i = 0; i < n; i += 16) {
            const __mmask16 m = lane_mask(n - i);
            _mm512_mask_storeu_ps(
                y + i, m,
                _mm512_fmadd_ps(va, load_f16(vh + i, m), _mm512_maskz_loadu_ps(m, y + i)));
        }
    } else {
        kernel_detail::unsupported_dtype("axpy_kv", kv_type);
    }
}

void store_kv(const float* x, void* dst, DType kv_type, int64_t n) {
    if (kv_type == DType::F32) {
        std::memcpy(dst, x, static_cast<size_t>(n) * sizeof(float));
    } else if (kv_type == DType::F16) {
        // Rounds to nearest even, like f32_to_f16.
        auto* d = static_cast<uint16_t*>(dst);
        for (int64_t i = 0; i < n; i += 16) {
            const __mmask16 m = lane_mask(n - i);
            const __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i),
                                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            _mm256_mask_storeu_epi16(d + i, m, h);
        }
    } else {
        kernel_detail::unsupported_dtype("store_kv", kv_type);
    }
}

float online_softmax_chunk(float* x, int64_t n, float* running_max) {
    const __m512 ninf = _mm512_set1_ps(-__builtin_inff());
    __m512 vmax = _mm512_set1_ps(*running_max);
    for (int64_t i = 0; i < n; i += 16)
        vmax = _mm512_max_ps(vmax, _mm512_mask_loadu_ps(ninf, lane_mask(n - i), x + i));
    const float mx = _mm512_reduce_max_ps(vmax);
    *running_max = mx;
    const __m512 vs = _mm512_set1_ps(mx);
    __m512 acc = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
        const __m512 v = _mm512_maskz_loadu_ps(lane_mask(n - i), x + i);
        // -inf (masked scores) gives exactly 0; lanes past n add nothing.
        const __mmask16 live = lane_mask(n - i) & _mm512_cmp_ps_mask(v, ninf, _CMP_NEQ_UQ);
        const __m512 e = _mm512_maskz_mov_ps(live, exp_ps(_mm512_sub_ps(v, vs)));
        _mm512_mask_storeu_ps(x + i, lane_mask(n - i), e);
        acc = _mm512_add_ps(acc, e);
    }
    return hsum(acc);
}

// MR rows x NV vectors of 16 columns (the last masked by `tail`), one fma
// chain per output over k. Fully unrolled: otherwise GCC keeps the
// accumulators in memory and stores them every step.
template <int MR, int NV>
void gemm_nn_tile(const float* X, int64_t ldx, const float* B, int64_t ldb, float* Y, int64_t ldy,
                  int64_t K, __mmask16 tail, bool accumulate) {
    const auto mask = [&](int v) { return v == NV - 1 ? tail : static_cast<__mmask16>(0xffff); };
    __m512 a[MR][NV];
#pragma GCC unroll 8
    for (int j = 0; j < MR; ++j)
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v)
            a[j][v] = accumulate ? _mm512_maskz_loadu_ps(mask(v), Y + j * ldy + 16 * v)
                                 : _mm512_setzero_ps();
    for (int64_t k = 0; k < K; ++k) {
        __m512 b[NV];
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) b[v] = _mm512_maskz_loadu_ps(mask(v), B + k * ldb + 16 * v);
#pragma GCC unroll 8
        for (int j = 0; j < MR; ++j) {
            const __m512 x = _mm512_set1_ps(X[j * ldx + k]);
#pragma GCC unroll 8
            for (int v = 0; v < NV; ++v) a[j][v] = _mm512_fmadd_ps(x, b[v], a[j][v]);
        }
    }
#pragma GCC unroll 8
    for (int j = 0; j < MR; ++j)
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) _mm512_mask_storeu_ps(Y + j * ldy + 16 * v, mask(v), a[j][v]);
}

template <int MR>
void gemm_nn_rows(const float* X, int64_t ldx, const float* B, int64_t ldb, float* Y, int64_t ldy,
                  int64_t K, int64_t N, bool accumulate) {
    for (int64_t n = 0; n < N; n += 64) {
        const int64_t w = min_i64(64, N - n);
        const __mmask16 tail = lane_mask(w - 16 * ((w - 1) / 16));
        switch ((w + 15) / 16) {
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
    if (N <= 16)  // one vector per row: 8 rows keep 8 fma chains in flight
        for (; m + 8 <= M; m += 8)
            gemm_nn_rows<8>(X + m * ldx, ldx, B, ldb, Y + m * ldy, ldy, K, N, accumulate);
    for (; m + 4 <= M; m += 4)
        gemm_nn_rows<4>(X + m * ldx, ldx, B, ldb, Y + m * ldy, ldy, K, N, accumulate);
    for (; m < M; ++m)
        gemm_nn_rows<1>(X + m * ldx, ldx, B, ldb, Y + m * ldy, ldy, K, N, accumulate);
}

// VNNI is not part of the AVX-512 baseline (Skylake-X lacks it).
void matmul_q8(DType wtype, const void* W, size_t w_stride, const void* Xq, float* Y, int64_t ldy,
               int64_t M, int64_t K, int64_t n0, int64_t n1) {
    if (cpu_features().avx512vnni)
        return kernel_detail::avx512vnni_matmul_q8(wtype, W, w_stride, Xq, Y, ldy, M, K, n0, n1);
    kernel_detail::avx2_matmul_q8(wtype, W, w_stride, Xq, Y, ldy, M, K, n0, n1);
}

void matmul_q8_packed(DType wtype, const void* Wp, const void* Xq, float* Y, int64_t ldy, int64_t M,
                      int64_t K, int64_t n0, int64_t n1) {
    if (cpu_features().avx512vnni)
        return kernel_detail::avx512vnni_matmul_q8_packed(wtype, Wp, Xq, Y, ldy, M, K, n0, n1);
    kernel_detail::avx2_matmul_q8_packed(wtype, Wp, Xq, Y, ldy, M, K, n0, n1);
}

}  // namespace

namespace kernel_detail {
constinit const KernelTable kAvx512Kernels = {
    Isa::Avx512,
    matmul,
    matmul_f_packed,
    avx2_quantize_rows_q8,
    matmul_q8,
    matmul_q8_packed,
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
