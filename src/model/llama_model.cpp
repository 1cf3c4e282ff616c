#include "model/llama_model.h"

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <string_view>
#include <thread>

#include "kernels/kernels.h"
#include "model/hf_folder.h"
#include "tensor/quantize.h"

namespace ig {
namespace {

Expected<const GgufTensorInfo*> find_shaped(const GgufFile& f, const std::string& name,
                                            std::vector<uint64_t> shape) {
    const GgufTensorInfo* t = f.find_tensor(name);
    if (t == nullptr) return make_error("missing tensor '{}'", name);
    if (t->shape != shape) {
        std::string want, got;
        for (auto d : shape) want += (want.empty() ? "" : ", ") + std::to_string(d);
        for (auto d : t->shape) got += (got.empty() ? "" : ", ") + std::to_string(d);
        return make_error("tensor '{}' has shape [{}], expected [{}]", name, got, want);
    }
    if (!dtype_is_computable(t->type))
        return make_error("tensor '{}' has type {} which this build cannot compute with", name,
                          dtype_name(t->type));
    return t;
}

Expected<WeightView> matrix(const GgufFile& f, const std::string& name, int64_t in, int64_t out) {
    auto t = find_shaped(f, name, {static_cast<uint64_t>(in), static_cast<uint64_t>(out)});
    if (!t.ok()) return t.error();
    // Block types need whole blocks per row (K-quants: 256 elements).
    const auto stride = row_bytes((*t)->type, static_cast<uint64_t>(in));
    if (!stride)
        return make_error("tensor '{}' of type {} has rows of {} elements, not a multiple of {}",
                          name, dtype_name((*t)->type), in,
                          dtype_info(static_cast<uint32_t>((*t)->type))->block_elems);
    WeightView w;
    w.data = (*t)->data;
    w.type = (*t)->type;
    w.ne0 = in;
    w.ne1 = out;
    w.row_stride = static_cast<size_t>(*stride);
    return w;
}

Expected<std::vector<float>> vector_f32(const GgufFile& f, const std::string& name, int64_t n) {
    auto t = find_shaped(f, name, {static_cast<uint64_t>(n)});
    if (!t.ok()) return t.error();
    std::vector<float> v(static_cast<size_t>(n));
    if (!dequantize_row((*t)->type, (*t)->data, v.data(), n))
        return make_error("tensor '{}': cannot convert type {} to f32", name,
                          dtype_name((*t)->type));
    for (float x : v)
        if (!std::isfinite(x)) return make_error("tensor '{}' holds a non-finite value", name);
    return v;
}

}  // namespace

Expected<std::unique_ptr<LlamaModel>> LlamaModel::load(const std::string& path,
                                                       const ProgressFn& progress) {
    // Cold start in phases: open (map + validate, and for a folder the
    // Q/K copies), then bind + pack (reads every weight once).
    const auto t0 = std::chrono::steady_clock::now();
    std::shared_ptr<const GgufFile> file;
    IG_ASSIGN_OR_RETURN(file, open_model_file(path));
    const auto t1 = std::chrono::steady_clock::now();
    auto m = from_gguf(std::move(file), progress);
    if (m.ok()) {
        (*m)->load_times_.open_seconds = std::chrono::duration<double>(t1 - t0).count();
        (*m)->load_times_.pack_seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    }
    return m;
}

Expected<std::unique_ptr<LlamaModel>> LlamaModel::from_gguf(std::shared_ptr<const GgufFile> file,
                                                            const ProgressFn& progress) {
    auto cfg = ModelConfig::from_gguf(*file);
    if (!cfg.ok()) return cfg.error();
    std::unique_ptr<LlamaModel> m(new LlamaModel());
    m->file_ = std::move(file);
    m->cfg_ = *cfg;
    if (const char* v = std::getenv("IG_MATMUL"); v != nullptr && std::string_view(v) == "float")
        m->int8_matmul_ = false;
    IG_TRY(m->bind_weights());
    m->pack_weights(progress);
    return m;
}

Status LlamaModel::bind_weights() {
    const GgufFile& f = *file_;
    const ModelConfig& c = cfg_;
    IG_ASSIGN_OR_RETURN(tok_embd_, matrix(f, "token_embd.weight", c.n_embd, c.n_vocab));
    if (c.tied_output) {
        output_ = tok_embd_;
    } else {
        IG_ASSIGN_OR_RETURN(output_, matrix(f, "output.weight", c.n_embd, c.n_vocab));
    }
    IG_ASSIGN_OR_RETURN(output_norm_, vector_f32(f, "output_norm.weight", c.n_embd));
    layers_.resize(static_cast<size_t>(c.n_layer));
    for (int64_t l = 0; l < c.n_layer; ++l) {
        LayerWeights& L = layers_[static_cast<size_t>(l)];
        const std::string p = "blk." + std::to_string(l) + ".";
        IG_ASSIGN_OR_RETURN(L.attn_norm, vector_f32(f, p + "attn_norm.weight", c.n_embd));
        IG_ASSIGN_OR_RETURN(L.ffn_norm, vector_f32(f, p + "ffn_norm.weight", c.n_embd));
        IG_ASSIGN_OR_RETURN(L.wq, matrix(f, p + "attn_q.weight", c.n_embd, c.q_dim()));
        IG_ASSIGN_OR_RETURN(L.wk, matrix(f, p + "attn_k.weight", c.n_embd, c.kv_dim()));
        IG_ASSIGN_OR_RETURN(L.wv, matrix(f, p + "attn_v.weight", c.n_embd, c.kv_dim()));
        IG_ASSIGN_OR_RETURN(L.wo, matrix(f, p + "attn_output.weight", c.q_dim(), c.n_embd));
        IG_ASSIGN_OR_RETURN(L.gate, matrix(f, p + "ffn_gate.weight", c.n_embd, c.n_ff));
        IG_ASSIGN_OR_RETURN(L.up, matrix(f, p + "ffn_up.weight", c.n_embd, c.n_ff));
        IG_ASSIGN_OR_RETURN(L.down, matrix(f, p + "ffn_down.weight", c.n_ff, c.n_embd));
        if (c.qkv_bias) {
            IG_ASSIGN_OR_RETURN(L.bq, vector_f32(f, p + "attn_q.bias", c.q_dim()));
            IG_ASSIGN_OR_RETURN(L.bk, vector_f32(f, p + "attn_k.bias", c.kv_dim()));
            IG_ASSIGN_OR_RETURN(L.bv, vector_f32(f, p + "attn_v.bias", c.kv_dim()));
        }
        if (c.qk_norm) {
            IG_ASSIGN_OR_RETURN(L.q_norm, vector_f32(f, p + "attn_q_norm.weight", c.head_dim));
            IG_ASSIGN_OR_RETURN(L.k_norm, vector_f32(f, p + "attn_k_norm.weight", c.head_dim));
        }
    }

    // theta_i = pos * base^(-2i/d) / factor_i / linear_scale. Llama 3 style
    // scaling arrives as per-frequency factors in rope_freqs.weight.
    const int64_t half = c.rope_dim / 2;
    std::vector<float> factors(static_cast<size_t>(half), 1.0f);
    if (f.find_tensor("rope_freqs.weight") != nullptr)
        IG_ASSIGN_OR_RETURN(factors, vector_f32(f, "rope_freqs.weight", half));
    inv_freq_.resize(static_cast<size_t>(half));
    for (int64_t i = 0; i < half; ++i) {
        if (factors[static_cast<size_t>(i)] <= 0)
            return make_error("rope_freqs.weight[{}] must be > 0", i);
        const double inv =
            std::pow(static_cast<double>(c.rope_freq_base),
                     -2.0 * static_cast<double>(i) / static_cast<double>(c.rope_dim));
        inv_freq_[static_cast<size_t>(i)] =
            static_cast<float>(inv / factors[static_cast<size_t>(i)] / c.rope_linear_scale);
    }
    return {};
}

void LlamaModel::FreeDeleter::operator()(void* p) const {
    std::free(p);
}

namespace {

// Float weights always, the quantized types for the integer path.
bool packable(const WeightView& w, bool int8) {
    return f_packable(w.type) || (int8 && q8_packable(w.type));
}

size_t packed_bytes(const WeightView& w) {
    return f_packable(w.type) ? f_packed_bytes(w.type, w.ne1, w.ne0)
                              : q8_packed_bytes(w.type, w.ne1, w.ne0);
}

}  // namespace

void LlamaModel::pack_weights(const ProgressFn& progress) {
    std::vector<WeightView*> ws;
    // Tied embeddings: output_ is packed; tok_embd_ keeps the file's rows
    // (embedding lookups read single rows).
    if (packable(output_, int8_matmul_)) ws.push_back(&output_);
    for (LayerWeights& L : layers_)
        for (WeightView* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.gate, &L.up, &L.down})
            if (packable(*w, int8_matmul_)) ws.push_back(w);
    size_t total = 0;
    for (const WeightView* w : ws) total += packed_bytes(*w);
    if (total == 0) return;
    // 2 MiB aligned and advised as huge pages: decode streams every page of
    // it per token, and 4 KiB pages cost a TLB miss each.
    constexpr size_t kHugePage = size_t{2} << 20;
    total = (total + kHugePage - 1) / kHugePage * kHugePage;
    packed_.reset(static_cast<uint8_t*>(std::aligned_alloc(kHugePage, total)));
    if (!packed_) return;  // no memory for a second copy: the unpacked kernels still work
    ::madvise(packed_.get(), total, MADV_HUGEPAGE);  // advisory
    uint8_t* at = packed_.get();
    for (WeightView* w : ws) {
        w->packed = at;
        at += packed_bytes(*w);
    }
    // Each thread packs its share of every weight's panels (the copy and the
    // first touch of the new pages are the load time this adds), then gives
    // back the file's pages of those rows: they are not read again (embedding
    // rows excepted), and RAM never holds the file's copy of more than one
    // weight per thread.
    const auto n_threads =
        static_cast<int64_t>(std::clamp(std::thread::hardware_concurrency(), 1u, 16u));
    const auto n_weights = static_cast<int64_t>(ws.size());
    if (progress) progress(0, n_weights);
    const auto pack_share = [&](int64_t i) {
        int64_t done = 0;
        for (const WeightView* w : ws) {
            const int64_t panels = panel_count(w->ne1);
            const int64_t p0 = panels * i / n_threads, p1 = panels * (i + 1) / n_threads;
            void* out = const_cast<void*>(w->packed);
            if (f_packable(w->type))
                pack_f_weights(w->type, w->data, w->row_stride, w->ne1, w->ne0, p0, p1, out);
            else
                pack_q8_weights(w->type, w->data, w->row_stride, w->ne1, w->ne0, p0, p1, out);
            const int64_t r0 = p0 * kPanelRows, r1 = std::min(p1 * kPanelRows, w->ne1);
            if (w->data != tok_embd_.data && r0 < r1)
                file_->drop_pages(static_cast<const uint8_t*>(w->data) + r0 * w->row_stride,
                                  static_cast<size_t>(r1 - r0) * w->row_stride);
            // Every thread packs an equal share of each weight: thread 0's
            // count stands for all of them.
            if (i == 0 && progress) progress(++done, n_weights);
        }
    };
    std::vector<std::thread> threads;
    for (int64_t i = 1; i < n_threads; ++i) threads.emplace_back(pack_share, i);
    pack_share(0);
    for (std::thread& t : threads) t.join();
}

KvLayout LlamaModel::kv_layout(int64_t block_tokens, DType type) const {
    KvLayout l;
    l.n_layer = cfg_.n_layer;
    l.n_head_kv = cfg_.n_head_kv;
    l.head_dim = cfg_.head_dim;
    l.block_tokens = block_tokens;
    l.type = type;
    return l;
}

}  // namespace ig
