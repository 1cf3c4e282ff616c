#include "model/model_config.h"

#include <cmath>

namespace ig {
namespace {

// Upper bounds that no real Llama-family model approaches; they keep a
// hostile header from driving huge allocations.
constexpr int64_t kMaxDim = int64_t{1} << 20;
constexpr int64_t kMaxVocab = int64_t{1} << 24;
constexpr int64_t kMaxLayers = 4096;

Expected<int64_t> require_int(const GgufFile& f, const std::string& key, int64_t lo, int64_t hi) {
    if (f.find(key) == nullptr) return make_error("missing required metadata key '{}'", key);
    auto v = f.get_int(key);
    if (!v) return make_error("metadata key '{}' is not an integer", key);
    if (*v < lo || *v > hi)
        return make_error("metadata key '{}' = {} is out of range [{}, {}]", key, *v, lo, hi);
    return *v;
}

Expected<int64_t> optional_int(const GgufFile& f, const std::string& key, int64_t dflt, int64_t lo,
                               int64_t hi) {
    if (f.find(key) == nullptr) return dflt;
    return require_int(f, key, lo, hi);
}

Expected<double> optional_float(const GgufFile& f, const std::string& key, double dflt) {
    if (f.find(key) == nullptr) return dflt;
    auto v = f.get_float(key);
    if (!v || !std::isfinite(*v))
        return make_error("metadata key '{}' is not a finite number", key);
    return *v;
}

}  // namespace

Expected<ModelConfig> ModelConfig::from_gguf(const GgufFile& f) {
    ModelConfig c;
    auto arch = f.get_string("general.architecture");
    if (!arch) return make_error("missing required metadata key 'general.architecture'");
    c.arch_name = std::string(*arch);
    if (c.arch_name == "llama") {
        c.arch = Arch::Llama;
    } else if (c.arch_name == "qwen2") {
        c.arch = Arch::Qwen2;
        c.rope_neox = true;
        c.qkv_bias = true;
    } else if (c.arch_name == "qwen3") {
        // Qwen2 without QKV bias, with per-head Q/K RMSNorm.
        c.arch = Arch::Qwen3;
        c.rope_neox = true;
        c.qk_norm = true;
    } else {
        return make_error("unsupported architecture '{}' (supported: llama, qwen2, qwen3)",
                          c.arch_name);
    }
    if (auto n = f.get_string("general.name")) c.name = std::string(*n);
    const std::string p = c.arch_name + ".";

    IG_ASSIGN_OR_RETURN(c.n_embd, require_int(f, p + "embedding_length", 1, kMaxDim));
    IG_ASSIGN_OR_RETURN(c.n_layer, require_int(f, p + "block_count", 1, kMaxLayers));
    IG_ASSIGN_OR_RETURN(c.n_ff, require_int(f, p + "feed_forward_length", 1, kMaxDim));
    IG_ASSIGN_OR_RETURN(c.n_head, require_int(f, p + "attention.head_count", 1, kMaxDim));
    IG_ASSIGN_OR_RETURN(c.n_head_kv,
                        optional_int(f, p + "attention.head_count_kv", c.n_head, 1, c.n_head));
    IG_ASSIGN_OR_RETURN(c.n_ctx_train,
                        optional_int(f, p + "context_length", 2048, 1, int64_t{1} << 26));
    if (c.n_head % c.n_head_kv != 0)
        return make_error("attention.head_count {} is not a multiple of head_count_kv {}", c.n_head,
                          c.n_head_kv);
    if (c.n_embd % c.n_head != 0 && f.find(p + "attention.key_length") == nullptr)
        return make_error("embedding_length {} is not a multiple of head_count {}", c.n_embd,
                          c.n_head);
    IG_ASSIGN_OR_RETURN(
        c.head_dim, optional_int(f, p + "attention.key_length", c.n_embd / c.n_head, 2, kMaxDim));
    int64_t v_len = 0;
    IG_ASSIGN_OR_RETURN(v_len,
                        optional_int(f, p + "attention.value_length", c.head_dim, 1, kMaxDim));
    if (v_len != c.head_dim)
        return make_error("attention.value_length {} != key_length {} is not supported", v_len,
                          c.head_dim);
    double eps = 0, base = 0, scale = 0;
    IG_ASSIGN_OR_RETURN(eps, optional_float(f, p + "attention.layer_norm_rms_epsilon", 1e-5));
    IG_ASSIGN_OR_RETURN(base, optional_float(f, p + "rope.freq_base", 10000.0));
    if (eps <= 0 || eps > 1) return make_error("layer_norm_rms_epsilon {} is out of range", eps);
    if (base <= 1) return make_error("rope.freq_base {} must be > 1", base);
    c.rms_eps = static_cast<float>(eps);
    c.rope_freq_base = static_cast<float>(base);
    IG_ASSIGN_OR_RETURN(c.rope_dim,
                        optional_int(f, p + "rope.dimension_count", c.head_dim, 0, c.head_dim));
    if (c.rope_dim % 2 != 0) return make_error("rope.dimension_count {} is odd", c.rope_dim);
    if (auto type = f.get_string(p + "rope.scaling.type")) {
        if (*type == "linear") {
            IG_ASSIGN_OR_RETURN(scale, optional_float(f, p + "rope.scaling.factor", 1.0));
            if (scale <= 0) return make_error("rope.scaling.factor {} must be > 0", scale);
            c.rope_linear_scale = static_cast<float>(scale);
        } else if (*type != "none") {
            return make_error("unsupported rope.scaling.type '{}'", *type);
        }
    }

    const GgufTensorInfo* embd = f.find_tensor("token_embd.weight");
    if (embd == nullptr) return make_error("missing tensor 'token_embd.weight'");
    if (embd->shape.size() != 2 || embd->shape[0] != static_cast<uint64_t>(c.n_embd))
        return make_error("tensor 'token_embd.weight' must have shape [{}, n_vocab]", c.n_embd);
    if (embd->shape[1] < 1 || embd->shape[1] > static_cast<uint64_t>(kMaxVocab))
        return make_error("vocabulary size {} is out of range", embd->shape[1]);
    c.n_vocab = static_cast<int64_t>(embd->shape[1]);
    c.tied_output = f.find_tensor("output.weight") == nullptr;
    if (c.arch == Arch::Llama) c.qkv_bias = f.find_tensor("blk.0.attn_q.bias") != nullptr;
    return c;
}

}  // namespace ig
