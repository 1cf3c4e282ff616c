#include "tensor/kquants.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "tensor/half.h"

namespace ig {
namespace {

// Round to nearest, ties to even, for |x| < 2^22 (as GGML's nearest_int:
// the reference algorithms' choices depend on exactly this rounding).
int nearest_int(float x) {
    const float v = x + 12582912.0f;  // 1.5 * 2^23
    int32_t i;
    std::memcpy(&i, &v, 4);
    return (i & 0x007fffff) - 0x00400000;
}

constexpr float kGroupMaxEps = 1e-15f;

// Scale and (negated) min for n values quantised to 0..nmax: x ~ scale * L -
// min_out. Starts from the min/max range, then tries nstep + 1 slightly
// different scales, refitting scale and min by weighted least squares for each
// rounding, and keeps the one with the smallest weighted squared error
// (GGML's make_qkx2_quants with use_mad = false).
float fit_scale_min(int n, int nmax, const float* x, const float* w, uint8_t* L, float* min_out,
                    float rmin, float rdelta, int nstep) {
    float mn = x[0], mx = x[0];
    float sum_w = w[0], sum_x = w[0] * x[0];
    for (int i = 1; i < n; ++i) {
        mn = std::min(mn, x[i]);
        mx = std::max(mx, x[i]);
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (mn > 0) mn = 0;
    if (mx == mn) {
        std::fill(L, L + n, uint8_t{0});
        *min_out = -mn;
        return 0.0f;
    }
    float iscale = nmax / (mx - mn);
    float scale = 1 / iscale;
    float best = 0;
    for (int i = 0; i < n; ++i) {
        const int l = std::clamp(nearest_int(iscale * (x[i] - mn)), 0, nmax);
        L[i] = static_cast<uint8_t>(l);
        const float diff = scale * l + mn - x[i];
        best += w[i] * diff * diff;
    }
    uint8_t aux[32];
    for (int is = 0; is <= nstep; ++is) {
        iscale = (rmin + rdelta * is + nmax) / (mx - mn);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; ++i) {
            const int l = std::clamp(nearest_int(iscale * (x[i] - mn)), 0, nmax);
            aux[i] = static_cast<uint8_t>(l);
            sum_l += w[i] * l;
            sum_l2 += w[i] * l * l;
            sum_xl += w[i] * l * x[i];
        }
        const float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float err = 0;
            for (int i = 0; i < n; ++i) {
                const float diff = this_scale * aux[i] + this_min - x[i];
                err += w[i] * diff * diff;
            }
            if (err < best) {
                std::copy(aux, aux + n, L);
                best = err;
                scale = this_scale;
                mn = this_min;
            }
        }
    }
    *min_out = -mn;
    return scale;
}

// Symmetric scale for n values quantised to -nmax..nmax-1 (stored in L as
// l + nmax): starts from the value of largest magnitude mapping to -nmax,
// then tries 18 nearby scales and keeps the best x^2-weighted least-squares
// fit (GGML's make_qx_quants with rmse_type 1).
float fit_scale_symmetric(int n, int nmax, const float* x, int8_t* L) {
    float amax = 0, vmax = 0;
    for (int i = 0; i < n; ++i) {
        if (std::fabs(x[i]) > amax) {
            amax = std::fabs(x[i]);
            vmax = x[i];
        }
    }
    if (amax < kGroupMaxEps) {
        std::fill(L, L + n, int8_t{0});
        return 0.0f;
    }
    const auto fit = [&](float iscale, float* sumlx, float* suml2) {
        *sumlx = *suml2 = 0;
        for (int i = 0; i < n; ++i) {
            const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
            const float w = x[i] * x[i];
            *sumlx += w * x[i] * l;
            *suml2 += w * l * l;
        }
    };
    const auto store = [&](float iscale) {
        for (int i = 0; i < n; ++i)
            L[i] =
                static_cast<int8_t>(nmax + std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1));
    };
    float iscale = -nmax / vmax;
    float sumlx, suml2;
    fit(iscale, &sumlx, &suml2);
    store(iscale);
    float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; ++is) {
        if (is == 0) continue;
        iscale = -(nmax + 0.1f * is) / vmax;
        fit(iscale, &sumlx, &suml2);
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            store(iscale);
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

// Packs 8 six-bit scales and mins into Q4_K/Q5_K's 12 bytes (the inverse of
// kquant_scale_min).
void pack_scale_min(const uint8_t* ls, const uint8_t* lm, uint8_t* out) {
    std::memset(out, 0, 12);
    for (int j = 0; j < 8; ++j) {
        if (j < 4) {
            out[j] = ls[j];
            out[j + 4] = lm[j];
        } else {
            out[j + 4] = static_cast<uint8_t>((ls[j] & 0x0f) | ((lm[j] & 0x0f) << 4));
            out[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
            out[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
        }
    }
}

// Shared by Q4_K (nmax 15) and Q5_K (nmax 31): per sub-block scale/min fit,
// 6-bit quantisation of those against the super-block's d and dmin, then the
// elements re-rounded against the stored (quantised) scales. L gets 0..nmax.
void quantize_k_superblock(const float* x, int nmax, float rmin, float rdelta, int nstep,
                           uint16_t* d_out, uint16_t* dmin_out, uint8_t* scales_out, uint8_t* L) {
    float scales[8], mins[8], w[32];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; ++j) {
        const float* xb = x + 32 * j;
        float sum_x2 = 0;
        for (int l = 0; l < 32; ++l) sum_x2 += xb[l] * xb[l];
        const float av_x = std::sqrt(sum_x2 / 32);
        for (int l = 0; l < 32; ++l) w[l] = av_x + std::fabs(xb[l]);
        scales[j] = fit_scale_min(32, nmax, xb, w, L + 32 * j, &mins[j], rmin, rdelta, nstep);
        max_scale = std::max(max_scale, scales[j]);
        max_min = std::max(max_min, mins[j]);
    }
    const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
    const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
    uint8_t ls[8], lm[8];
    for (int j = 0; j < 8; ++j) {
        ls[j] = static_cast<uint8_t>(std::min(63, nearest_int(inv_scale * scales[j])));
        lm[j] = static_cast<uint8_t>(std::min(63, nearest_int(inv_min * mins[j])));
    }
    pack_scale_min(ls, lm, scales_out);
    *d_out = f32_to_f16(max_scale / 63.0f);
    *dmin_out = f32_to_f16(max_min / 63.0f);
    const float d = f16_to_f32(*d_out), dmin = f16_to_f32(*dmin_out);
    for (int j = 0; j < 8; ++j) {
        uint8_t sc, mn;
        kquant_scale_min(j, scales_out, &sc, &mn);
        const float ds = d * sc;
        if (ds == 0.0f) continue;
        const float dm = dmin * mn;
        for (int l = 0; l < 32; ++l)
            L[32 * j + l] =
                static_cast<uint8_t>(std::clamp(nearest_int((x[32 * j + l] + dm) / ds), 0, nmax));
    }
}

}  // namespace

void quantize_q4_k(const float* x, BlockQ4_K* y, int64_t n) {
    uint8_t L[kQK_K];
    for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
        quantize_k_superblock(x, 15, -1.0f, 0.1f, 20, &y[b].d, &y[b].dmin, y[b].scales, L);
        for (int g = 0; g < 4; ++g)
            for (int l = 0; l < 32; ++l)
                y[b].qs[32 * g + l] =
                    static_cast<uint8_t>(L[64 * g + l] | (L[64 * g + 32 + l] << 4));
    }
}

