// LlamaModel::forward: one pass over a mixed batch of prefill chunks and
// decode tokens. All token rows of the batch go through each weight matrix
// together, so weights are read once per layer per step.
#include <algorithm>
#include <array>
#include <cmath>
#include <initializer_list>
#include <limits>

#include "kernels/kernels.h"
#include "model/llama_model.h"
#include "model/paged_attention.h"
#include "tensor/quantize.h"

namespace ig {
namespace {

constexpr int64_t kMaxGroup = 256;  // query heads per KV head
constexpr int64_t kMaxBlockTokens = 1024;

template <class T>
void grow(std::vector<T>& v, size_t n) {
    if (v.size() < n) v.resize(n);
}

// Quantizes the M rows of X (K wide) once into xq for the integer matmuls
// of the weights that follow, if int8 is on and any of them can use it;
// returns xq, or null when every one of them takes the float path.
const uint8_t* quantize_input(ThreadPool& pool, const KernelTable& kt, bool int8, const float* X,
                              int64_t M, int64_t K, std::initializer_list<const WeightView*> ws,
                              std::vector<uint8_t>& xq) {
    if (!int8 || K % 32 != 0) return nullptr;
    bool any = false;
    for (const WeightView* w : ws) any = any || matmul_q8_supports(w->type);
    if (!any) return nullptr;
    const size_t rb = q8_row_bytes(K);
    uint8_t* out = xq.data();
    pool.parallel_for(M, 8, [&](int64_t m0, int64_t m1) {
        kt.quantize_rows_q8(X + m0 * K, K, m1 - m0, K, out + static_cast<size_t>(m0) * rb);
    });
    return out;
}

// One weight's output for matmul_shared_input.
struct MatmulOut {
    const WeightView* w;
    float* y;
};

// Whether w runs on its packed panels: float panels, or int8 panels when X
// is quantized (Xq).
bool runs_packed(const WeightView& w, const uint8_t* Xq) {
    return w.packed != nullptr && (f_packable(w.type) || Xq != nullptr);
}

constexpr size_t kMaxShared = 3;  // Q, K and V

// Y = X[M, K] * W^T for up to kMaxShared packed weights that share their
// input (Q/K/V, gate/up), as one parallel job over all their panels: one
// start and one barrier instead of one per weight, and no thread idles at
// one weight's tail while another's panels are left.
void matmul_packed(ThreadPool& pool, const KernelTable& kt, std::initializer_list<MatmulOut> outs,
                   const float* X, const uint8_t* Xq, int64_t M) {
    std::array<MatmulOut, kMaxShared> o{};
    std::array<int64_t, kMaxShared + 1> first{};  // panel offset of each weight
    size_t n = 0;
    for (const MatmulOut& mo : outs) {
        o[n] = mo;
        first[n + 1] = first[n] + panel_count(mo.w->ne1);
        ++n;
    }
    const int64_t K = o[0].w->ne0;
    // Enough rows per chunk to amortise dispatch; few enough to balance.
    const int64_t grain_rows = std::max<int64_t>(4, 16384 / std::max<int64_t>(1, K));
    pool.parallel_for(
        first[n], (grain_rows + kPanelRows - 1) / kPanelRows, [&](int64_t p0, int64_t p1) {
            for (size_t i = 0; i < n; ++i) {
                const int64_t a = std::max(p0, first[i]);
                const int64_t b = std::min(p1, first[i + 1]);
                if (a >= b) continue;
                const WeightView& w = *o[i].w;
                const int64_t n0 = (a - first[i]) * kPanelRows;
                const int64_t n1 = std::min((b - first[i]) * kPanelRows, w.ne1);
                if (f_packable(w.type))
                    kt.matmul_f_packed(w.type, w.packed, X, K, o[i].y, w.ne1, M, K, n0, n1);
                else
                    kt.matmul_q8_packed(w.type, w.packed, Xq, o[i].y, w.ne1, M, K, n0, n1);
            }
        });
}

// Y[M, w.ne1] = X[M, w.ne0] * W^T, split over output rows; through the
// integer kernels when Xq (X quantized) is given and W's type has them.
void matmul(ThreadPool& pool, const KernelTable& kt, const WeightView& w, const float* X,
            const uint8_t* Xq, int64_t M, float* Y) {
    if (runs_packed(w, Xq)) return matmul_packed(pool, kt, {{&w, Y}}, X, Xq, M);
    const int64_t grain = std::max<int64_t>(4, 16384 / std::max<int64_t>(1, w.ne0));
    if (Xq != nullptr && matmul_q8_supports(w.type)) {
        pool.parallel_for(w.ne1, grain, [&](int64_t n0, int64_t n1) {
            kt.matmul_q8(w.type, w.data, w.row_stride, Xq, Y, w.ne1, M, w.ne0, n0, n1);
        });
        return;
    }
    pool.parallel_for(w.ne1, grain, [&](int64_t n0, int64_t n1) {
        kt.matmul(w.type, w.data, w.row_stride, X, w.ne0, Y, w.ne1, M, w.ne0, n0, n1);
    });
}

// matmul of each weight, as one job when all of them run packed.
void matmul_shared_input(ThreadPool& pool, const KernelTable& kt,
                         std::initializer_list<MatmulOut> outs, const float* X, const uint8_t* Xq,
                         int64_t M) {
    bool packed = outs.size() <= kMaxShared;
    for (const MatmulOut& o : outs) packed = packed && runs_packed(*o.w, Xq);
    if (packed) return matmul_packed(pool, kt, outs, X, Xq, M);
    for (const MatmulOut& o : outs) matmul(pool, kt, *o.w, X, Xq, M, o.y);
}

// Qwen3's QK-norm: RMSNorm over each of the n_heads heads of x (head_dim
// floats each, contiguous) with the one weight vector all heads share.
void norm_heads(const KernelTable& kt, float* x, const std::vector<float>& w, int64_t n_heads,
                int64_t head_dim, float eps) {
    if (w.empty()) return;
    for (int64_t h = 0; h < n_heads; ++h)
        kt.rmsnorm(x + h * head_dim, w.data(), x + h * head_dim, head_dim, eps);
}

void add_bias(ThreadPool& pool, const KernelTable& kt, float* y, const std::vector<float>& b,
              int64_t rows) {
    if (b.empty()) return;
    const auto n = static_cast<int64_t>(b.size());
    pool.parallel_for(rows, 8, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) kt.add(y + r * n, b.data(), n);
    });
}

}  // namespace

