#include "model/paged_attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace ig {
namespace {

constexpr int64_t kKeyChunk = 16;       // keys per step of the online softmax
constexpr int64_t kTargetRows = 128;    // query rows (tokens x group heads) per task
constexpr int64_t kMaxTileTokens = 16;  // tokens per tile when the group is small
constexpr int64_t kMaxRows = 256;

// rows = tokens x group stays within the stack buffers (validated:
// group x head_dim <= kMaxAttentionRowFloats).
int64_t tile_tokens(int64_t group, int64_t head_dim) {
    const int64_t rows = std::min(kTargetRows, kMaxAttentionRowFloats / head_dim);
    return std::clamp<int64_t>(rows / group, 1, kMaxTileTokens);
}

// Tiles are cut at positions that are multiples of the tile size (and where
// the sequence changes), so a token's tile never depends on its neighbours in
// the batch beyond its own sequence.
bool tile_starts_at(const AttentionInput& in, int64_t t, int64_t tile) {
    return t == 0 || in.seq[t] != in.seq[t - 1] || in.pos[t] % tile == 0;
}

struct Task {
    const AttentionInput& in;
    const KernelTable& kt;
    int64_t group, head_dim, tile;

    void run(int64_t t0, int64_t g) const;
};

void Task::run(int64_t t0, int64_t g) const {
    const KvLayout& L = in.kv->layout;
    const SequenceInput& s = in.batch->seqs[static_cast<size_t>(in.seq[t0])];
    const int64_t HD = head_dim;
    const int64_t QD = in.n_head * HD;
    int64_t nt = 1;
    while (t0 + nt < in.n_tokens && nt < tile && !tile_starts_at(in, t0 + nt, tile)) ++nt;
    const int64_t rows = nt * group;
    const int64_t pos0 = in.pos[t0];
    const int64_t last = in.pos[t0 + nt - 1];

    alignas(64) float q[kMaxAttentionRowFloats];
    alignas(64) float o[kMaxAttentionRowFloats];
    alignas(64) float sc[kMaxRows * kKeyChunk];
    // One chunk of keys / values: kKeyChunk rows of HD <= kMaxAttentionRowFloats / 16.
    alignas(64) float kf[kMaxAttentionRowFloats];
    alignas(64) float kft[kMaxAttentionRowFloats];
    alignas(64) float vf[kMaxAttentionRowFloats];
    float m[kMaxRows], lsum[kMaxRows];

    // The group's query heads are contiguous in each token's q row.
    // Scaled here once rather than every score.
    for (int64_t i = 0; i < nt; ++i) {
        const float* src = in.q + (t0 + i) * QD + g * group * HD;
        for (int64_t d = 0; d < group * HD; ++d) q[i * group * HD + d] = src[d] * in.scale;
    }
    std::fill(o, o + rows * HD, 0.0f);
    std::fill(m, m + rows, -std::numeric_limits<float>::infinity());
    std::fill(lsum, lsum + rows, 0.0f);

    const size_t row_bytes = static_cast<size_t>(HD) * L.elem_bytes();
    for (int64_t b0 = 0; b0 <= last; b0 += L.block_tokens) {
        const uint8_t* blk = in.kv->block(s.block_table[static_cast<size_t>(b0 / L.block_tokens)]);
        const uint8_t* kb = blk + L.offset(in.layer, false, g, 0);
        const uint8_t* vb = blk + L.offset(in.layer, true, g, 0);
        for (int64_t c0 = 0; c0 < L.block_tokens && b0 + c0 <= last; c0 += kKeyChunk) {
            // The chunk's length is a property of the block structure, not of
            // the queries: every query sees the same reduction shape.
            const int64_t kc = std::min(kKeyChunk, L.block_tokens - c0);
            const int64_t key0 = b0 + c0;
            const int64_t written = std::min(kc, last + 1 - key0);  // keys with stored K/V

            // The chunk's K as floats transposed (HD x kc) and V as floats
            // (kc x HD), unwritten keys zero: both products are then plain
            // row-times-matrix fma chains (gemm_nn), no horizontal sums.
            std::fill(vf, vf + kc * HD, 0.0f);
            std::fill(kf, kf + kc * HD, 0.0f);
            for (int64_t j = 0; j < written; ++j) {
                const size_t at = static_cast<size_t>(c0 + j) * row_bytes;
                kt.axpy_kv(1.0f, kb + at, L.type, kf + j * HD, HD);
                kt.axpy_kv(1.0f, vb + at, L.type, vf + j * HD, HD);
            }
            for (int64_t j = 0; j < kc; ++j)
                for (int64_t d = 0; d < HD; ++d) kft[d * kc + j] = kf[j * HD + d];
            kt.gemm_nn(q, HD, kft, kc, sc, kc, rows, HD, kc, false);

            for (int64_t r = 0; r < rows; ++r) {
                const int64_t qpos = pos0 + r / group;
                float* srow = sc + r * kc;
                for (int64_t j = std::max<int64_t>(0, qpos + 1 - key0); j < kc; ++j)
                    srow[j] = -std::numeric_limits<float>::infinity();  // future keys
                const float m_old = m[r];
                const float sum = kt.online_softmax_chunk(srow, kc, &m[r]);
                if (m[r] != m_old) {
                    const float corr = std::exp(m_old - m[r]);
                    float* orow = o + r * HD;
                    for (int64_t d = 0; d < HD; ++d) orow[d] *= corr;
                    lsum[r] *= corr;
                }
                lsum[r] += sum;
            }
            kt.gemm_nn(sc, kc, vf, HD, o, HD, rows, kc, HD, true);
        }
    }
    for (int64_t i = 0; i < nt; ++i) {
        float* dst = in.out + (t0 + i) * QD + g * group * HD;
        for (int64_t qi = 0; qi < group; ++qi) {
            const int64_t r = i * group + qi;
            const float inv = 1.0f / lsum[r];
            for (int64_t d = 0; d < HD; ++d) dst[qi * HD + d] = o[r * HD + d] * inv;
        }
    }
}

}  // namespace

void paged_attention(ThreadPool& pool, const KernelTable& kt, const AttentionInput& in) {
    const KvLayout& L = in.kv->layout;
    const int64_t group = in.n_head / L.n_head_kv;
    const Task task{in, kt, group, L.head_dim, tile_tokens(group, L.head_dim)};
    // One unit per (token, KV head); only tile starts do work. Units are
    // handed out dynamically, which balances tiles of different lengths.
    pool.parallel_for(in.n_tokens * L.n_head_kv, 1, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
            const int64_t t = i / L.n_head_kv;
            if (tile_starts_at(in, t, task.tile)) task.run(t, i % L.n_head_kv);
        }
    });
}

}  // namespace ig
