// AVX2 integer matmul path (matmul_q8): activation rows quantized to 8-bit
// blocks, weight blocks unpacked to int8 and dotted with
// _mm256_maddubs_epi16 (unsigned x signed bytes; signed weights use the sign
// trick |w| * sign(x, w)) and _mm256_madd_epi16 (which also applies the
// K-quants' integer sub-block scales). Reproduces the canonical result of
// kernel_impl.h bit for bit. Compiled with -mavx2 -mfma -mf16c; everything
// but the two kernel_detail entry points stays in an anonymous namespace.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/kernel_impl.h"

namespace ig {
namespace {

using kernel_detail::kQ8DOffset;
using kernel_detail::kQ8Group;
using kernel_detail::kQ8GroupBytes;
using kernel_detail::kQ8SumOffset;

constexpr int kBlocks = 8;

inline int64_t min_i64(int64_t a, int64_t b) {
    return a < b ? a : b;
}

// ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)): the canonical order.
inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

inline int32_t hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
    return _mm_cvtsi128_si32(s);
}

inline float f16_at(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
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

// Touches [p, p + bytes) into the cache ahead of use (never faults).
inline void prefetch(const uint8_t* p, size_t bytes) {
    for (size_t o = 0; o < bytes; o += 64)
        _mm_prefetch(reinterpret_cast<const char*>(p + o), _MM_HINT_T0);
}

// ---------------------------------------------------------------------------
// Weights: a group (up to 8 blocks of 32) of one row, unpacked.

struct alignas(32) UGroup {
    int8_t w[kQ8Group];       // the weight integers
    uint8_t aw[kQ8Group];     // |w| (signed types)
    int16_t sc[kBlocks][16];  // madd multipliers per block (scaled types)
    float dw[kBlocks];
    float mn[kBlocks];  // dmin * min_j (types with mins)
};

// kSigned: w may be negative (sign trick); kScaled: integer sub-block
// scales; kMins: Q4_K/Q5_K min terms.
template <DType T>
struct Traits;

template <>
struct Traits<DType::Q8_0> {
    static constexpr size_t kGroupBytes = 8 * 34;  // one group of one row
    static constexpr bool kSigned = true, kScaled = false, kMins = false;
    static void unpack(const uint8_t* row, int64_t g, int nb, UGroup& u) {
        for (int b = 0; b < nb; ++b) {
            const uint8_t* p = row + static_cast<size_t>(g * kBlocks + b) * 34;
            u.dw[b] = f16_at(p);
            const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 2));
            _mm256_store_si256(reinterpret_cast<__m256i*>(u.w + 32 * b), w);
            _mm256_store_si256(reinterpret_cast<__m256i*>(u.aw + 32 * b), _mm256_abs_epi8(w));
        }
    }
};

template <>
struct Traits<DType::Q4_0> {
    static constexpr size_t kGroupBytes = 8 * 18;  // one group of one row
    static constexpr bool kSigned = true, kScaled = false, kMins = false;
    static void unpack(const uint8_t* row, int64_t g, int nb, UGroup& u) {
        const __m128i m4 = _mm_set1_epi8(0x0f);
        const __m256i eight = _mm256_set1_epi8(8);
        for (int b = 0; b < nb; ++b) {
            const uint8_t* p = row + static_cast<size_t>(g * kBlocks + b) * 18;
            u.dw[b] = f16_at(p);
            const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2));
            const __m256i w = _mm256_sub_epi8(
                _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m4), _mm_and_si128(q, m4)),
                eight);
            _mm256_store_si256(reinterpret_cast<__m256i*>(u.w + 32 * b), w);
            _mm256_store_si256(reinterpret_cast<__m256i*>(u.aw + 32 * b), _mm256_abs_epi8(w));
        }
    }
};

// Q4_K/Q5_K scale and min of sub-block j from the 12 packed bytes.
inline void scale_min_k(int j, const uint8_t* q, int* sc, int* mn) {
    if (j < 4) {
        *sc = q[j] & 63;
        *mn = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4);
        *mn = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

template <bool Q5>
void unpack_affine_k(const uint8_t* row, int64_t g, UGroup& u) {
    const uint8_t* p = row + static_cast<size_t>(g) * (Q5 ? 176 : 144);
    const float d = f16_at(p), dmin = f16_at(p + 2);
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 16));
    for (int j = 0; j < kBlocks; ++j) {
        int sc, mn;
        scale_min_k(j, p + 4, &sc, &mn);
        u.dw[j] = d;
        u.mn[j] = dmin * static_cast<float>(mn);
        _mm256_store_si256(reinterpret_cast<__m256i*>(u.sc[j]),
                           _mm256_set1_epi16(static_cast<int16_t>(sc)));
        const __m256i q =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + (Q5 ? 48 : 16) + 32 * (j / 2)));
        __m256i w = j % 2 ? _mm256_and_si256(_mm256_srli_epi16(q, 4), m4) : _mm256_and_si256(q, m4);
        if constexpr (Q5) {
            // Bit j of each qh byte becomes bit 4.
            const __m256i hb = _mm256_slli_epi16(
                _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(j)), _mm256_set1_epi8(1)),
                4);
            w = _mm256_or_si256(w, hb);
        }
        _mm256_store_si256(reinterpret_cast<__m256i*>(u.w + 32 * j), w);
    }
}

