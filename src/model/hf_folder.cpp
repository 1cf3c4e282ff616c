#include "model/hf_folder.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "model/hf_config.h"
#include "model/hf_tensor_names.h"
#include "model/safetensors_file.h"
#include "util/read_file.h"

namespace ig {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* kSingle = "model.safetensors";
constexpr const char* kIndex = "model.safetensors.index.json";

// The folder's safetensors files, each checked against the index when sharded.
Expected<std::vector<SafetensorsFile>> open_shards(const fs::path& dir) {
    std::vector<SafetensorsFile> shards;
    if (fs::exists(dir / kSingle)) {
        SafetensorsFile f;
        IG_ASSIGN_OR_RETURN(f, SafetensorsFile::open((dir / kSingle).string()));
        shards.push_back(std::move(f));
        return shards;
    }
    if (!fs::exists(dir / kIndex)) return make_error("no {} or {} in the folder", kSingle, kIndex);
    std::string text;
    IG_ASSIGN_OR_RETURN(text, read_file((dir / kIndex).string()));
    json index = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (index.is_discarded() || !index.is_object() || !index.contains("weight_map") ||
        !index["weight_map"].is_object())
        return make_error("{}: not a JSON object with a 'weight_map' object", kIndex);
    std::map<std::string, std::string> where;  // tensor -> shard file name
    std::map<std::string, size_t> shard_of;    // shard file name -> index in shards
    for (const auto& [tensor, file] : index["weight_map"].items()) {
        if (!file.is_string())
            return make_error("{}: shard of '{}' is not a string", kIndex, tensor);
        auto name = file.get<std::string>();
        if (name.empty() || name.find('/') != std::string::npos || name == "." || name == ".." ||
            !name.ends_with(".safetensors"))
            return make_error(
                "{}: shard name '{}' (of tensor '{}') is not a .safetensors file "
                "name in the folder",
                kIndex, name, tensor);
        where[tensor] = name;
        shard_of.emplace(name, 0);
    }
    if (where.empty()) return make_error("{}: weight_map is empty", kIndex);
    for (auto& [name, i] : shard_of) {
        if (!fs::exists(dir / name))
            return make_error("shard '{}' named by {} is missing", name, kIndex);
        SafetensorsFile f;
        IG_ASSIGN_OR_RETURN(f, SafetensorsFile::open((dir / name).string()));
        i = shards.size();
        shards.push_back(std::move(f));
    }
    for (const auto& [tensor, name] : where)
        if (shards[shard_of[name]].find(tensor) == nullptr)
            return make_error("{} places tensor '{}' in shard '{}', which does not hold it", kIndex,
                              tensor, name);
    for (const auto& [name, i] : shard_of)
        for (const auto& t : shards[i].tensors()) {
            auto it = where.find(t.name);
            if (it == where.end())
                return make_error("shard '{}' holds tensor '{}', which {} does not list", name,
                                  t.name, kIndex);
            if (it->second != name)
                return make_error("shard '{}' holds tensor '{}', which {} places in '{}'", name,
                                  t.name, kIndex, it->second);
        }
    return shards;
}

std::optional<DType> computable(StDType t) {
    switch (t) {
        case StDType::F32:
            return DType::F32;
        case StDType::F16:
            return DType::F16;
        case StDType::BF16:
            return DType::BF16;
        default:
            return std::nullopt;
    }
}

// Which GGUF tensors each architecture binds: anything else in the folder
// would be ignored, which could only mean wrong logits.
bool used_by(const std::string& arch, std::string_view gguf_name) {
    const bool bias = gguf_name.ends_with(".bias");
    const bool qk_norm =
        gguf_name.ends_with("attn_q_norm.weight") || gguf_name.ends_with("attn_k_norm.weight");
    if (arch == "qwen2") return !qk_norm;
    if (arch == "qwen3") return !bias;
    return !bias && !qk_norm;
}

// llama.cpp's LlamaModel.permute: rows of each head go from HF's
// (2, head_dim/2) order to (head_dim/2, 2), so ggml's adjacent-pair RoPE
// rotates what HF's rotate_half does.
Expected<std::shared_ptr<std::vector<uint8_t>>> permute_rows(const GgufTensorInfo& t,
                                                             int64_t n_head) {
    const uint64_t rows = t.shape.size() == 2 ? t.shape[1] : t.shape[0];
    const uint64_t row_bytes = t.n_bytes / rows;
    if (rows % static_cast<uint64_t>(n_head) != 0 || (rows / n_head) % 2 != 0)
        return make_error("tensor '{}' has {} rows, not {} heads of an even size", t.name, rows,
                          n_head);
    const uint64_t hd = rows / n_head, half = hd / 2;
    auto out = std::make_shared<std::vector<uint8_t>>(t.n_bytes);
    for (uint64_t h = 0; h < static_cast<uint64_t>(n_head); ++h)
        for (uint64_t j = 0; j < half; ++j)
            for (uint64_t k = 0; k < 2; ++k)
                std::memcpy(out->data() + (h * hd + 2 * j + k) * row_bytes,
                            t.data + (h * hd + k * half + j) * row_bytes, row_bytes);
    return out;
}

}  // namespace

