#include "tokenizer/hf_folder_vocab.h"

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "tokenizer/hf_tokenizer_json.h"
#include "util/read_file.h"

namespace ig {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// An optional JSON object file of the folder (null when absent).
Expected<json> optional_json(const fs::path& p) {
    if (!fs::exists(p)) return json();
    std::string text;
    IG_ASSIGN_OR_RETURN(text, read_file(p.string()));
    json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object())
        return make_error("{} is not a JSON object", p.filename().string());
    return j;
}

Status add_eos_ids(Vocab& v, const json& gen) {
    if (!gen.is_object() || !gen.contains("eos_token_id") || gen["eos_token_id"].is_null())
        return {};
    const json& e = gen["eos_token_id"];
    std::vector<json> ids = e.is_array() ? std::vector<json>(e.begin(), e.end()) : std::vector{e};
    for (const json& x : ids) {
        if (!x.is_number_integer() || x.get<int64_t>() < 0 || x.get<int64_t>() >= v.size())
            return make_error("generation_config.json: eos_token_id {} is not a token id",
                              x.dump());
        const auto id = static_cast<int32_t>(x.get<int64_t>());
        if (v.eos_id < 0) v.eos_id = id;
        if (id != v.eos_id && std::find(v.eog_ids.begin(), v.eog_ids.end(), id) == v.eog_ids.end())
            v.eog_ids.push_back(id);
    }
    return {};
}

}  // namespace

Expected<Vocab> vocab_from_hf_folder(const std::string& dir_str) {
    const fs::path dir(dir_str);
    auto fail = [&](const Error& e) { return make_error("{}: {}", dir_str, e.message); };
    auto tok = read_file((dir / "tokenizer.json").string());
    if (!tok) return fail(tok.error());
    std::string cfg_text;
    if (fs::exists(dir / "tokenizer_config.json")) {
        auto c = read_file((dir / "tokenizer_config.json").string());
        if (!c) return fail(c.error());
        cfg_text = std::move(*c);
    }
    auto v = vocab_from_hf_json(*tok, cfg_text);
    if (!v) return fail(v.error());
    auto gen = optional_json(dir / "generation_config.json");
    if (!gen) return fail(gen.error());
    if (auto s = add_eos_ids(*v, *gen); !s) return fail(s.error());
    auto model_cfg = optional_json(dir / "config.json");
    if (!model_cfg) return fail(model_cfg.error());
    if (model_cfg->is_object() && model_cfg->contains("vocab_size") &&
        (*model_cfg)["vocab_size"].is_number_integer()) {
        const auto n = (*model_cfg)["vocab_size"].get<int64_t>();
        if (n > int64_t{1} << 24)
            return fail(make_error("config.json: vocab_size {} is too large", n));
        for (auto i = static_cast<int64_t>(v->tokens.size()); i < n; ++i) {
            v->tokens.push_back("[PAD" + std::to_string(i) + "]");
            if (!v->types.empty()) v->types.push_back(TokenType::Unused);
            if (!v->scores.empty()) v->scores.push_back(0.0f);
        }
    }
    return v;
}

}  // namespace ig
