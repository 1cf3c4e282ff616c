// Scalar reference of the integer matmul path (matmul_q8): activation
// quantization and the canonical integer dot products described in
// kernel_impl.h. The vector kernels reproduce these results bit for bit.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/kernel_impl.h"
#include "tensor/half.h"
#include "tensor/quantize.h"

namespace ig {

size_t q8_row_bytes(int64_t K) {
    return static_cast<size_t>((K + kernel_detail::kQ8Group - 1) / kernel_detail::kQ8Group *
                               kernel_detail::kQ8GroupBytes);
}

bool matmul_q8_supports(DType wtype) {
    switch (wtype) {
        case DType::Q8_0:
        case DType::Q4_0:
        case DType::Q4_K:
        case DType::Q5_K:
        case DType::Q6_K:
            return true;
        default:
            return false;
    }
}

namespace kernel_detail {
namespace {

constexpr int kBlocks = 8;  // blocks of 32 per group

// One weight row's group of up to 8 blocks as integers and scales (see the
// canonical definition in kernel_impl.h).
struct Unpacked {
    int8_t w[kQ8Group];
    int32_t s[kBlocks][2];  // integer scale of elements 0-15 / 16-31 of each block
    float dw[kBlocks];
};

float f16_at(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return f16_to_f32(h);
}

// Group g (blocks [8g, 8g + nb)) of weight row `row`.
void unpack(DType t, const uint8_t* row, int64_t g, int nb, Unpacked& u) {
    for (int b = 0; b < kBlocks; ++b) u.s[b][0] = u.s[b][1] = 1;
    switch (t) {
        case DType::Q8_0:
            for (int b = 0; b < nb; ++b) {
                const uint8_t* p = row + static_cast<size_t>(g * kBlocks + b) * sizeof(BlockQ8_0);
                u.dw[b] = f16_at(p);
                std::memcpy(u.w + 32 * b, p + 2, 32);
            }
            return;
        case DType::Q4_0:
            for (int b = 0; b < nb; ++b) {
                const uint8_t* p = row + static_cast<size_t>(g * kBlocks + b) * sizeof(BlockQ4_0);
                u.dw[b] = f16_at(p);
                for (int i = 0; i < 16; ++i) {
                    u.w[32 * b + i] = static_cast<int8_t>((p[2 + i] & 0x0f) - 8);
                    u.w[32 * b + 16 + i] = static_cast<int8_t>((p[2 + i] >> 4) - 8);
                }
            }
            return;
        case DType::Q6_K: {
            const uint8_t* p = row + static_cast<size_t>(g) * sizeof(BlockQ6_K);
            const float d = f16_at(p + 208);
            const auto* sc = reinterpret_cast<const int8_t*>(p + 192);
            for (int j = 0; j < kBlocks; ++j) {
                const int h = j / 4, r = j % 4;
                u.s[j][0] = sc[2 * j];
                u.s[j][1] = sc[2 * j + 1];
                u.dw[j] = d;
                for (int l = 0; l < 32; ++l) {
                    const uint8_t lb = p[64 * h + 32 * (r % 2) + l];
                    const int low = r < 2 ? lb & 0x0f : lb >> 4;
                    const int high = (p[128 + 32 * h + l] >> (2 * r)) & 3;
                    u.w[32 * j + l] = static_cast<int8_t>((low | (high << 4)) - 32);
                }
            }
            return;
        }
        default:
            unsupported_dtype("matmul_q8", t);
    }
}

// Activation block bi of the quantized row xr: its 32 quants, scale and sum.
struct ActBlock {
    const int8_t* q;
    float d;
    int32_t sum;
};
ActBlock act_block(const uint8_t* xr, int64_t bi) {
    const uint8_t* xg = xr + (bi / kBlocks) * kQ8GroupBytes;
    const int64_t b = bi % kBlocks;
    ActBlock a{reinterpret_cast<const int8_t*>(xg + 32 * b), 0.0f, 0};
    std::memcpy(&a.d, xg + kQ8DOffset + 4 * b, 4);
    std::memcpy(&a.sum, xg + kQ8SumOffset + 4 * b, 4);
    return a;
}

// Q8_0 / Q4_0 canonical sum of one weight row with one X row (kernel_impl.h);
// block(bi, w) writes block bi's 32 weight integers to w, returns its d.
template <class BlockFn>
float dot_row_32(int64_t blocks, const uint8_t* xr, BlockFn&& block) {
    float acc = 0.0f;
    int8_t w[32];
    for (int64_t bi = 0; bi < blocks; ++bi) {
        const float dw = block(bi, w);
        const ActBlock x = act_block(xr, bi);
        int32_t p = 0;
        for (int i = 0; i < 32; ++i) p += w[i] * x.q[i];
        acc = std::fma(dw * x.d, static_cast<float>(p), acc);
    }
    return acc;
}

// One Q4_K / Q5_K sub-block: its 32 weights (0..15 / 0..31) and the scales
// that apply to them.
struct SubQ4K {
    uint8_t q[32];
    int32_t sc, mn;
    float d, dmin;
};

// Q4_K / Q5_K canonical sum of one weight row with one X row (kernel_impl.h);
// sub(bi, s) fills sub-block bi.
template <class SubFn>
float dot_row_q45k(int64_t blocks, const uint8_t* xr, SubFn&& sub) {
    float acc = 0.0f;
    SubQ4K s;
    for (int64_t bi = 0; bi < blocks; ++bi) {
        sub(bi, s);
        const ActBlock x = act_block(xr, bi);
        int32_t p = 0;
        for (int i = 0; i < 32; ++i) p += s.q[i] * x.q[i];
        acc = std::fma(s.d * x.d, static_cast<float>(s.sc * p), acc);
        acc = std::fma(-(s.dmin * x.d), static_cast<float>(s.mn * x.sum), acc);
    }
    return acc;
}

// One Q6_K block of 32: its weights (q6 - 32), the int8 scales of its two
// halves, and d.
struct SubQ6K {
    int8_t w[32];
    int32_t s0, s1;
    float d;
};

// Q6_K canonical sum (kernel_impl.h); sub(bi, s) fills block bi.
template <class SubFn>
float dot_row_q6k(int64_t blocks, const uint8_t* xr, SubFn&& sub) {
    float acc = 0.0f;
    SubQ6K s;
    for (int64_t bi = 0; bi < blocks; ++bi) {
        sub(bi, s);
        const ActBlock x = act_block(xr, bi);
        int32_t half[2] = {0, 0};
        for (int i = 0; i < 32; ++i) half[i / 16] += s.w[i] * x.q[i];
        acc = std::fma(s.d * x.d, static_cast<float>(s.s0 * half[0] + s.s1 * half[1]), acc);
    }
    return acc;
}

}  // namespace

void scalar_quantize_rows_q8(const float* X, int64_t ldx, int64_t M, int64_t K, void* Xq) {
    const size_t rb = q8_row_bytes(K);
    const int64_t blocks = K / 32;
    for (int64_t m = 0; m < M; ++m) {
        auto* out = static_cast<uint8_t*>(Xq) + static_cast<size_t>(m) * rb;
        std::memset(out, 0, rb);
        for (int64_t bi = 0; bi < blocks; ++bi) {
            uint8_t* grp = out + (bi / kBlocks) * kQ8GroupBytes;
            const int64_t b = bi % kBlocks;
            const float* x = X + m * ldx + bi * 32;
            float amax = 0.0f;
            for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[i]));
            const float d = amax / 127.0f;
            const float id = d != 0.0f ? 1.0f / d : 0.0f;
            int32_t sum = 0;
            for (int i = 0; i < 32; ++i) {
                const float v = x[i] * id;  // |v| <= 127 for finite x
                const int q =
                    std::isnan(v)
                        ? 0
                        : static_cast<int>(std::nearbyint(std::clamp(v, -127.0f, 127.0f)));
                grp[32 * b + i] = static_cast<uint8_t>(static_cast<int8_t>(q));
                sum += q;
            }
            std::memcpy(grp + kQ8DOffset + 4 * b, &d, 4);
            std::memcpy(grp + kQ8SumOffset + 4 * b, &sum, 4);
        }
    }
}

