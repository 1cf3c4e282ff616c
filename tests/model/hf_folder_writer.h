#pragma once
// Test helpers that write Hugging Face model folders: raw safetensors bytes
// (valid or deliberately broken), and a whole folder made from a GGUF model
// (HF names, [out, in] shapes, llama Q/K rows permuted back to HF's order),
// so the folder loader can be checked against the GGUF path.
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gguf/gguf.h"

namespace ig::test {

struct StTensor {
    std::string name;
    std::string dtype = "F32";
    std::vector<uint64_t> shape;  // row-major (HF order)
    std::vector<uint8_t> bytes;
};

// header JSON text for tensors laid out back to back (metadata optional).
inline nlohmann::ordered_json st_header(const std::vector<StTensor>& ts,
                                        const nlohmann::ordered_json& metadata = {}) {
    nlohmann::ordered_json h = nlohmann::ordered_json::object();
    if (!metadata.is_null()) h["__metadata__"] = metadata;
    uint64_t at = 0;
    for (const auto& t : ts) {
        h[t.name] = {
            {"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {at, at + t.bytes.size()}}};
        at += t.bytes.size();
    }
    return h;
}

// An 8-byte length, the header text (padded with spaces to 8 bytes as the
// reference writer does), then the data.
inline std::vector<uint8_t> st_bytes(const std::string& header, const std::vector<StTensor>& ts,
                                     bool pad = true) {
    std::string h = header;
    if (pad)
        while (h.size() % 8 != 0) h += ' ';
    std::vector<uint8_t> out(8);
    const uint64_t n = h.size();
    std::memcpy(out.data(), &n, 8);
    out.insert(out.end(), h.begin(), h.end());
    for (const auto& t : ts) out.insert(out.end(), t.bytes.begin(), t.bytes.end());
    return out;
}

inline std::vector<uint8_t> st_file(const std::vector<StTensor>& ts,
                                    const nlohmann::ordered_json& metadata = {}) {
    return st_bytes(st_header(ts, metadata).dump(), ts);
}

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

inline void write_text(const std::string& path, const std::string& s) {
    std::ofstream(path, std::ios::binary) << s;
}

enum class TiedAs { LmHeadOnly, EmbedOnly, Both };

struct FolderOptions {
    TiedAs tied = TiedAs::EmbedOnly;  // how a tied model stores its embeddings
    int shards = 1;                   // >1: model-0000i-of-0000n.safetensors + index
};

// GGUF name -> HF name (the inverse of hf_tensor_names).
inline std::string hf_name_of(const std::string& g) {
    static const std::map<std::string, std::string> top{
        {"token_embd.weight", "model.embed_tokens.weight"},
        {"output_norm.weight", "model.norm.weight"},
        {"output.weight", "lm_head.weight"}};
    if (auto it = top.find(g); it != top.end()) return it->second;
    static const std::map<std::string, std::string> blk{
        {"attn_norm.weight", "input_layernorm.weight"},
        {"ffn_norm.weight", "post_attention_layernorm.weight"},
        {"attn_q.weight", "self_attn.q_proj.weight"},
        {"attn_k.weight", "self_attn.k_proj.weight"},
        {"attn_v.weight", "self_attn.v_proj.weight"},
        {"attn_output.weight", "self_attn.o_proj.weight"},
        {"attn_q.bias", "self_attn.q_proj.bias"},
        {"attn_k.bias", "self_attn.k_proj.bias"},
        {"attn_v.bias", "self_attn.v_proj.bias"},
        {"attn_q_norm.weight", "self_attn.q_norm.weight"},
        {"attn_k_norm.weight", "self_attn.k_norm.weight"},
        {"ffn_gate.weight", "mlp.gate_proj.weight"},
        {"ffn_up.weight", "mlp.up_proj.weight"},
        {"ffn_down.weight", "mlp.down_proj.weight"}};
    const size_t dot = g.find('.', 4);
    return "model.layers." + g.substr(4, dot - 4) + "." + blk.at(g.substr(dot + 1));
}

// Writes `dir` (which must exist) from a GGUF model with F32/F16/BF16 weights.
inline void write_hf_folder(const GgufFile& g, const std::string& dir, const FolderOptions& o) {
    const std::string arch(*g.get_string("general.architecture"));
    const std::string p = arch + ".";
    const int64_t n_head = *g.get_int(p + "attention.head_count");
    const int64_t n_head_kv = g.get_int(p + "attention.head_count_kv").value_or(n_head);
    const int64_t n_embd = *g.get_int(p + "embedding_length");
    const bool tied = g.find_tensor("output.weight") == nullptr;
    nlohmann::ordered_json cfg{
        {"architectures",
         {arch == "llama"   ? "LlamaForCausalLM"
          : arch == "qwen2" ? "Qwen2ForCausalLM"
                            : "Qwen3ForCausalLM"}},
        {"model_type", arch},
        {"hidden_size", n_embd},
        {"num_hidden_layers", *g.get_int(p + "block_count")},
        {"intermediate_size", *g.get_int(p + "feed_forward_length")},
        {"num_attention_heads", n_head},
        {"num_key_value_heads", n_head_kv},
        {"max_position_embeddings", g.get_int(p + "context_length").value_or(2048)},
        {"rms_norm_eps", *g.get_float(p + "attention.layer_norm_rms_epsilon")},
        {"rope_theta", g.get_float(p + "rope.freq_base").value_or(10000.0)},
        {"vocab_size", g.find_tensor("token_embd.weight")->shape[1]},
        {"tie_word_embeddings", tied},
        {"hidden_act", "silu"}};
    if (auto kl = g.get_int(p + "attention.key_length")) cfg["head_dim"] = *kl;
    write_text(dir + "/config.json", cfg.dump(2));

    std::vector<StTensor> all;
    for (const auto& t : g.tensors()) {
        StTensor s;
        s.name = hf_name_of(t.name);
        s.dtype = t.type == DType::F32 ? "F32" : t.type == DType::F16 ? "F16" : "BF16";
        s.shape.assign(t.shape.rbegin(), t.shape.rend());
        s.bytes.assign(t.data, t.data + t.n_bytes);
        const bool q = t.name.find("attn_q.") != std::string::npos;
        const bool k = t.name.find("attn_k.") != std::string::npos;
        if (arch == "llama" && (q || k)) {
            // GGUF row h*hd + 2j + i holds HF row h*hd + i*hd/2 + j.
            const int64_t heads = q ? n_head : n_head_kv;
            const uint64_t rows = s.shape[0], rb = t.n_bytes / rows, hd = rows / heads;
            for (uint64_t h = 0; h < static_cast<uint64_t>(heads); ++h)
                for (uint64_t j = 0; j < hd / 2; ++j)
                    for (uint64_t i = 0; i < 2; ++i)
                        std::memcpy(s.bytes.data() + (h * hd + i * (hd / 2) + j) * rb,
                                    t.data + (h * hd + 2 * j + i) * rb, rb);
        }
        if (tied && t.name == "token_embd.weight") {
            if (o.tied != TiedAs::LmHeadOnly) all.push_back(s);
            if (o.tied != TiedAs::EmbedOnly) {
                s.name = "lm_head.weight";
                all.push_back(s);
            }
            continue;
        }
        all.push_back(std::move(s));
    }
    nlohmann::ordered_json meta{{"format", "pt"}};
    if (tied && o.tied == TiedAs::LmHeadOnly) meta["model.embed_tokens.weight"] = "lm_head.weight";
    if (o.shards <= 1) {
        write_bytes(dir + "/model.safetensors", st_file(all, meta));
        return;
    }
    nlohmann::ordered_json index{{"metadata", {{"total_size", 0}}}, {"weight_map", {}}};
    for (int s = 0; s < o.shards; ++s) {
        char name[64];
        std::snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", s + 1, o.shards);
        std::vector<StTensor> part;
        for (size_t i = static_cast<size_t>(s); i < all.size();
             i += static_cast<size_t>(o.shards)) {
            part.push_back(all[i]);
            index["weight_map"][all[i].name] = name;
        }
        write_bytes(dir + "/" + name, st_file(part, meta));
    }
    write_text(dir + "/model.safetensors.index.json", index.dump(2));
}

}  // namespace ig::test
