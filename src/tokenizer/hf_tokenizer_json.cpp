#include "tokenizer/hf_tokenizer_json.h"

#include <nlohmann/json.hpp>

#include <unordered_map>

#include "tokenizer/regex_split.h"
#include "tokenizer/unicode_normalize.h"

namespace ig {
namespace {

using json = nlohmann::json;

constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581
// Ids beyond this are taken as corrupt rather than allocated.
constexpr int64_t kMaxTokens = int64_t{1} << 24;

// A regex that matches s literally.
std::string quote_regex(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (std::string_view("\\^$.|?*+()[]{}-/").find(c) != std::string_view::npos) out += '\\';
        out += c;
    }
    return out;
}

// bos_token / eos_token: a string, {"content": ...} or null.
std::string token_text(const json& j) {
    if (j.is_string()) return j.get<std::string>();
    if (j.is_object() && j.contains("content") && j["content"].is_string())
        return j["content"].get<std::string>();
    return {};
}

struct PreTok {
    std::vector<std::string> regexes;
    bool byte_level = false;
};

Status read_pre_tokenizer(const json& p, PreTok& out) {
    if (p.is_null()) return {};
    const std::string type = p.value("type", "");
    if (type == "Sequence") {
        for (const json& q : p.at("pretokenizers")) IG_TRY(read_pre_tokenizer(q, out));
        return {};
    }
    if (type == "Split") {
        if (p.value("behavior", "") != "Isolated" || p.value("invert", false))
            return make_error(
                "tokenizer.json: Split pre-tokenizer with behavior '{}' is not supported",
                p.value("behavior", ""));
        const json& pat = p.at("pattern");
        if (pat.contains("Regex"))
            out.regexes.push_back(pat["Regex"].get<std::string>());
        else
            out.regexes.push_back(quote_regex(pat.at("String").get<std::string>()));
        return {};
    }
    if (type == "ByteLevel") {
        if (p.value("add_prefix_space", false))
            return make_error("tokenizer.json: ByteLevel add_prefix_space is not supported");
        out.byte_level = true;
        if (p.value("use_regex", true)) out.regexes.push_back(kGpt2SplitRegex);
        return {};
    }
    if (type == "Digits") {
        out.regexes.push_back(p.value("individual_digits", false) ? "\\p{N}" : "\\p{N}+");
        return {};
    }
    if (type == "Punctuation") {
        // Unicode punctuation plus ASCII punctuation that Unicode calls symbols.
        const std::string cls = "[\\p{P}\\$\\+<=>\\^`\\|~]";
        out.regexes.push_back(p.value("behavior", "Isolated") == "Contiguous" ? cls + "+" : cls);
        return {};
    }
    return make_error("tokenizer.json: pre-tokenizer '{}' is not supported", type);
}

struct Norm {
    bool prepend_space = false;   // Prepend "▁"
    bool replace_spaces = false;  // Replace " " -> "▁"
    UnicodeForm form = UnicodeForm::None;
    bool form_late = false;  // the form came after Prepend/Replace
};

Status read_normalizer(const json& n, Norm& out) {
    if (n.is_null()) return {};
    const std::string type = n.value("type", "");
    if (type == "Sequence") {
        for (const json& q : n.at("normalizers")) IG_TRY(read_normalizer(q, out));
        return {};
    }
    if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
        // One form is all real files use; two would need each applied in turn.
        if (out.form != UnicodeForm::None)
            return make_error(
                "tokenizer.json: more than one Unicode normalizer ('{}' after another) is not "
                "supported",
                type);
        IG_ASSIGN_OR_RETURN(out.form, unicode_form_from_name(type));
        out.form_late = out.prepend_space || out.replace_spaces;
        return {};
    }
    if (type == "Prepend" && n.value("prepend", "") == kSpace) {
        out.prepend_space = true;
        return {};
    }
    if (type == "Replace" && n.contains("pattern") && n["pattern"].value("String", "") == " " &&
        n.value("content", "") == kSpace) {
        out.replace_spaces = true;
        return {};
    }
    return make_error("tokenizer.json: normalizer '{}' is not supported", type);
}

// The special token a TemplateProcessing post-processor puts first (or last)
// around a single sequence.
std::string template_special(const json& post, bool first) {
    if (!post.is_object() || post.value("type", "") != "TemplateProcessing") return {};
    const json& single = post.value("single", json::array());
    if (!single.is_array() || single.empty()) return {};
    const json& e = first ? single.front() : single.back();
    if (e.contains("SpecialToken")) return e["SpecialToken"].value("id", "");
    return {};
}

