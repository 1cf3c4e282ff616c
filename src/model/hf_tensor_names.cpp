#include "model/hf_tensor_names.h"

#include <array>
#include <cctype>
#include <utility>

namespace ig {

std::optional<std::string> gguf_tensor_name(std::string_view n) {
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 3> kTop{{
        {"model.embed_tokens.weight", "token_embd.weight"},
        {"model.norm.weight", "output_norm.weight"},
        {"lm_head.weight", "output.weight"},
    }};
    for (const auto& [hf, gg] : kTop)
        if (n == hf) return std::string(gg);
    constexpr std::string_view kLayers = "model.layers.";
    if (!n.starts_with(kLayers)) return std::nullopt;
    n.remove_prefix(kLayers.size());
    size_t digits = 0;
    while (digits < n.size() && std::isdigit(static_cast<unsigned char>(n[digits]))) ++digits;
    if (digits == 0 || digits > 6 || digits == n.size() || n[digits] != '.' ||
        (digits > 1 && n[0] == '0'))
        return std::nullopt;
    const std::string_view layer = n.substr(0, digits);
    const std::string_view rest = n.substr(digits + 1);
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 14> kBlock{{
        {"input_layernorm.weight", "attn_norm.weight"},
        {"post_attention_layernorm.weight", "ffn_norm.weight"},
        {"self_attn.q_proj.weight", "attn_q.weight"},
        {"self_attn.k_proj.weight", "attn_k.weight"},
        {"self_attn.v_proj.weight", "attn_v.weight"},
        {"self_attn.o_proj.weight", "attn_output.weight"},
        {"self_attn.q_proj.bias", "attn_q.bias"},
        {"self_attn.k_proj.bias", "attn_k.bias"},
        {"self_attn.v_proj.bias", "attn_v.bias"},
        {"self_attn.q_norm.weight", "attn_q_norm.weight"},
        {"self_attn.k_norm.weight", "attn_k_norm.weight"},
        {"mlp.gate_proj.weight", "ffn_gate.weight"},
        {"mlp.up_proj.weight", "ffn_up.weight"},
        {"mlp.down_proj.weight", "ffn_down.weight"},
    }};
    for (const auto& [hf, gg] : kBlock)
        if (rest == hf) return "blk." + std::string(layer) + "." + std::string(gg);
    return std::nullopt;
}

bool hf_tensor_ignored(std::string_view n) {
    return n.starts_with("model.layers.") && n.ends_with(".self_attn.rotary_emb.inv_freq");
}

}  // namespace ig
