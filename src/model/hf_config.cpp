#include "model/hf_config.h"

#include <cmath>
#include <numbers>

#include <nlohmann/json.hpp>

namespace ig {
namespace {

using json = nlohmann::json;

Expected<int64_t> int_field(const json& c, const char* key, int64_t lo, int64_t hi) {
    if (!c.contains(key)) return make_error("config.json: missing '{}'", key);
    const json& v = c[key];
    if (!v.is_number_integer()) return make_error("config.json: '{}' is not an integer", key);
    const auto x = v.get<int64_t>();
    if (x < lo || x > hi)
        return make_error("config.json: '{}' = {} is out of range [{}, {}]", key, x, lo, hi);
    return x;
}

Expected<int64_t> int_or(const json& c, const char* key, int64_t dflt, int64_t lo, int64_t hi) {
    if (!c.contains(key) || c[key].is_null()) return dflt;
    return int_field(c, key, lo, hi);
}

Expected<double> float_or(const json& c, const char* key, double dflt) {
    if (!c.contains(key) || c[key].is_null()) return dflt;
    if (!c[key].is_number() || !std::isfinite(c[key].get<double>()))
        return make_error("config.json: '{}' is not a finite number", key);
    return c[key].get<double>();
}

bool flag(const json& c, const char* key) {
    return c.contains(key) && c[key].is_boolean() && c[key].get<bool>();
}

// llama.cpp's LlamaModel.generate_extra_tensors for rope_type "llama3".
Expected<std::vector<float>> llama3_rope_freqs(const json& rs, double base, int64_t dim) {
    double factor = 8, low = 1, high = 4, old_ctx = 8192;
    IG_ASSIGN_OR_RETURN(factor, float_or(rs, "factor", 8.0));
    IG_ASSIGN_OR_RETURN(low, float_or(rs, "low_freq_factor", 1.0));
    IG_ASSIGN_OR_RETURN(high, float_or(rs, "high_freq_factor", 4.0));
    IG_ASSIGN_OR_RETURN(old_ctx, float_or(rs, "original_max_position_embeddings", 8192.0));
    if (factor <= 0 || low <= 0 || high <= low || old_ctx <= 0)
        return make_error("config.json: rope_scaling (llama3) has out-of-range factors");
    const double low_wavelen = old_ctx / low, high_wavelen = old_ctx / high;
    std::vector<float> out;
    for (int64_t i = 0; i < dim; i += 2) {
        const double freq = 1.0 / std::pow(base, static_cast<double>(i) / static_cast<double>(dim));
        const double wavelen = 2 * std::numbers::pi / freq;
        double f = 1;
        if (wavelen < high_wavelen) {
            f = 1;
        } else if (wavelen > low_wavelen) {
            f = factor;
        } else {
            const double smooth = (old_ctx / wavelen - low) / (high - low);
            f = 1 / ((1 - smooth) / factor + smooth);
        }
        out.push_back(static_cast<float>(f));
    }
    return out;
}

}  // namespace

Expected<HfConfig> hf_config_from_json(std::string_view config_json) {
    json c = json::parse(config_json, nullptr, /*allow_exceptions=*/false);
    if (c.is_discarded() || !c.is_object()) return make_error("config.json is not a JSON object");
    HfConfig h;
    std::string cls;
    if (c.contains("architectures") && c["architectures"].is_array() &&
        c["architectures"].size() == 1 && c["architectures"][0].is_string())
        cls = c["architectures"][0].get<std::string>();
    if (cls == "LlamaForCausalLM" || cls == "MistralForCausalLM")
        h.arch = "llama";
    else if (cls == "Qwen2ForCausalLM")
        h.arch = "qwen2";
    else if (cls == "Qwen3ForCausalLM")
        h.arch = "qwen3";
    else
        return make_error(
            "config.json: architectures {} is not supported (supported: LlamaForCausalLM, "
            "MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM)",
            c.contains("architectures") ? c["architectures"].dump() : std::string("(missing)"));

    constexpr int64_t kMaxDim = int64_t{1} << 20;
    int64_t n_embd = 0, n_layer = 0, n_ff = 0, n_ctx = 0;
    IG_ASSIGN_OR_RETURN(n_embd, int_field(c, "hidden_size", 1, kMaxDim));
    IG_ASSIGN_OR_RETURN(n_layer, int_field(c, "num_hidden_layers", 1, 4096));
    IG_ASSIGN_OR_RETURN(n_ff, int_field(c, "intermediate_size", 1, kMaxDim));
    IG_ASSIGN_OR_RETURN(h.n_head, int_field(c, "num_attention_heads", 1, kMaxDim));
    IG_ASSIGN_OR_RETURN(h.n_head_kv, int_or(c, "num_key_value_heads", h.n_head, 1, h.n_head));
    IG_ASSIGN_OR_RETURN(n_ctx, int_or(c, "max_position_embeddings", 2048, 1, int64_t{1} << 26));
    IG_ASSIGN_OR_RETURN(h.vocab_size, int_field(c, "vocab_size", 1, int64_t{1} << 24));
    if (n_embd % h.n_head != 0 && (!c.contains("head_dim") || c["head_dim"].is_null()))
        return make_error("config.json: hidden_size {} is not a multiple of num_attention_heads {}",
                          n_embd, h.n_head);
    IG_ASSIGN_OR_RETURN(h.head_dim, int_or(c, "head_dim", n_embd / h.n_head, 2, kMaxDim));
    double eps = 0, theta = 0;
    IG_ASSIGN_OR_RETURN(eps, float_or(c, "rms_norm_eps", 1e-6));
    IG_ASSIGN_OR_RETURN(theta, float_or(c, "rope_theta", 10000.0));
    // HF's defaults: Llama and Qwen configs tie only when they say so.
    h.tie_word_embeddings = flag(c, "tie_word_embeddings");
    h.untied_declared = c.contains("tie_word_embeddings") && c["tie_word_embeddings"] == false;

    // Fields that would change the math.
    if (c.contains("hidden_act") && c["hidden_act"] != "silu")
        return make_error("config.json: hidden_act {} is not supported (only \"silu\")",
                          c["hidden_act"].dump());
    if (h.arch == "llama" && flag(c, "attention_bias"))
        return make_error(
            "config.json: attention_bias = true (a bias on o_proj) is not supported for llama");
    if (flag(c, "mlp_bias")) return make_error("config.json: mlp_bias = true is not supported");
    double partial = 1;
    IG_ASSIGN_OR_RETURN(partial, float_or(c, "partial_rotary_factor", 1.0));
    if (partial != 1.0)
        return make_error("config.json: partial_rotary_factor {} is not supported", partial);
    if (c.contains("sliding_window") && !c["sliding_window"].is_null()) {
        // Qwen2/3 name a window that only applies with use_sliding_window.
        const bool used = h.arch == "llama" || flag(c, "use_sliding_window");
        if (used) {
            int64_t w = 0;
            IG_ASSIGN_OR_RETURN(w, int_field(c, "sliding_window", 1, int64_t{1} << 40));
            if (w < n_ctx)
                return make_error(
                    "config.json: sliding_window {} is smaller than max_position_embeddings {}; "
                    "sliding-window attention is not supported",
                    w, n_ctx);
        }
    }

    const std::string p = h.arch + ".";
    auto& m = h.metadata;
    m.push_back({"general.architecture", GgufValue::str(h.arch)});
    m.push_back({p + "context_length", GgufValue::u32(static_cast<uint32_t>(n_ctx))});
    m.push_back({p + "embedding_length", GgufValue::u32(static_cast<uint32_t>(n_embd))});
    m.push_back({p + "block_count", GgufValue::u32(static_cast<uint32_t>(n_layer))});
    m.push_back({p + "feed_forward_length", GgufValue::u32(static_cast<uint32_t>(n_ff))});
    m.push_back({p + "attention.head_count", GgufValue::u32(static_cast<uint32_t>(h.n_head))});
    m.push_back(
        {p + "attention.head_count_kv", GgufValue::u32(static_cast<uint32_t>(h.n_head_kv))});
    m.push_back({p + "attention.layer_norm_rms_epsilon", GgufValue::f32(static_cast<float>(eps))});
    m.push_back({p + "rope.freq_base", GgufValue::f32(static_cast<float>(theta))});
    m.push_back({p + "rope.dimension_count", GgufValue::u32(static_cast<uint32_t>(h.head_dim))});
    if (c.contains("head_dim") && !c["head_dim"].is_null()) {
        m.push_back(
            {p + "attention.key_length", GgufValue::u32(static_cast<uint32_t>(h.head_dim))});
        m.push_back(
            {p + "attention.value_length", GgufValue::u32(static_cast<uint32_t>(h.head_dim))});
    }

    if (c.contains("rope_scaling") && !c["rope_scaling"].is_null()) {
        const json& rs = c["rope_scaling"];
        if (!rs.is_object()) return make_error("config.json: rope_scaling is not an object");
        std::string type;
        for (const char* k : {"rope_type", "type"})
            if (rs.contains(k) && rs[k].is_string()) type = rs[k].get<std::string>();
        if (type == "linear") {
            double factor = 1;
            IG_ASSIGN_OR_RETURN(factor, float_or(rs, "factor", 1.0));
            if (factor <= 0) return make_error("config.json: rope_scaling.factor must be > 0");
            m.push_back({p + "rope.scaling.type", GgufValue::str("linear")});
            m.push_back({p + "rope.scaling.factor", GgufValue::f32(static_cast<float>(factor))});
        } else if (type == "llama3") {
            IG_ASSIGN_OR_RETURN(h.rope_freqs, llama3_rope_freqs(rs, theta, h.head_dim));
        } else if (type != "default") {
            return make_error(
                "config.json: rope_scaling type '{}' is not supported (supported: linear, llama3)",
                type);
        }
    }
    return h;
}

}  // namespace ig
