#include "model_tools/tokenize_cli.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "gguf/gguf.h"
#include "model/hf_folder.h"
#include "tokenizer/gguf_vocab.h"
#include "tokenizer/hf_tokenizer_json.h"
#include "util/read_file.h"

namespace ig {
namespace {

void print_ids(const std::vector<int32_t>& ids, std::ostream& out) {
    std::string line;
    for (size_t i = 0; i < ids.size(); ++i) {
        if (i) line += ' ';
        line += std::to_string(ids[i]);
    }
    line += '\n';
    out << line;
}

}  // namespace

Expected<std::unique_ptr<Tokenizer>> load_cli_tokenizer(const std::string& model,
                                                        const std::string& tokenizer_json) {
    if (!tokenizer_json.empty()) {
        std::string tj, cfg;
        IG_ASSIGN_OR_RETURN(tj, read_file(tokenizer_json));
        const auto cfg_path =
            std::filesystem::path(tokenizer_json).parent_path() / "tokenizer_config.json";
        if (std::filesystem::exists(cfg_path))
            IG_ASSIGN_OR_RETURN(cfg, read_file(cfg_path.string()));
        return tokenizer_from_hf_json(tj, cfg);
    }
    if (model.empty()) return make_error("give --model or --tokenizer-json");
    auto f = open_model_file(model);
    if (!f.ok()) return f.error();
    return load_tokenizer(**f);
}

Status run_tokenize(const TokenizeCliOptions& o, std::istream& in, std::ostream& out) {
    std::unique_ptr<Tokenizer> tok;
    IG_ASSIGN_OR_RETURN(tok, load_cli_tokenizer(o.model, o.tokenizer_json));
    const EncodeOptions opt{.add_special = !o.no_bos, .parse_special = o.parse_special};
    if (!o.jsonl) {
        std::string text = o.text;
        if (text.empty()) {
            std::stringstream ss;
            ss << in.rdbuf();
            text = ss.str();
        }
        print_ids(tok->encode(text, opt), out);
        return {};
    }
    std::string line;
    for (size_t n = 1; std::getline(in, line); ++n) {
        const auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_string()) return make_error("line {}: not a JSON string", n);
        print_ids(tok->encode(j.get_ref<const std::string&>(), opt), out);
    }
    return {};
}

Status run_detokenize(const TokenizeCliOptions& o, std::istream& in, std::ostream& out) {
    std::unique_ptr<Tokenizer> tok;
    IG_ASSIGN_OR_RETURN(tok, load_cli_tokenizer(o.model, o.tokenizer_json));
    auto check = [&](const std::vector<int32_t>& ids) -> Status {
        for (int32_t id : ids)
            if (id < 0 || id >= tok->n_vocab())
                return make_error("token id {} is outside the vocabulary ({})", id, tok->n_vocab());
        return {};
    };
    if (!o.jsonl) {
        IG_TRY(check(o.ids));
        out << tok->decode(o.ids, o.render_special) << '\n';
        return {};
    }
    std::string line;
    for (size_t n = 1; std::getline(in, line); ++n) {
        const auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_array())
            return make_error("line {}: not a JSON array of ids", n);
        std::vector<int32_t> ids;
        for (const auto& e : j) {
            if (!e.is_number_integer()) return make_error("line {}: not a JSON array of ids", n);
            const auto v = e.get<int64_t>();
            if (v < 0 || v >= tok->n_vocab())
                return make_error("line {}: token id {} is outside the vocabulary ({})", n, v,
                                  tok->n_vocab());
            ids.push_back(static_cast<int32_t>(v));
        }
        out << nlohmann::json(tok->decode(ids, o.render_special)).dump() << '\n';
    }
    return {};
}

}  // namespace ig
