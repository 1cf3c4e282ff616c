#include "tokenizer/vocab_to_gguf.h"

#include <array>
#include <limits>
#include <string_view>
#include <unordered_map>

#include "tokenizer/tokenizer.h"

namespace ig {
namespace {

// tokenizer.ggml.pre names gguf_vocab knows, most common first; qwen2
// before llama-bpe, whose rules split a vocabulary without multi-digit
// tokens (Qwen's) the same way.
constexpr std::array<std::string_view, 12> kPreNames{
    "qwen2",  "llama-bpe",      "gpt-2",     "starcoder", "deepseek-llm", "falcon",
    "tekken", "deepseek-coder", "chameleon", "bloom",     "smollm",       "command-r"};

// Text that tells the split rules apart (contractions, digit runs, spaces,
// new lines, punctuation, scripts), in the spirit of llama.cpp's chktxt.
constexpr std::string_view kProbe =
    "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n🚀 (normal) 😶\u200d🌫️ (multiple "
    "emojis concatenated) ✅ 🦙🦙 3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3 "
    "កាន់តែពិសេសអាច😁 ?我想在apple工作1314151天～ ------======= нещо на Български "
    "```````\"\"\"\"......!!!!!!?????? I've been 'told he's there, 'RE you sure? 'M "
    "not sure I'll make it, 'D you like some tea? We'Ve a'lL";

// The name whose split rules (as the GGUF reader will apply them, with
// ignore_merges as it decides) tokenize the probe as tokenizer.json does:
// llama.cpp's convert names pre-tokenizers by behaviour in the same way.
Expected<std::string> detect_pre(const Vocab& v) {
    auto ref = make_tokenizer(v);
    if (!ref) return ref.error();
    const EncodeOptions plain{.add_special = false};
    const auto want = (*ref)->encode(kProbe, plain);
    for (std::string_view name : kPreNames) {
        Vocab c = v;
        c.pre = std::string(name);
        c.pre_regexes.clear();
        c.ignore_merges = name == "llama-bpe" || name == "tekken";
        auto t = make_tokenizer(std::move(c));
        if (t && (*t)->encode(kProbe, plain) == want) return std::string(name);
    }
    return make_error(
        "the tokenizer.json pre-tokenizer splits text as no tokenizer.ggml.pre name known here "
        "does; it cannot be written as a llama.cpp vocabulary");
}

GgufValue string_array(const std::vector<std::string>& items) {
    std::vector<GgufValue> out;
    out.reserve(items.size());
    for (const auto& s : items) out.push_back(GgufValue::str(s));
    return GgufValue::array(GgufType::STRING, std::move(out));
}

// SentencePiece scores that replay BPE: a token's score is minus the rank of
// the first merge producing it; tokens no merge produces (characters, bytes,
// added tokens) score below every merge.
std::vector<float> scores_from_merges(const Vocab& v) {
    std::unordered_map<std::string, size_t> rank;
    for (size_t r = 0; r < v.merges.size(); ++r) {
        const std::string& m = v.merges[r];
        const size_t sp = m.find(' ');
        if (sp == std::string::npos) continue;
        rank.emplace(m.substr(0, sp) + m.substr(sp + 1), r);  // first merge wins
    }
    std::vector<float> scores(v.tokens.size());
    const auto n = static_cast<float>(v.merges.size());
    for (size_t i = 0; i < v.tokens.size(); ++i) {
        auto it = rank.find(v.tokens[i]);
        scores[i] = it != rank.end() ? -static_cast<float>(it->second) : -(n + 1);
    }
    return scores;
}

}  // namespace

Expected<std::vector<GgufKV>> vocab_to_gguf(const Vocab& v) {
    if (v.merges.size() > (size_t{1} << 24))
        return make_error("vocabulary has too many merges to rank exactly as float scores");
    std::vector<GgufKV> kv;
    std::vector<int32_t> types(v.tokens.size());
    for (size_t i = 0; i < v.tokens.size(); ++i)
        types[i] = static_cast<int32_t>(v.type(static_cast<int32_t>(i)));
    if (v.model == "gpt2") {
        std::string pre;
        IG_ASSIGN_OR_RETURN(pre, detect_pre(v));
        kv.push_back({"tokenizer.ggml.model", GgufValue::str("gpt2")});
        kv.push_back({"tokenizer.ggml.pre", GgufValue::str(pre)});
        kv.push_back({"tokenizer.ggml.merges", string_array(v.merges)});
    } else if (v.model == "bpe") {
        if (v.normalize != UnicodeForm::None)
            return make_error(
                "the tokenizer.json normalizer includes a Unicode normalization a llama.cpp "
                "SentencePiece vocabulary cannot express");
        if (!v.pre_regexes.empty())
            return make_error(
                "a SentencePiece-style tokenizer.json with a splitting pre-tokenizer cannot be "
                "written as a llama.cpp vocabulary");
        kv.push_back({"tokenizer.ggml.model", GgufValue::str("llama")});
        std::vector<GgufValue> s;
        for (float x : scores_from_merges(v)) s.push_back(GgufValue::f32(x));
        kv.push_back({"tokenizer.ggml.scores", GgufValue::array(GgufType::F32, std::move(s))});
        kv.push_back({"tokenizer.ggml.add_space_prefix", GgufValue::boolean(v.add_space_prefix)});
    } else {
        return make_error("a '{}' vocabulary cannot be written as GGUF metadata", v.model);
    }
    kv.push_back({"tokenizer.ggml.tokens", string_array(v.tokens)});
    std::vector<GgufValue> t;
    for (int32_t x : types) t.push_back(GgufValue::i32(x));
    kv.push_back({"tokenizer.ggml.token_type", GgufValue::array(GgufType::I32, std::move(t))});
    auto id = [&](const char* key, int32_t x) {
        if (x >= 0) kv.push_back({key, GgufValue::u32(static_cast<uint32_t>(x))});
    };
    id("tokenizer.ggml.bos_token_id", v.bos_id);
    id("tokenizer.ggml.eos_token_id", v.eos_id);
    id("tokenizer.ggml.unknown_token_id", v.unk_id);
    id("tokenizer.ggml.eot_token_id", v.eot_id);
    id("tokenizer.ggml.eom_token_id", v.eom_id);
    kv.push_back({"tokenizer.ggml.add_bos_token", GgufValue::boolean(v.add_bos)});
    kv.push_back({"tokenizer.ggml.add_eos_token", GgufValue::boolean(v.add_eos)});
    return kv;
}

}  // namespace ig