Status LlamaModel::validate(const ForwardBatch& batch, const KvCacheView& kv,
                            std::span<float> logits) const {
    const KvLayout& L = kv.layout;
    if (L.n_layer != cfg_.n_layer || L.n_head_kv != cfg_.n_head_kv || L.head_dim != cfg_.head_dim)
        return make_error(
            "KV layout (layers {}, kv heads {}, head dim {}) does not match the model", L.n_layer,
            L.n_head_kv, L.head_dim);
    if (L.type != DType::F16 && L.type != DType::F32)
        return make_error("KV type {} is not supported (f16, f32)", dtype_name(L.type));
    if (L.block_tokens < 1 || L.block_tokens > kMaxBlockTokens)
        return make_error("KV block size {} is out of range [1, {}]", L.block_tokens,
                          kMaxBlockTokens);
    if (cfg_.n_head / cfg_.n_head_kv > kMaxGroup)
        return make_error("more than {} query heads per KV head", kMaxGroup);
    if (std::max<int64_t>(cfg_.n_head / cfg_.n_head_kv, 16) * cfg_.head_dim >
        kMaxAttentionRowFloats)
        return make_error(
            "{} query heads per KV head of dimension {} exceed the attention "
            "kernel's {} floats",
            cfg_.n_head / cfg_.n_head_kv, cfg_.head_dim, kMaxAttentionRowFloats);
    if (kv.base == nullptr && batch.n_tokens() > 0) return make_error("KV cache has no memory");
    for (size_t i = 0; i < batch.seqs.size(); ++i) {
        const SequenceInput& s = batch.seqs[i];
        const auto n = static_cast<int64_t>(s.tokens.size());
        if (s.n_logits < 0 || s.n_logits > n)
            return make_error("sequence {}: n_logits {} not in [0, {}]", i, s.n_logits, n);
        if (s.start_pos < 0 || s.start_pos > std::numeric_limits<int32_t>::max() - n)
            return make_error("sequence {}: start position {} out of range", i, s.start_pos);
        const int64_t end = s.start_pos + n;
        const int64_t need = (end + L.block_tokens - 1) / L.block_tokens;
        if (static_cast<int64_t>(s.block_table.size()) < need)
            return make_error("sequence {}: {} positions need {} blocks, block table has {}", i,
                              end, need, s.block_table.size());
        for (int64_t b = 0; b < need; ++b) {
            const int32_t id = s.block_table[static_cast<size_t>(b)];
            if (id < 0 || id >= kv.n_blocks)
                return make_error("sequence {}: block id {} outside the cache ({} blocks)", i, id,
                                  kv.n_blocks);
        }
        for (int32_t t : s.tokens)
            if (t < 0 || t >= cfg_.n_vocab)
                return make_error("sequence {}: token id {} outside the vocabulary ({})", i, t,
                                  cfg_.n_vocab);
    }
    const int64_t need = batch.n_logit_rows() * cfg_.n_vocab;
    if (static_cast<int64_t>(logits.size()) < need)
        return make_error("logits buffer holds {} floats, batch needs {}", logits.size(), need);
    return {};
}