void quantize_q5_k(const float* x, BlockQ5_K* y, int64_t n) {
    uint8_t L[kQK_K];
    for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
        quantize_k_superblock(x, 31, -0.5f, 0.1f, 15, &y[b].d, &y[b].dmin, y[b].scales, L);
        std::memset(y[b].qh, 0, sizeof(y[b].qh));
        for (int g = 0; g < 4; ++g) {
            for (int l = 0; l < 32; ++l) {
                const int lo = L[64 * g + l], hi = L[64 * g + 32 + l];
                y[b].qh[l] |=
                    static_cast<uint8_t>(((lo >> 4) << (2 * g)) | ((hi >> 4) << (2 * g + 1)));
                y[b].qs[32 * g + l] = static_cast<uint8_t>((lo & 0x0f) | ((hi & 0x0f) << 4));
            }
        }
    }
}

void quantize_q6_k(const float* x, BlockQ6_K* y, int64_t n) {
    int8_t L[kQK_K];
    for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
        float scales[16];
        float max_scale = 0, max_abs = 0;
        for (int j = 0; j < 16; ++j) {
            scales[j] = fit_scale_symmetric(16, 32, x + 16 * j, L + 16 * j);
            if (std::fabs(scales[j]) > max_abs) {
                max_abs = std::fabs(scales[j]);
                max_scale = scales[j];
            }
        }
        if (max_abs < kGroupMaxEps) {
            std::memset(&y[b], 0, sizeof(BlockQ6_K));
            continue;
        }
        const float iscale = -128.0f / max_scale;
        y[b].d = f32_to_f16(1 / iscale);
        for (int j = 0; j < 16; ++j)
            y[b].scales[j] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[j])));
        const float d = f16_to_f32(y[b].d);
        for (int j = 0; j < 16; ++j) {
            const float ds = d * y[b].scales[j];
            if (ds == 0.0f) continue;
            for (int l = 0; l < 16; ++l)
                L[16 * j + l] =
                    static_cast<int8_t>(32 + std::clamp(nearest_int(x[16 * j + l] / ds), -32, 31));
        }
        for (int h = 0; h < 2; ++h) {
            const int8_t* Lh = L + 128 * h;
            uint8_t* ql = y[b].ql + 64 * h;
            uint8_t* qh = y[b].qh + 32 * h;
            for (int l = 0; l < 32; ++l) {
                const int q0 = Lh[l], q1 = Lh[l + 32], q2 = Lh[l + 64], q3 = Lh[l + 96];
                ql[l] = static_cast<uint8_t>((q0 & 0x0f) | ((q2 & 0x0f) << 4));
                ql[l + 32] = static_cast<uint8_t>((q1 & 0x0f) | ((q3 & 0x0f) << 4));
                qh[l] = static_cast<uint8_t>((q0 >> 4) | ((q1 >> 4) << 2) | ((q2 >> 4) << 4) |
                                             ((q3 >> 4) << 6));
            }
        }
    }
}