void scalar_matmul_q8(DType wtype, const void* W, size_t w_stride, const void* Xq, float* Y,
                      int64_t ldy, int64_t M, int64_t K, int64_t n0, int64_t n1) {
    if (!matmul_q8_supports(wtype)) unsupported_dtype("matmul_q8", wtype);
    if (M <= 0 || n1 <= n0) return;
    const int64_t blocks = K / 32;
    const size_t rb = q8_row_bytes(K);
    if (wtype == DType::Q4_K || wtype == DType::Q5_K) {
        const bool q5 = wtype == DType::Q5_K;
        for (int64_t n = n0; n < n1; ++n) {
            const auto* row = static_cast<const uint8_t*>(W) + static_cast<size_t>(n) * w_stride;
            const auto sub = [&](int64_t bi, SubQ4K& s) {
                const uint8_t* p = row + static_cast<size_t>(bi / kBlocks) *
                                             (q5 ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K));
                const int j = static_cast<int>(bi % kBlocks);
                uint8_t sc, mn;
                kquant_scale_min(j, p + 4, &sc, &mn);
                s = {{}, sc, mn, f16_at(p), f16_at(p + 2)};
                for (int e = 0; e < 32; ++e) {
                    const uint8_t byte = p[(q5 ? 48 : 16) + 32 * (j / 2) + e];
                    const int high = q5 ? ((p[16 + e] >> j) & 1) << 4 : 0;
                    s.q[e] = static_cast<uint8_t>((j % 2 ? byte >> 4 : byte & 0x0f) | high);
                }
            };
            for (int64_t m = 0; m < M; ++m)
                Y[m * ldy + n] =
                    dot_row_q45k(blocks, static_cast<const uint8_t*>(Xq) + m * rb, sub);
        }
        return;
    }
    if (wtype == DType::Q6_K) {
        for (int64_t n = n0; n < n1; ++n) {
            const auto* row = static_cast<const uint8_t*>(W) + static_cast<size_t>(n) * w_stride;
            Unpacked u;  // the current super-block (blocks come in order)
            const auto sub = [&](int64_t bi, SubQ6K& s) {
                const int64_t j = bi % kBlocks;
                if (j == 0) unpack(wtype, row, bi / kBlocks, kBlocks, u);
                s.s0 = u.s[j][0];
                s.s1 = u.s[j][1];
                s.d = u.dw[j];
                std::memcpy(s.w, u.w + 32 * j, 32);
            };
            for (int64_t m = 0; m < M; ++m)
                Y[m * ldy + n] = dot_row_q6k(blocks, static_cast<const uint8_t*>(Xq) + m * rb, sub);
        }
        return;
    }
    if (wtype == DType::Q8_0 || wtype == DType::Q4_0) {
        for (int64_t n = n0; n < n1; ++n) {
            const auto* row = static_cast<const uint8_t*>(W) + static_cast<size_t>(n) * w_stride;
            for (int64_t m = 0; m < M; ++m) {
                const auto* xr = static_cast<const uint8_t*>(Xq) + static_cast<size_t>(m) * rb;
                Y[m * ldy + n] = dot_row_32(blocks, xr, [&](int64_t bi, int8_t* w) {
                    const size_t bb = wtype == DType::Q8_0 ? sizeof(BlockQ8_0) : sizeof(BlockQ4_0);
                    Unpacked u;
                    unpack(wtype, row + static_cast<size_t>(bi) * bb, 0, 1, u);  // block bi
                    std::memcpy(w, u.w, 32);
                    return u.dw[0];
                });
            }
        }
        return;
    }
    unsupported_dtype("matmul_q8", wtype);
}