void LlamaModel::ensure_scratch(int64_t T, int64_t R) {
    const ModelConfig& c = cfg_;
    const auto t = static_cast<size_t>(T);
    grow(s_.x, t * c.n_embd);
    grow(s_.h, t * c.n_embd);
    grow(s_.q, t * c.q_dim());
    grow(s_.k, t * c.kv_dim());
    grow(s_.v, t * c.kv_dim());
    grow(s_.attn, t * c.q_dim());
    grow(s_.ff_gate, t * c.n_ff);
    grow(s_.ff_up, t * c.n_ff);
    grow(s_.rows, static_cast<size_t>(R * c.n_embd));
    const int64_t widest = std::max({c.n_embd, c.q_dim(), c.n_ff});
    grow(s_.xq, t * q8_row_bytes(widest));
    grow(s_.tok, t);
    grow(s_.seq, t);
    grow(s_.pos, t);
    grow(s_.row_src, static_cast<size_t>(R));
}

Status LlamaModel::forward(const ForwardBatch& batch, const KvCacheView& kv, ThreadPool& pool,
                           std::span<float> logits) {
    IG_TRY(validate(batch, kv, logits));
    const ModelConfig& c = cfg_;
    const KernelTable& kt = kernel_table();
    const KvLayout& KL = kv.layout;
    const int64_t T = batch.n_tokens();
    const int64_t R = batch.n_logit_rows();
    if (T == 0) return {};
    ensure_scratch(T, R);

    // Flatten the batch: token, sequence and position of every row.
    {
        int64_t t = 0, r = 0;
        for (size_t si = 0; si < batch.seqs.size(); ++si) {
            const SequenceInput& s = batch.seqs[si];
            const auto n = static_cast<int64_t>(s.tokens.size());
            for (int64_t i = 0; i < n; ++i, ++t) {
                s_.tok[t] = s.tokens[static_cast<size_t>(i)];
                s_.seq[t] = static_cast<int32_t>(si);
                s_.pos[t] = s.start_pos + i;
                if (i >= n - s.n_logits) s_.row_src[r++] = t;
            }
        }
    }

    float* x = s_.x.data();
    float* h = s_.h.data();
    const int64_t E = c.n_embd;
    pool.parallel_for(T, 16, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
            const auto* row = static_cast<const uint8_t*>(tok_embd_.data) +
                              static_cast<size_t>(s_.tok[t]) * tok_embd_.row_stride;
            dequantize_row(tok_embd_.type, row, x + t * E, E);
        }
    });

    const int64_t HD = c.head_dim;
    const int64_t QD = c.q_dim();
    const int64_t KVD = c.kv_dim();
    const float scale = 1.0f / std::sqrt(static_cast<float>(HD));

    for (int64_t l = 0; l < c.n_layer; ++l) {
        const LayerWeights& W = layers_[static_cast<size_t>(l)];

        pool.parallel_for(T, 16, [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; ++t)
                kt.rmsnorm(x + t * E, W.attn_norm.data(), h + t * E, E, c.rms_eps);
        });
        const uint8_t* hq =
            quantize_input(pool, kt, int8_matmul_, h, T, E, {&W.wq, &W.wk, &W.wv}, s_.xq);
        matmul_shared_input(
            pool, kt, {{&W.wq, s_.q.data()}, {&W.wk, s_.k.data()}, {&W.wv, s_.v.data()}}, h, hq, T);
        add_bias(pool, kt, s_.q.data(), W.bq, T);
        add_bias(pool, kt, s_.k.data(), W.bk, T);
        add_bias(pool, kt, s_.v.data(), W.bv, T);

        // QK-norm (qwen3) and RoPE, then write this layer's K/V of every new
        // token into its block.
        pool.parallel_for(T, 4, [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; ++t) {
                const auto pos = static_cast<int32_t>(s_.pos[t]);
                float* q = s_.q.data() + t * QD;
                float* k = s_.k.data() + t * KVD;
                norm_heads(kt, q, W.q_norm, c.n_head, HD, c.rms_eps);
                norm_heads(kt, k, W.k_norm, c.n_head_kv, HD, c.rms_eps);
                kt.rope(q, c.n_head, HD, c.rope_dim, pos, inv_freq_.data(), c.rope_neox);
                kt.rope(k, c.n_head_kv, HD, c.rope_dim, pos, inv_freq_.data(), c.rope_neox);
                const SequenceInput& s = batch.seqs[static_cast<size_t>(s_.seq[t])];
                uint8_t* blk = kv.block(s.block_table[static_cast<size_t>(pos / KL.block_tokens)]);
                const int64_t off = pos % KL.block_tokens;
                for (int64_t g = 0; g < c.n_head_kv; ++g) {
                    kt.store_kv(k + g * HD, blk + KL.offset(l, false, g, off), KL.type, HD);
                    kt.store_kv(s_.v.data() + t * KVD + g * HD, blk + KL.offset(l, true, g, off),
                                KL.type, HD);
                }
            }
        });

        AttentionInput ai;
        ai.batch = &batch;
        ai.kv = &kv;
        ai.layer = l;
        ai.n_tokens = T;
        ai.seq = s_.seq.data();
        ai.pos = s_.pos.data();
        ai.q = s_.q.data();
        ai.out = s_.attn.data();
        ai.n_head = c.n_head;
        ai.scale = scale;
        paged_attention(pool, kt, ai);
        const float* attn = s_.attn.data();

        matmul(pool, kt, W.wo, attn,
               quantize_input(pool, kt, int8_matmul_, attn, T, QD, {&W.wo}, s_.xq), T, h);
        pool.parallel_for(T, 16, [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; ++t) kt.add(x + t * E, h + t * E, E);
        });

        pool.parallel_for(T, 16, [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; ++t)
                kt.rmsnorm(x + t * E, W.ffn_norm.data(), h + t * E, E, c.rms_eps);
        });
        const uint8_t* fq =
            quantize_input(pool, kt, int8_matmul_, h, T, E, {&W.gate, &W.up}, s_.xq);
        matmul_shared_input(pool, kt, {{&W.gate, s_.ff_gate.data()}, {&W.up, s_.ff_up.data()}}, h,
                            fq, T);
        const int64_t F = c.n_ff;
        pool.parallel_for(T, 4, [&](int64_t t0, int64_t t1) {
            kt.silu_mul(s_.ff_gate.data() + t0 * F, s_.ff_up.data() + t0 * F,
                        s_.ff_gate.data() + t0 * F, (t1 - t0) * F);
        });
        matmul(pool, kt, W.down, s_.ff_gate.data(),
               quantize_input(pool, kt, int8_matmul_, s_.ff_gate.data(), T, F, {&W.down}, s_.xq), T,
               h);
        pool.parallel_for(T, 16, [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; ++t) kt.add(x + t * E, h + t * E, E);
        });
    }

    // Final norm and output projection only for the rows that were asked for.
    float* rows = s_.rows.data();
    for (int64_t r = 0; r < R; ++r)
        kt.rmsnorm(x + s_.row_src[r] * E, output_norm_.data(), rows + r * E, E, c.rms_eps);
    if (R > 0)
        matmul(pool, kt, output_, rows,
               quantize_input(pool, kt, int8_matmul_, rows, R, E, {&output_}, s_.xq), R,
               logits.data());
    return {};
}

}  // namespace ig