void quantize_q8_k(const float* x, BlockQ8_K* y, int64_t n) {
    for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
        float amax = 0, vmax = 0;
        for (int j = 0; j < kQK_K; ++j) {
            if (std::fabs(x[j]) > amax) {
                amax = std::fabs(x[j]);
                vmax = x[j];
            }
        }
        if (amax == 0.0f) {
            std::memset(&y[b], 0, sizeof(BlockQ8_K));
            continue;
        }
        // The largest magnitude maps to -127 (as GGML; +127 is clamped).
        const float iscale = -127.0f / vmax;
        for (int j = 0; j < kQK_K; ++j)
            y[b].qs[j] = static_cast<int8_t>(std::min(127, nearest_int(iscale * x[j])));
        for (int j = 0; j < 16; ++j) {
            int s = 0;
            for (int l = 0; l < 16; ++l) s += y[b].qs[16 * j + l];
            y[b].bsums[j] = static_cast<int16_t>(s);
        }
        y[b].d = 1 / iscale;
    }
}

// Dequantisation: each element is (d * scale) * q [- dmin * min], each
// product rounded to float, in this order; the vector kernels compute
// exactly the same operations.
void dequantize_q4_k(const BlockQ4_K* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / kQK_K; ++b) {
        const float d = f16_to_f32(x[b].d), dmin = f16_to_f32(x[b].dmin);
        for (int g = 0; g < 4; ++g) {
            uint8_t sc, mn;
            kquant_scale_min(2 * g, x[b].scales, &sc, &mn);
            const float d1 = d * sc, m1 = dmin * mn;
            kquant_scale_min(2 * g + 1, x[b].scales, &sc, &mn);
            const float d2 = d * sc, m2 = dmin * mn;
            const uint8_t* q = x[b].qs + 32 * g;
            for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0x0f) - m1;
            for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
        }
    }
}

void dequantize_q5_k(const BlockQ5_K* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / kQK_K; ++b) {
        const float d = f16_to_f32(x[b].d), dmin = f16_to_f32(x[b].dmin);
        for (int g = 0; g < 4; ++g) {
            uint8_t sc, mn;
            kquant_scale_min(2 * g, x[b].scales, &sc, &mn);
            const float d1 = d * sc, m1 = dmin * mn;
            kquant_scale_min(2 * g + 1, x[b].scales, &sc, &mn);
            const float d2 = d * sc, m2 = dmin * mn;
            const uint8_t* q = x[b].qs + 32 * g;
            const uint8_t* qh = x[b].qh;
            for (int l = 0; l < 32; ++l)
                *y++ =
                    d1 * static_cast<float>((q[l] & 0x0f) | (((qh[l] >> (2 * g)) & 1) << 4)) - m1;
            for (int l = 0; l < 32; ++l)
                *y++ =
                    d2 * static_cast<float>((q[l] >> 4) | (((qh[l] >> (2 * g + 1)) & 1) << 4)) - m2;
        }
    }
}

void dequantize_q6_k(const BlockQ6_K* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / kQK_K; ++b) {
        const float d = f16_to_f32(x[b].d);
        for (int h = 0; h < 2; ++h) {
            const uint8_t* ql = x[b].ql + 64 * h;
            const uint8_t* qh = x[b].qh + 32 * h;
            const int8_t* sc = x[b].scales + 8 * h;
            float* yh = y + 128 * h;
            for (int l = 0; l < 32; ++l) {
                const int q0 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q1 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q2 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q3 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                const int s = l / 16;
                yh[l] = (d * sc[s]) * static_cast<float>(q0);
                yh[l + 32] = (d * sc[s + 2]) * static_cast<float>(q1);
                yh[l + 64] = (d * sc[s + 4]) * static_cast<float>(q2);
                yh[l + 96] = (d * sc[s + 6]) * static_cast<float>(q3);
            }
        }
        y += kQK_K;
    }
}

void dequantize_q8_k(const BlockQ8_K* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / kQK_K; ++b)
        for (int j = 0; j < kQK_K; ++j) *y++ = x[b].d * x[b].qs[j];
}

}  // namespace ig