Expected<Vocab> parse(const json& j, const json& cfg) {
    const json& model = j.at("model");
    const std::string mtype = model.value("type", "BPE");
    if (mtype != "BPE")
        return make_error("tokenizer.json: model type '{}' is not supported", mtype);
    const json& vocab = model.at("vocab");
    if (!vocab.is_object()) return make_error("tokenizer.json: model.vocab is not an object");

    Vocab v;
    std::unordered_map<std::string, int32_t> ids;
    int64_t n = 0;
    auto place = [&](const std::string& text, int64_t id) -> Status {
        if (id < 0 || id >= kMaxTokens)
            return make_error("tokenizer.json: token id {} is out of range", id);
        if (id >= n) {
            n = id + 1;
            v.tokens.resize(static_cast<size_t>(n));
            v.types.resize(static_cast<size_t>(n), TokenType::Unused);  // holes stay unused
        }
        v.tokens[static_cast<size_t>(id)] = text;
        v.types[static_cast<size_t>(id)] = TokenType::Normal;
        ids[text] = static_cast<int32_t>(id);
        return {};
    };
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
        if (!it.value().is_number_integer())
            return make_error("tokenizer.json: vocab id of '{}' is not an integer", it.key());
        IG_TRY(place(it.key(), it.value().get<int64_t>()));
    }
    for (const json& m : model.value("merges", json::array())) {
        if (m.is_string())
            v.merges.push_back(m.get<std::string>());
        else if (m.is_array() && m.size() == 2)
            v.merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
        else
            return make_error("tokenizer.json: a merge is neither \"a b\" nor [a, b]");
    }
    v.ignore_merges = model.value("ignore_merges", false);
    v.fuse_unk = model.value("fuse_unk", false);
    const bool byte_fallback = model.value("byte_fallback", false);

    PreTok pre;
    IG_TRY(read_pre_tokenizer(j.value("pre_tokenizer", json()), pre));
    Norm norm;
    IG_TRY(read_normalizer(j.value("normalizer", json()), norm));
    v.normalize = norm.form;
    v.normalize_late = norm.form_late;
    if (pre.byte_level) {
        v.model = "gpt2";
        v.add_space_prefix = false;
    } else if (norm.replace_spaces) {
        v.model = "bpe";
        v.add_space_prefix = norm.prepend_space;
        if (byte_fallback)
            for (size_t i = 0; i < v.tokens.size(); ++i) {
                const std::string& s = v.tokens[i];
                if (s.size() == 6 && s.starts_with("<0x") && s.back() == '>')
                    v.types[i] = TokenType::Byte;
            }
    } else {
        return make_error(
            "tokenizer.json: BPE without a ByteLevel pre-tokenizer or a "
            "SentencePiece-style normalizer is not supported");
    }
    v.pre = "none";  // the regexes below are the whole split
    v.pre_regexes = std::move(pre.regexes);

    for (const json& a : j.value("added_tokens", json::array())) {
        const std::string content = a.at("content").get<std::string>();
        IG_TRY(place(content, a.at("id").get<int64_t>()));
        const auto id = static_cast<size_t>(a.at("id").get<int64_t>());
        v.types[id] = a.value("special", false) ? TokenType::Control : TokenType::UserDefined;
    }
    if (v.tokens.empty()) return make_error("tokenizer.json: the vocabulary is empty");

    auto find = [&](const std::string& s) {
        auto it = ids.find(s);
        return it == ids.end() ? -1 : it->second;
    };
    if (model.contains("unk_token") && model["unk_token"].is_string())
        v.unk_id = find(model["unk_token"]);
    const json post = j.value("post_processor", json());
    std::string bos = cfg.is_object() ? token_text(cfg.value("bos_token", json())) : "";
    std::string eos = cfg.is_object() ? token_text(cfg.value("eos_token", json())) : "";
    const std::string tmpl_bos = template_special(post, true);
    const std::string tmpl_eos = template_special(post, false);
    if (bos.empty()) bos = tmpl_bos;
    v.bos_id = bos.empty() ? -1 : find(bos);
    v.eos_id = eos.empty() ? -1 : find(eos);
    // add_bos_token/add_eos_token when given, else what the template adds.
    v.add_bos =
        cfg.is_object() && cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean()
            ? cfg["add_bos_token"].get<bool>()
            : (!tmpl_bos.empty() && tmpl_bos == bos);
    v.add_eos =
        cfg.is_object() && cfg.contains("add_eos_token") && cfg["add_eos_token"].is_boolean()
            ? cfg["add_eos_token"].get<bool>()
            : (!tmpl_eos.empty() && tmpl_eos == eos && tmpl_eos != tmpl_bos);
    if (v.add_bos && v.bos_id < 0) v.add_bos = false;
    if (v.unk_id < 0 && cfg.is_object()) {
        const std::string unk = token_text(cfg.value("unk_token", json()));
        if (!unk.empty()) v.unk_id = find(unk);
    }
    detect_eog_tokens(v);
    return v;
}

}  // namespace

Expected<Vocab> vocab_from_hf_json(std::string_view tokenizer_json,
                                   std::string_view tokenizer_config_json) {
    const json j = json::parse(tokenizer_json, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return make_error("tokenizer.json is not a JSON object");
    json cfg;
    if (!tokenizer_config_json.empty()) {
        cfg = json::parse(tokenizer_config_json, nullptr, false);
        if (cfg.is_discarded() || !cfg.is_object())
            return make_error("tokenizer_config.json is not a JSON object");
    }
    try {
        return parse(j, cfg);
    } catch (const json::exception& e) {
        // Missing keys or values of the wrong type.
        return make_error("tokenizer.json: {}", e.what());
    }
}

Expected<std::unique_ptr<Tokenizer>> tokenizer_from_hf_json(
    std::string_view tokenizer_json, std::string_view tokenizer_config_json) {
    Vocab v;
    IG_ASSIGN_OR_RETURN(v, vocab_from_hf_json(tokenizer_json, tokenizer_config_json));
    return make_tokenizer(std::move(v));
}

}  // namespace ig