template <>
struct Traits<DType::Q4_K> {
    static constexpr size_t kGroupBytes = 144;  // one group of one row
    static constexpr bool kSigned = false, kScaled = true, kMins = true;
    static void unpack(const uint8_t* row, int64_t g, int, UGroup& u) {
        unpack_affine_k<false>(row, g, u);
    }
};

template <>
struct Traits<DType::Q5_K> {
    static constexpr size_t kGroupBytes = 176;  // one group of one row
    static constexpr bool kSigned = false, kScaled = true, kMins = true;
    static void unpack(const uint8_t* row, int64_t g, int, UGroup& u) {
        unpack_affine_k<true>(row, g, u);
    }
};

template <>
struct Traits<DType::Q6_K> {
    static constexpr size_t kGroupBytes = 210;  // one group of one row
    static constexpr bool kSigned = true, kScaled = true, kMins = false;
    // Sub-block j is quarter r = j % 4 of half h = j / 4 (see quantize.h).
    static void unpack(const uint8_t* row, int64_t g, int, UGroup& u) {
        const uint8_t* p = row + static_cast<size_t>(g) * 210;
        const float d = f16_at(p + 208);
        const auto* s = reinterpret_cast<const int8_t*>(p + 192);
        const __m256i m4 = _mm256_set1_epi8(0x0f);
        for (int j = 0; j < kBlocks; ++j) {
            const int h = j / 4, r = j % 4;
            u.dw[j] = d;
            _mm256_store_si256(
                reinterpret_cast<__m256i*>(u.sc[j]),
                _mm256_set_m128i(_mm_set1_epi16(s[2 * j + 1]), _mm_set1_epi16(s[2 * j])));
            const __m256i ql =
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 64 * h + 32 * (r % 2)));
            const __m256i qh =
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 128 + 32 * h));
            const __m256i low =
                r < 2 ? _mm256_and_si256(ql, m4) : _mm256_and_si256(_mm256_srli_epi16(ql, 4), m4);
            const __m256i hb = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * r)),
                                                _mm256_set1_epi8(3));
            const __m256i w = _mm256_sub_epi8(_mm256_or_si256(low, _mm256_slli_epi16(hb, 4)),
                                              _mm256_set1_epi8(32));
            _mm256_store_si256(reinterpret_cast<__m256i*>(u.w + 32 * j), w);
            _mm256_store_si256(reinterpret_cast<__m256i*>(u.aw + 32 * j), _mm256_abs_epi8(w));
        }
    }
};

// ---------------------------------------------------------------------------
// Tiles: NR unpacked weight rows x MR X rows over `ng` groups, accumulators
// loaded from / stored to acc (zero when `first`).

constexpr int kTileN = 4;
constexpr int kTileM = 2;
constexpr int64_t kChunkGroups = 8;  // groups unpacked at a time (2048 elements)
constexpr int64_t kPanel = 64;       // X rows per pass over an unpacked chunk

using UChunk = UGroup[kChunkGroups];

