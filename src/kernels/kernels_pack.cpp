// Panel packing of weights (layouts in kernel_impl.h): float panels for
// matmul_f_packed, integer panels (Q8_0, Q4_0, K-quant records) for
// matmul_q8_packed. Plain byte moves,
// shared by the model's load-time packing and the integer kernels'
// on-the-fly packing of unpacked rows.
#include <cstring>

#include "kernels/kernel_impl.h"
#include "tensor/quantize.h"

namespace ig {
namespace {

// Quant bytes of one block of a panel (layout in kernel_impl.h).
int64_t panel_quant_bytes(DType t) {
    return t == DType::Q8_0 ? kernel_detail::kPanelQuantBytesQ8_0
                            : kernel_detail::kPanelQuantBytesQ4_0;
}

// Element k of row r goes to k * kPanelRows + r; rows past N and the tail
// padding are +0.
template <class E>
void pack_f_panels(const void* W, size_t w_stride, int64_t N, int64_t K, int64_t p0, int64_t p1,
                   size_t panel_bytes, void* out) {
    for (int64_t p = p0; p < p1; ++p) {
        uint8_t* panel = static_cast<uint8_t*>(out) + static_cast<size_t>(p) * panel_bytes;
        std::memset(panel, 0, panel_bytes);
        auto* dst = reinterpret_cast<E*>(panel);
        const int64_t n = p * kPanelRows;
        const int64_t rows = N - n < kPanelRows ? N - n : kPanelRows;
        for (int64_t r = 0; r < rows; ++r) {
            const uint8_t* row =
                static_cast<const uint8_t*>(W) + static_cast<size_t>(n + r) * w_stride;
            for (int64_t k = 0; k < K; ++k)
                std::memcpy(dst + k * kPanelRows + r, row + k * sizeof(E), sizeof(E));
        }
    }
}

// Bytes of one packed K-quant record (kernel_impl.h); 0 for the types packed
// per block of 32.
int64_t record_bytes(DType t) {
    switch (t) {
        case DType::Q4_K:
            return kernel_detail::kPanelSuperBytesQ4_K;
        case DType::Q5_K:
            return kernel_detail::kPanelSuperBytesQ5_K;
        case DType::Q6_K:
            return kernel_detail::kPanelSuperBytesQ6_K;
        default:
            return 0;
    }
}

size_t round_up_64(int64_t bytes) {
    return static_cast<size_t>((bytes + 63) / 64 * 64);
}

}  // namespace

int64_t panel_count(int64_t N) {
    return (N + kPanelRows - 1) / kPanelRows;
}

bool f_packable(DType wtype) {
    return wtype == DType::F32 || wtype == DType::F16 || wtype == DType::BF16;
}

size_t f_panel_bytes(DType wtype, int64_t K) {
    return round_up_64(K * kPanelRows * (wtype == DType::F32 ? 4 : 2));
}

size_t f_packed_bytes(DType wtype, int64_t N, int64_t K) {
    return static_cast<size_t>(panel_count(N)) * f_panel_bytes(wtype, K);
}

void pack_f_weights(DType wtype, const void* W, size_t w_stride, int64_t N, int64_t K, int64_t p0,
                    int64_t p1, void* out) {
    if (!f_packable(wtype)) kernel_detail::unsupported_dtype("pack_f_weights", wtype);
    if (wtype == DType::F32)
        pack_f_panels<uint32_t>(W, w_stride, N, K, p0, p1, f_panel_bytes(wtype, K), out);
    else
        pack_f_panels<uint16_t>(W, w_stride, N, K, p0, p1, f_panel_bytes(wtype, K), out);
}

bool q8_packable(DType wtype) {
    return matmul_q8_supports(wtype);  // every type the integer path takes
}

size_t q8_panel_bytes(DType wtype, int64_t K) {
    if (const int64_t rb = record_bytes(wtype); rb > 0)  // whole records, multiples of 64
        return static_cast<size_t>(K / kQK_K * rb);
    return round_up_64(K / 32 * (panel_quant_bytes(wtype) + kernel_detail::kPanelScaleBytes));
}

size_t q8_packed_bytes(DType wtype, int64_t N, int64_t K) {
    return static_cast<size_t>(panel_count(N)) * q8_panel_bytes(wtype, K);
}

void pack_q8_weights(DType wtype, const void* W, size_t w_stride, int64_t N, int64_t K, int64_t p0,
                     int64_t p1, void* out) {
    if (!q8_packable(wtype)) kernel_detail::unsupported_dtype("pack_q8_weights", wtype);
    const size_t pb = q8_panel_bytes(wtype, K);
    const int64_t blocks = K / 32;
    // The K-quants' scales are inside their records (layouts in kernel_impl.h).
    const bool records = record_bytes(wtype) > 0;
    const int64_t qb = records ? 0 : panel_quant_bytes(wtype);
    for (int64_t p = p0; p < p1; ++p) {
        uint8_t* panel = static_cast<uint8_t*>(out) + static_cast<size_t>(p) * pb;
        const int64_t n = p * kPanelRows;
        const int64_t rows = N - n < kPanelRows ? N - n : kPanelRows;
        const size_t used =
            records ? pb : static_cast<size_t>(blocks * (qb + kernel_detail::kPanelScaleBytes));
        kernel_detail::pack_q8_panel(wtype, static_cast<const uint8_t*>(W) + n * w_stride, w_stride,
                                     rows, 0, blocks, panel, panel + blocks * qb);
        std::memset(panel + used, 0, pb - used);
    }
}

namespace kernel_detail {
namespace {

// Super-blocks [s0, s0 + ns) of `rows` Q4_K / Q5_K rows as panel records
// (layout in kernel_impl.h); rows past `rows` are zero (d = dmin = +0).
void pack_q45k_records(bool q5, const uint8_t* W, size_t w_stride, int64_t rows, int64_t s0,
                       int64_t ns, uint8_t* out) {
    const size_t block_bytes = q5 ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
    const int64_t rec_bytes = record_bytes(q5 ? DType::Q5_K : DType::Q4_K);
    for (int64_t s = 0; s < ns; ++s) {
        uint8_t* rec = out + s * rec_bytes;
        std::memset(rec, 0, static_cast<size_t>(rec_bytes));
        for (int64_t r = 0; r < rows; ++r) {
            const uint8_t* blk = W + r * w_stride + static_cast<size_t>(s0 + s) * block_bytes;
            std::memcpy(rec + kQ4KDOffset + 2 * r, blk, 2);
            std::memcpy(rec + kQ4KDminOffset + 2 * r, blk + 2, 2);
            const uint8_t* qs = blk + (q5 ? 48 : 16);
            const uint8_t* qh = blk + 16;  // Q5_K: bit j of qh[e] is element e's fifth bit
            for (int j = 0; j < 8; ++j) {
                uint8_t sc, mn;
                kquant_scale_min(j, blk + 4, &sc, &mn);
                rec[kQ4KScOffset + 16 * j + r] = sc;
                rec[kQ4KMnOffset + 16 * j + r] = mn;
                // Element e of sub-block j is nibble j % 2 of qs[32 (j / 2) + e];
                // 4 positions at a time.
                const uint8_t* src = qs + 32 * (j / 2);
                for (int t4 = 0; t4 < 4; ++t4) {
                    uint32_t a, b;  // elements 4 t4 + i and 16 + 4 t4 + i
                    std::memcpy(&a, src + 4 * t4, 4);
                    std::memcpy(&b, src + 16 + 4 * t4, 4);
                    const uint32_t v = j % 2 ? ((a >> 4) & 0x0f0f0f0fu) | (b & 0xf0f0f0f0u)
                                             : (a & 0x0f0f0f0fu) | ((b & 0x0f0f0f0fu) << 4);
                    std::memcpy(rec + 256 * j + 64 * t4 + 4 * r, &v, 4);
                    if (!q5) continue;
                    for (int i = 0; i < 4; ++i) {
                        const int e = 4 * t4 + i;
                        const int64_t pos = 4 * r + i;
                        const int bits = ((qh[e] >> j) & 1) | ((qh[16 + e] >> j) & 1) << 1;
                        rec[kQ5KHighOffset + 64 * j + 16 * t4 + pos % 16] |=
                            static_cast<uint8_t>(bits << (2 * (pos / 16)));
                    }
                }
            }
        }
    }
}

// The same for Q6_K (layout in kernel_impl.h); rows past `rows` are zero
// (d = +0).
void pack_q6k_records(const uint8_t* W, size_t w_stride, int64_t rows, int64_t s0, int64_t ns,
                      uint8_t* out) {
    for (int64_t s = 0; s < ns; ++s) {
        uint8_t* rec = out + s * kPanelSuperBytesQ6_K;
        std::memset(rec, 0, kPanelSuperBytesQ6_K);
        for (int64_t r = 0; r < rows; ++r) {
            const uint8_t* blk = W + r * w_stride + static_cast<size_t>(s0 + s) * sizeof(BlockQ6_K);
            std::memcpy(rec + kQ6KDOffset + 2 * r, blk + 208, 2);
            for (int j = 0; j < 8; ++j) {
                const int h = j / 4, quarter = j % 4;
                rec[kQ6KScOffset + 32 * j + r] = blk[192 + 2 * j];
                rec[kQ6KScOffset + 32 * j + 16 + r] = blk[192 + 2 * j + 1];
                // q6 of element e of block j (see quantize.h): low bits from
                // nibble quarter / 2 of ql, high bits from qh; 4 positions at a
                // time (elements 4 t4 + i and 16 + 4 t4 + i).
                const uint8_t* ql = blk + 64 * h + 32 * (quarter % 2);
                const uint8_t* qh = blk + 128 + 32 * h;
                const auto low = [&](int e) {
                    uint32_t v;
                    std::memcpy(&v, ql + e, 4);
                    return (quarter < 2 ? v : v >> 4) & 0x0f0f0f0fu;
                };
                const auto high = [&](int e) {
                    uint32_t v;
                    std::memcpy(&v, qh + e, 4);
                    return (v >> (2 * quarter)) & 0x03030303u;
                };
                for (int t4 = 0; t4 < 4; ++t4) {
                    const int e = 4 * t4;
                    const uint32_t nib = low(e) | low(16 + e) << 4;
                    std::memcpy(rec + 256 * j + 64 * t4 + 4 * r, &nib, 4);
                    // Rows 0-7 (positions < 32) in the low nibbles, 8-15 in the high.
                    const uint32_t bits = (high(e) | high(16 + e) << 2) << (r < 8 ? 0 : 4);
                    uint8_t* hb = rec + kQ6KHighOffset + 128 * j + 32 * t4 + (4 * r) % 32;
                    uint32_t cur;
                    std::memcpy(&cur, hb, 4);
                    cur |= bits;
                    std::memcpy(hb, &cur, 4);
                }
            }
        }
    }
}

}  // namespace

void pack_q8_panel(DType t, const uint8_t* W, size_t w_stride, int64_t rows, int64_t b0, int64_t nb,
                   uint8_t* quants, uint8_t* scales) {
    if (t == DType::Q4_K || t == DType::Q5_K)
        return pack_q45k_records(t == DType::Q5_K, W, w_stride, rows, b0 / 8, nb / 8, quants);
    if (t == DType::Q6_K) return pack_q6k_records(W, w_stride, rows, b0 / 8, nb / 8, quants);
    const bool q8 = t == DType::Q8_0;
    const size_t block_bytes = q8 ? sizeof(BlockQ8_0) : sizeof(BlockQ4_0);
    const int64_t qb = panel_quant_bytes(t);
    for (int64_t b = 0; b < nb; ++b) {
        uint8_t* q = quants + b * qb;
        uint8_t* d = scales + b * kPanelScaleBytes;
        for (int64_t r = 0; r < kPanelRows; ++r) {
            if (r >= rows) {  // padding: weight 0, scale +0
                for (int64_t s = 0; s < qb / 64; ++s)
                    std::memset(q + 64 * s + 4 * r, q8 ? 0x80 : 0x88, 4);
                std::memset(d + 2 * r, 0, 2);
                continue;
            }
            const uint8_t* blk = W + r * w_stride + static_cast<size_t>(b0 + b) * block_bytes;
            std::memcpy(d + 2 * r, blk, 2);
            for (int64_t s = 0; s < qb / 64; ++s) {
                uint32_t v;  // 4 elements at a time
                std::memcpy(&v, blk + 2 + 4 * s, 4);
                if (q8) v ^= 0x80808080u;
                std::memcpy(q + 64 * s + 4 * r, &v, 4);
            }
        }
    }
}

}  // namespace kernel_detail
}  // namespace ig