Expected<std::shared_ptr<const GgufFile>> open_model_file(const std::string& path) {
    if (is_hf_folder(path)) return open_hf_folder(path);
    auto f = GgufFile::open(path);
    if (!f.ok()) return f.error();
    return std::make_shared<const GgufFile>(std::move(f).value());
}

bool is_hf_folder(const std::string& path) {
    std::error_code ec;
    return fs::is_directory(path, ec);
}

Expected<std::string> hf_chat_template(const std::string& dir) {
    const fs::path d(dir);
    if (fs::exists(d / "chat_template.jinja"))
        return read_file((d / "chat_template.jinja").string());
    if (!fs::exists(d / "tokenizer_config.json")) return std::string();
    std::string text;
    IG_ASSIGN_OR_RETURN(text, read_file((d / "tokenizer_config.json").string()));
    json c = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (c.is_discarded() || !c.is_object())
        return make_error("tokenizer_config.json is not a JSON object");
    if (!c.contains("chat_template") || c["chat_template"].is_null()) return std::string();
    const json& t = c["chat_template"];
    if (t.is_string()) return t.get<std::string>();
    if (t.is_array()) {
        for (const json& e : t)
            if (e.is_object() && e.value("name", "") == "default" && e.contains("template") &&
                e["template"].is_string())
                return e["template"].get<std::string>();
        return make_error("tokenizer_config.json: chat_template list has no \"default\" entry");
    }
    return make_error("tokenizer_config.json: chat_template is neither a string nor a list");
}