template <DType T, int NR, int MR>
void tile(const UChunk* u, int64_t ng, int nb_last, const uint8_t* x, size_t xs, float* acc,
          bool first) {
    using Tr = Traits<T>;
    __m256 a[NR][MR];
    for (int i = 0; i < NR; ++i)
        for (int j = 0; j < MR; ++j)
            a[i][j] = first ? _mm256_setzero_ps() : _mm256_load_ps(acc + (i * kPanel + j) * 8);
    const __m256i ones = _mm256_set1_epi16(1);
    for (int64_t gi = 0; gi < ng; ++gi) {
        const int nb = gi == ng - 1 ? nb_last : kBlocks;
        const uint8_t* xg = x + gi * kQ8GroupBytes;
        alignas(32) float dd[NR][MR][kBlocks];
        for (int i = 0; i < NR; ++i) {
            const __m256 dw = _mm256_load_ps(u[i][gi].dw);
            for (int j = 0; j < MR; ++j)
                _mm256_store_ps(dd[i][j],
                                _mm256_mul_ps(dw, _mm256_loadu_ps(reinterpret_cast<const float*>(
                                                      xg + j * xs + kQ8DOffset))));
        }
        const auto block = [&](int b) __attribute__((always_inline)) {
            __m256i xv[MR];
            for (int j = 0; j < MR; ++j)
                xv[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xg + j * xs + 32 * b));
            for (int i = 0; i < NR; ++i) {
                const UGroup& ug = u[i][gi];
                const __m256i wv = _mm256_load_si256(reinterpret_cast<const __m256i*>(
                    Tr::kSigned ? static_cast<const void*>(ug.aw + 32 * b)
                                : static_cast<const void*>(ug.w + 32 * b)));
                const __m256i mult =
                    Tr::kScaled ? _mm256_load_si256(reinterpret_cast<const __m256i*>(ug.sc[b]))
                                : ones;
                for (int j = 0; j < MR; ++j) {
                    __m256i xs_ = xv[j];
                    if constexpr (Tr::kSigned)
                        xs_ = _mm256_sign_epi8(
                            xs_,
                            _mm256_load_si256(reinterpret_cast<const __m256i*>(ug.w + 32 * b)));
                    const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(wv, xs_), mult);
                    a[i][j] = _mm256_fmadd_ps(_mm256_broadcast_ss(&dd[i][j][b]),
                                              _mm256_cvtepi32_ps(p), a[i][j]);
                }
            }
        };
        // Whole groups unrolled: with a variable trip count GCC keeps
        // storing the accumulators to the stack every block.
        if (nb == kBlocks) {
#pragma GCC unroll 8
            for (int b = 0; b < kBlocks; ++b) block(b);
        } else {
            for (int b = 0; b < nb; ++b) block(b);
        }
        if constexpr (Tr::kMins) {
            for (int j = 0; j < MR; ++j) {
                const __m256 dx =
                    _mm256_loadu_ps(reinterpret_cast<const float*>(xg + j * xs + kQ8DOffset));
                const __m256 sx = _mm256_cvtepi32_ps(_mm256_loadu_si256(
                    reinterpret_cast<const __m256i*>(xg + j * xs + kQ8SumOffset)));
                for (int i = 0; i < NR; ++i)
                    a[i][j] = _mm256_fnmadd_ps(_mm256_mul_ps(_mm256_load_ps(u[i][gi].mn), dx), sx,
                                               a[i][j]);
            }
        }
    }
    for (int i = 0; i < NR; ++i)
        for (int j = 0; j < MR; ++j) _mm256_store_ps(acc + (i * kPanel + j) * 8, a[i][j]);
}

using TileFn = void (*)(const UChunk*, int64_t, int, const uint8_t*, size_t, float*, bool);

template <DType T>
constexpr TileFn kTiles[kTileN][kTileM] = {
    {tile<T, 1, 1>, tile<T, 1, 2>},
    {tile<T, 2, 1>, tile<T, 2, 2>},
    {tile<T, 3, 1>, tile<T, 3, 2>},
    {tile<T, 4, 1>, tile<T, 4, 2>},
};

// Weight rows in tiles of kTileN; per tile, X rows in panels of kPanel; per
// panel, K in chunks of kChunkGroups groups, each unpacked once and run
// against the panel's X rows in tiles of kTileM. Accumulators live in `acc`
// between chunks, so each output is reduced in the canonical order.
template <DType T>
void matmul_t(const uint8_t* W, size_t w_stride, const uint8_t* Xq, float* Y, int64_t ldy,
              int64_t M, int64_t K, int64_t n0, int64_t n1) {
    const int64_t blocks = K / 32;
    const int64_t groups = (blocks + kBlocks - 1) / kBlocks;
    const int nb_tail = static_cast<int>(blocks - (groups - 1) * kBlocks);
    const size_t xs = q8_row_bytes(K);
    UChunk ubuf[kTileN];
    alignas(32) float acc[kTileN * kPanel * 8];
    for (int64_t n = n0; n < n1; n += kTileN) {
        const int nr = static_cast<int>(min_i64(kTileN, n1 - n));
        for (int64_t m0 = 0; m0 < M; m0 += kPanel) {
            const int64_t mp = min_i64(kPanel, M - m0);
            for (int64_t g0 = 0; g0 < groups; g0 += kChunkGroups) {
                const int64_t gc = min_i64(kChunkGroups, groups - g0);
                const int nb_last = g0 + gc == groups ? nb_tail : kBlocks;
                for (int i = 0; i < nr; ++i) {
                    const uint8_t* row = W + static_cast<size_t>(n + i) * w_stride;
                    // The same chunk of the next tile's rows, so that DRAM
                    // works while this tile computes (see direct_tile).
                    prefetch(row + kTileN * w_stride + g0 * Traits<T>::kGroupBytes,
                             static_cast<size_t>(gc) * Traits<T>::kGroupBytes);
                    for (int64_t gi = 0; gi < gc; ++gi)
                        Traits<T>::unpack(row, g0 + gi, gi == gc - 1 ? nb_last : kBlocks,
                                          ubuf[i][gi]);
                }
                for (int64_t m = 0; m < mp; m += kTileM) {
                    const int mr = static_cast<int>(min_i64(kTileM, mp - m));
                    kTiles<T>[nr - 1][mr - 1](ubuf, gc, nb_last,
                                              Xq + (m0 + m) * xs + g0 * kQ8GroupBytes, xs,
                                              acc + m * 8, g0 == 0);
                }
            }
            for (int i = 0; i < nr; ++i)
                for (int64_t m = 0; m < mp; ++m)
                    Y[(m0 + m) * ldy + n + i] = hsum(_mm256_load_ps(acc + (i * kPanel + m) * 8));
        }
    }
}