void scalar_matmul_q8_packed(DType wtype, const void* Wp, const void* Xq, float* Y, int64_t ldy,
                             int64_t M, int64_t K, int64_t n0, int64_t n1) {
    if (!q8_packable(wtype)) unsupported_dtype("matmul_q8_packed", wtype);
    if (M <= 0 || n1 <= n0) return;
    const bool q8 = wtype == DType::Q8_0;
    const int64_t blocks = K / 32;
    const int64_t qb = q8 ? kPanelQuantBytesQ8_0 : kPanelQuantBytesQ4_0;
    const size_t rb = q8_row_bytes(K);
    for (int64_t n = n0; n < n1; ++n) {
        const auto* panel = static_cast<const uint8_t*>(Wp) +
                            static_cast<size_t>(n / kPanelRows) * q8_panel_bytes(wtype, K);
        const int64_t r = n % kPanelRows;
        if (wtype == DType::Q4_K || wtype == DType::Q5_K) {
            const bool q5 = wtype == DType::Q5_K;
            // Row r of sub-block bi, back from its record.
            const auto sub = [&](int64_t bi, SubQ4K& s) {
                const uint8_t* rec =
                    panel + (bi / kBlocks) * (q5 ? kPanelSuperBytesQ5_K : kPanelSuperBytesQ4_K);
                const int64_t j = bi % kBlocks;
                s = {{},
                     rec[kQ4KScOffset + 16 * j + r],
                     rec[kQ4KMnOffset + 16 * j + r],
                     f16_at(rec + kQ4KDOffset + 2 * r),
                     f16_at(rec + kQ4KDminOffset + 2 * r)};
                for (int e = 0; e < 32; ++e) {
                    const int64_t t = (e % 16) / 4, pos = 4 * r + e % 4;
                    const uint8_t byte = rec[256 * j + 64 * t + pos];
                    int q = e < 16 ? byte & 0x0f : byte >> 4;
                    if (q5) {
                        const uint8_t hb = rec[kQ5KHighOffset + 64 * j + 16 * t + pos % 16];
                        q |= ((hb >> (2 * (pos / 16) + (e < 16 ? 0 : 1))) & 1) << 4;
                    }
                    s.q[e] = static_cast<uint8_t>(q);
                }
            };
            for (int64_t m = 0; m < M; ++m)
                Y[m * ldy + n] =
                    dot_row_q45k(blocks, static_cast<const uint8_t*>(Xq) + m * rb, sub);
            continue;
        }
        if (wtype == DType::Q6_K) {
            const auto sub = [&](int64_t bi, SubQ6K& s) {
                const uint8_t* rec = panel + (bi / kBlocks) * kPanelSuperBytesQ6_K;
                const int64_t j = bi % kBlocks;
                s.s0 = static_cast<int8_t>(rec[kQ6KScOffset + 32 * j + r]);
                s.s1 = static_cast<int8_t>(rec[kQ6KScOffset + 32 * j + 16 + r]);
                s.d = f16_at(rec + kQ6KDOffset + 2 * r);
                for (int e = 0; e < 32; ++e) {
                    const int64_t t = (e % 16) / 4, pos = 4 * r + e % 4;
                    const uint8_t byte = rec[256 * j + 64 * t + pos];
                    const uint8_t hb = rec[kQ6KHighOffset + 128 * j + 32 * t + pos % 32];
                    const int bits = (pos < 32 ? hb : hb >> 4) & 15;  // this position's 4 bits
                    const int q =
                        e < 16 ? (byte & 15) | (bits & 3) << 4 : (byte >> 4) | (bits >> 2) << 4;
                    s.w[e] = static_cast<int8_t>(q - 32);
                }
            };
            for (int64_t m = 0; m < M; ++m)
                Y[m * ldy + n] = dot_row_q6k(blocks, static_cast<const uint8_t*>(Xq) + m * rb, sub);
            continue;
        }
        // Row r of block bi, back from the layout of kernel_impl.h.
        const auto block = [&](int64_t bi, int8_t* w) {
            const uint8_t* q = panel + bi * qb;
            for (int e = 0; e < 32; ++e) {
                if (q8) {
                    w[e] = static_cast<int8_t>(q[64 * (e / 4) + 4 * r + e % 4] ^ 0x80);
                } else {
                    const uint8_t byte = q[64 * ((e % 16) / 4) + 4 * r + e % 4];
                    w[e] = static_cast<int8_t>((e < 16 ? byte & 0x0f : byte >> 4) - 8);
                }
            }
            return f16_at(panel + blocks * qb + bi * kPanelScaleBytes + 2 * r);
        };
        for (int64_t m = 0; m < M; ++m)
            Y[m * ldy + n] = dot_row_32(
                blocks, static_cast<const uint8_t*>(Xq) + static_cast<size_t>(m) * rb, block);
    }
}

}  // namespace kernel_detail
}  // namespace ig