Expected<std::shared_ptr<const GgufFile>> open_hf_folder(const std::string& dir_str) {
    auto fail = [&](const Error& e) { return make_error("{}: {}", dir_str, e.message); };
    const fs::path dir(dir_str);
    auto cfg_text = read_file((dir / "config.json").string());
    if (!cfg_text) return fail(cfg_text.error());
    auto cfg = hf_config_from_json(*cfg_text);
    if (!cfg) return fail(cfg.error());
    auto shards = open_shards(dir);
    if (!shards) return fail(shards.error());

    std::map<std::string, const SafetensorsTensor*> all;  // HF name -> tensor
    bool embed_aliases_lm_head = false;
    for (const auto& s : *shards) {
        for (const auto& t : s.tensors())
            if (!all.emplace(t.name, &t).second)
                return make_error("{}: tensor '{}' is stored in more than one shard", dir_str,
                                  t.name);
        auto it = s.metadata().find("model.embed_tokens.weight");
        if (it != s.metadata().end() && it->second == "lm_head.weight")
            embed_aliases_lm_head = true;
    }

    // Tied embeddings, whichever of the two names the file stores.
    const bool has_embed = all.count("model.embed_tokens.weight") != 0;
    const bool has_lm = all.count("lm_head.weight") != 0;
    bool drop_lm = false;
    if (!has_embed && has_lm) {
        if (!cfg->tie_word_embeddings && !embed_aliases_lm_head)
            return make_error(
                "{}: model.embed_tokens.weight is missing and the embeddings are not tied",
                dir_str);
        all["model.embed_tokens.weight"] = all["lm_head.weight"];
        drop_lm = true;
    } else if (has_embed && !has_lm && cfg->untied_declared) {
        return make_error(
            "{}: config.json says tie_word_embeddings = false but there is no lm_head.weight",
            dir_str);
    } else if (has_embed && has_lm && cfg->tie_word_embeddings) {
        drop_lm = true;
    }

    std::vector<GgufTensorInfo> infos;
    std::vector<std::shared_ptr<const void>> owned;
    for (const auto& [hf_name, t] : all) {
        if (hf_tensor_ignored(hf_name) || (drop_lm && hf_name == "lm_head.weight")) continue;
        auto name = gguf_tensor_name(hf_name);
        if (!name || !used_by(cfg->arch, *name))
            return make_error("{}: tensor '{}' is not part of a {} model this loader supports",
                              dir_str, hf_name, cfg->arch);
        auto type = computable(t->dtype);
        if (!type)
            return make_error(
                "{}: tensor '{}' has dtype {}; only F32, F16 and BF16 weights can "
                "be loaded",
                dir_str, hf_name, st_dtype_name(t->dtype));
        if (t->shape.empty() || t->shape.size() > 2)
            return make_error("{}: tensor '{}' has {} dimensions (expected 1 or 2)", dir_str,
                              hf_name, t->shape.size());
        GgufTensorInfo g;
        g.name = *name;
        g.shape.assign(t->shape.rbegin(), t->shape.rend());  // [out, in] -> GGUF [in, out]
        g.type = *type;
        g.n_bytes = t->data.size();
        g.data = t->data.data();
        const bool is_q = g.name.ends_with("attn_q.weight") || g.name.ends_with("attn_q.bias");
        const bool is_k = g.name.ends_with("attn_k.weight") || g.name.ends_with("attn_k.bias");
        const uintptr_t align = st_dtype_bytes(t->dtype);
        if (cfg->arch == "llama" && (is_q || is_k)) {
            auto p = permute_rows(g, is_q ? cfg->n_head : cfg->n_head_kv);
            if (!p) return fail(p.error());
            g.data = (*p)->data();
            owned.push_back(std::move(*p));
        } else if (reinterpret_cast<uintptr_t>(g.data) % align != 0) {
            // The header length need not keep data aligned; the kernels
            // read whole elements.
            auto copy = std::make_shared<std::vector<uint8_t>>(t->data.begin(), t->data.end());
            g.data = copy->data();
            owned.push_back(std::move(copy));
        }
        infos.push_back(std::move(g));
    }
    if (!cfg->rope_freqs.empty()) {
        auto f = std::make_shared<std::vector<float>>(cfg->rope_freqs);
        GgufTensorInfo g;
        g.name = "rope_freqs.weight";
        g.shape = {f->size()};
        g.type = DType::F32;
        g.data = reinterpret_cast<const uint8_t*>(f->data());
        infos.push_back(std::move(g));
        owned.push_back(std::move(f));
    }

    std::vector<GgufKV> kv = std::move(cfg->metadata);
    fs::path abs = fs::absolute(dir).lexically_normal();
    if (abs.filename().empty()) abs = abs.parent_path();
    kv.push_back({"general.name", GgufValue::str(abs.filename().string())});
    auto tmpl = hf_chat_template(dir_str);
    if (!tmpl) return fail(tmpl.error());
    if (!tmpl->empty()) kv.push_back({"tokenizer.chat_template", GgufValue::str(std::move(*tmpl))});
    std::vector<std::shared_ptr<const MappedFile>> maps;
    for (const auto& s : *shards) maps.push_back(s.mapping());
    auto f = GgufFile::assemble(std::move(kv), std::move(infos), std::move(maps), std::move(owned),
                                dir_str);
    if (!f) return fail(f.error());
    return std::make_shared<const GgufFile>(std::move(f).value());
}

}  // namespace ig