// ---------------------------------------------------------------------------
// Small M (decode batches) for Q8_0 / Q4_0: no unpacked copy; each weight
// block goes from memory straight into the dot products of MR activation
// rows, NR weight rows at a time so that NR x MR accumulator chains overlap.
// An NR-row slice of W is re-read (from L1/L2) for each group of MR X rows.
// Same per-lane operations and order as the tiles.

// Q8_0: the signed weights. Q4_0: the nibbles 0..15, unsigned; the -8 is
// applied to the products (see direct_tile).
template <DType T>
inline __m256i load_block_w(const uint8_t* p) {
    if constexpr (T == DType::Q8_0) {
        return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 2));
    } else {
        const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2));
        const __m128i m4 = _mm_set1_epi8(0x0f);
        return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m4), _mm_and_si128(q, m4));
    }
}

// The block's f16 scale, converted and broadcast.
inline __m256 load_block_d(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return _mm256_cvtph_ps(_mm_set1_epi16(static_cast<int16_t>(h)));
}

template <DType T, int NR, int MR>
void direct_tile(const uint8_t* W, size_t w_stride, const uint8_t* x, size_t xs, int64_t blocks,
                 float* Y, int64_t ldy) {
    constexpr size_t kBlockBytes = T == DType::Q8_0 ? 34 : 18;
    constexpr size_t kAheadTiles = T == DType::Q8_0 ? 2 : 1;  // measured (kernels_bench)
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 a[NR][MR];
    for (int i = 0; i < NR; ++i)
        for (int j = 0; j < MR; ++j) a[i][j] = _mm256_setzero_ps();
    for (int64_t bi = 0; bi < blocks; ++bi) {
        const size_t xo = static_cast<size_t>((bi / kBlocks) * kQ8GroupBytes);
        const int64_t b = bi % kBlocks;
        __m256i xv[MR], x8[MR];
        __m256 dx[MR];
        for (int j = 0; j < MR; ++j) {
            const uint8_t* xg = x + j * xs + xo;
            xv[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xg + 32 * b));
            dx[j] = _mm256_broadcast_ss(reinterpret_cast<const float*>(xg + kQ8DOffset + 4 * b));
            // Q4_0: (w - 8) * x summed in pairs is u * x - 8 * x with u the
            // nibble; every term fits int16, so this equals the canonical
            // |w| * sign(x, w) pairs exactly, for one op per weight row
            // instead of two.
            if constexpr (T == DType::Q4_0)
                x8[j] = _mm256_maddubs_epi16(_mm256_set1_epi8(8), xv[j]);
        }
        for (int i = 0; i < NR; ++i) {
            const uint8_t* p = W + i * w_stride + static_cast<size_t>(bi) * kBlockBytes;
            // The next NR rows, one tile ahead: NR short interleaved row
            // streams defeat the hardware prefetcher (M = 1 read DRAM at a
            // third of a plain stream's rate).
            _mm_prefetch(reinterpret_cast<const char*>(p + kAheadTiles * NR * w_stride),
                         _MM_HINT_T0);
            const __m256i w = load_block_w<T>(p);
            const __m256 dw = load_block_d(p);
            for (int j = 0; j < MR; ++j) {
                __m256i p16;
                if constexpr (T == DType::Q4_0)
                    p16 = _mm256_sub_epi16(_mm256_maddubs_epi16(w, xv[j]), x8[j]);
                else
                    p16 = _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(xv[j], w));
                const __m256i p32 = _mm256_madd_epi16(p16, ones);
                a[i][j] =
                    _mm256_fmadd_ps(_mm256_mul_ps(dw, dx[j]), _mm256_cvtepi32_ps(p32), a[i][j]);
            }
        }
    }
    for (int i = 0; i < NR; ++i)
        for (int j = 0; j < MR; ++j) Y[j * ldy + i] = hsum(a[i][j]);
}

// Rows [n0, n1) of W against the M rows of Xq, for M <= kDirectMaxM.
constexpr int64_t kDirectMaxM = 4;  // above, the unpacked tiles are as fast (kernels_bench)

template <DType T, int NR>
void direct_rows(const uint8_t* W, size_t w_stride, const uint8_t* Xq, size_t xs, int64_t M,
                 int64_t blocks, float* Y, int64_t ldy) {
    int64_t m = 0;
    if constexpr (NR <= 2) {
        for (; m + 4 <= M; m += 4)
            direct_tile<T, NR, 4>(W, w_stride, Xq + m * xs, xs, blocks, Y + m * ldy, ldy);
    }
    for (; m + 2 <= M; m += 2)
        direct_tile<T, NR, 2>(W, w_stride, Xq + m * xs, xs, blocks, Y + m * ldy, ldy);
    if (m < M) direct_tile<T, NR, 1>(W, w_stride, Xq + m * xs, xs, blocks, Y + m * ldy, ldy);
}

template <DType T>
void direct_t(const uint8_t* W, size_t w_stride, const uint8_t* Xq, float* Y, int64_t ldy,
              int64_t M, int64_t K, int64_t n0, int64_t n1) {
    const int64_t blocks = K / 32;
    const size_t xs = q8_row_bytes(K);
    int64_t n = n0;
    // One activation row: 4 weight rows per pass; more: 2 (registers).
    if (M == 1) {
        for (; n + 4 <= n1; n += 4)
            direct_rows<T, 4>(W + static_cast<size_t>(n) * w_stride, w_stride, Xq, xs, M, blocks,
                              Y + n, ldy);
    }
    for (; n + 2 <= n1; n += 2)
        direct_rows<T, 2>(W + static_cast<size_t>(n) * w_stride, w_stride, Xq, xs, M, blocks, Y + n,
                          ldy);
    if (n < n1)
        direct_rows<T, 1>(W + static_cast<size_t>(n) * w_stride, w_stride, Xq, xs, M, blocks, Y + n,
                          ldy);
}

}  // namespace

namespace kernel_detail {

void avx2_quantize_rows_q8(const float* X, int64_t ldx, int64_t M, int64_t K, void* Xq) {
    quantize_rows(X, ldx, M, K, Xq);
}

void avx2_matmul_q8(DType wtype, const void* W, size_t w_stride, const void* Xq, float* Y,
                    int64_t ldy, int64_t M, int64_t K, int64_t n0, int64_t n1) {
    if (M <= 0 || n1 <= n0) return;
    if (K == 0) {
        for (int64_t m = 0; m < M; ++m)
            for (int64_t n = n0; n < n1; ++n) Y[m * ldy + n] = 0.0f;
        return;
    }
    const auto* w = static_cast<const uint8_t*>(W);
    const auto* x = static_cast<const uint8_t*>(Xq);
    switch (wtype) {
        case DType::Q8_0:
            if (M <= kDirectMaxM)
                return direct_t<DType::Q8_0>(w, w_stride, x, Y, ldy, M, K, n0, n1);
            return matmul_t<DType::Q8_0>(w, w_stride, x, Y, ldy, M, K, n0, n1);
        case DType::Q4_0:
            if (M <= kDirectMaxM)
                return direct_t<DType::Q4_0>(w, w_stride, x, Y, ldy, M, K, n0, n1);
            return matmul_t<DType::Q4_0>(w, w_stride, x, Y, ldy, M, K, n0, n1);
        case DType::Q4_K:
            return matmul_t<DType::Q4_K>(w, w_stride, x, Y, ldy, M, K, n0, n1);
        case DType::Q5_K:
            return matmul_t<DType::Q5_K>(w, w_stride, x, Y, ldy, M, K, n0, n1);
        case DType::Q6_K:
            return matmul_t<DType::Q6_K>(w, w_stride, x, Y, ldy, M, K, n0, n1);
        default:
            unsupported_dtype("matmul_q8", wtype);
    }
}

}  // namespace kernel_detail
}  // namespace ig
