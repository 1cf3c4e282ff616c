#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/regex_split.h"

#include <pcre2.h>

namespace ig {

struct RegexSplitter::Code {
    pcre2_code* code = nullptr;
    bool jit = false;
    ~Code() { pcre2_code_free(code); }
};

namespace {

struct MatchData {
    pcre2_match_data* md;
    explicit MatchData(const pcre2_code* c)
        : md(pcre2_match_data_create_from_pattern(c, nullptr)) {}
    ~MatchData() { pcre2_match_data_free(md); }
};

// Splits the pieces in `in` by one regex into `out`.
void split_one(const pcre2_code* code, bool jit, std::string_view text,
               const std::vector<TextPiece>& in, std::vector<TextPiece>& out) {
    MatchData m(code);
    if (m.md == nullptr) {
        out.insert(out.end(), in.begin(), in.end());
        return;
    }
    const auto* base = reinterpret_cast<PCRE2_SPTR>(text.data());
    for (const TextPiece& p : in) {
        size_t off = 0, done = 0;
        while (off < p.len) {
            // Each piece is its own subject: lookarounds do not see past it.
            int rc =
                pcre2_match(code, base + p.begin, p.len, off, PCRE2_NO_UTF_CHECK, m.md, nullptr);
            if (rc < 0 && rc != PCRE2_ERROR_NOMATCH && jit)  // e.g. JIT stack exhausted
                rc = pcre2_match(code, base + p.begin, p.len, off,
                                 PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, m.md, nullptr);
            if (rc < 0) break;
            const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(m.md);
            const size_t ms = ov[0], me = ov[1];
            if (me <= ms) {  // an empty match cuts nothing; step past one byte
                off = ms + 1;
                continue;
            }
            if (ms > done) out.push_back({p.begin + done, ms - done});
            out.push_back({p.begin + ms, me - ms});
            done = off = me;
        }
        if (done < p.len) out.push_back({p.begin + done, p.len - done});
    }
}

}  // namespace

const char* const kGpt2SplitRegex =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";

Expected<RegexSplitter> RegexSplitter::create(const std::vector<std::string>& patterns) {
    RegexSplitter s;
    for (const std::string& pat : patterns) {
        int err = 0;
        PCRE2_SIZE erroff = 0;
        pcre2_code* code =
            pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pat.data()), pat.size(),
                          PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &erroff, nullptr);
        if (code == nullptr) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(err, msg, sizeof msg);
            return make_error("bad pre-tokenizer regex at offset {}: {} ({})", erroff,
                              reinterpret_cast<const char*>(msg), pat);
        }
        auto c = std::make_shared<Code>();
        c->code = code;
        c->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
        s.codes_.push_back(std::move(c));
    }
    return s;
}

void RegexSplitter::split(std::string_view text, std::vector<TextPiece>& out) const {
    if (text.empty()) return;
    if (codes_.empty()) {
        out.push_back({0, text.size()});
        return;
    }
    std::vector<TextPiece> cur{{0, text.size()}}, next;
    for (size_t i = 0; i < codes_.size(); ++i) {
        std::vector<TextPiece>& dst = (i + 1 == codes_.size()) ? out : next;
        split_one(codes_[i]->code, codes_[i]->jit, text, cur, dst);
        if (&dst == &next) {
            cur.swap(next);
            next.clear();
        }
    }
}

std::optional<std::vector<std::string>> split_regexes_for_pre(std::string_view pre) {
    // Facts from the models' tokenizer.json files (as collected by llama.cpp's
    // converter), in PCRE2 syntax.
    static const char* const kLlama3 =
        "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
        "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static const char* const kQwen2 =
        "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
        "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static const char* const kCjk =
        "[\xE4\xB8\x80-\xE9\xBE\xA5\xE0\xA0\x80-\xE4\xB8\x80\xEA\xB0\x80-\xED\x9F\xBF]+";
    using V = std::vector<std::string>;
    if (pre.empty() || pre == "default" || pre == "gpt-2" || pre == "gpt2" || pre == "mpt" ||
        pre == "olmo" || pre == "jais" || pre == "gpt-neox" || pre == "phi-2" ||
        pre == "roberta-bpe" || pre == "trillion")
        return V{kGpt2SplitRegex};
    if (pre == "llama-bpe" || pre == "llama3" || pre == "dbrx" || pre == "smaug-bpe" ||
        pre == "chatglm-bpe")
        return V{kLlama3};
    if (pre == "qwen2" || pre == "deepseek-r1-qwen" || pre == "stablelm2" || pre == "hunyuan" ||
        pre == "megrez")
        return V{kQwen2};
    if (pre == "starcoder" || pre == "refact" || pre == "command-r" || pre == "smollm" ||
        pre == "codeshell" || pre == "exaone" || pre == "minerva-7b")
        return V{"\\p{N}", kGpt2SplitRegex};
    if (pre == "falcon") return V{"[\\p{P}\\$\\+<=>\\^~\\|`]+", kGpt2SplitRegex, "[0-9][0-9][0-9]"};
    if (pre == "deepseek-coder") return V{"[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", kCjk, "\\p{N}"};
    if (pre == "deepseek-llm")
        return V{
            "[\\r\\n]",
            "\\s?[A-Za-z\xC2\xB5\xC3\x80-\xC3\x96\xC3\x98-\xC3\xB6\xC3\xB8-\xC6\xBA\xC6\xBC-"
            "\xC6\xBF"
            "\xC7\x84-\xCA\x93\xCA\x95-\xCA\xAF\xCD\xB0-\xCD\xB3\xCD\xB6\xCD\xB7\xCD\xBB-\xCD\xBD"
            "\xCD\xBF\xCE\x86\xCE\x88-\xCE\x8A\xCE\x8C\xCE\x8E-\xCE\xA1\xCE\xA3-\xCF\xB5\xCF\xB7-"
            "\xD2\x81\xD2\x8A-\xD4\xAF\xD4\xB1-\xD5\x96\xE1\x82\xA0-\xE1\x83\x85\xE1\x8E\xA0-\xE1"
            "\x8F\xB5\xE1\x8F\xB8-\xE1\x8F\xBD\xE1\xB2\x90-\xE1\xB2\xBA\xE1\xB2\xBD-\xE1\xB2\xBF"
            "\xE1\xB4\x80-\xE1\xB4\xAB\xE1\xB5\xAB-\xE1\xB5\xB7\xE1\xB5\xB9-\xE1\xB6\x9A\xE1\xB8"
            "\x80-\xE1\xBC\x95\xE1\xBC\x98-\xE1\xBC\x9D\xE1\xBC\xA0-\xE1\xBD\x85\xE1\xBD\x88-\xE1"
            "\xBD\x8D\xE1\xBD\x90-\xE1\xBD\x97\xE1\xBD\x99\xE1\xBD\x9B\xE1\xBD\x9D\xE1\xBD\x9F-"
            "\xE1\xBD\xBD\xE1\xBE\x80-\xE1\xBE\xB4\xE1\xBE\xB6-\xE1\xBE\xBC\xE1\xBE\xBE\xE1\xBF"
            "\x82-\xE1\xBF\x84\xE1\xBF\x86-\xE1\xBF\x8C\xE1\xBF\x90-\xE1\xBF\x93\xE1\xBF\x96-\xE1"
            "\xBF\x9B\xE1\xBF\xA0-\xE1\xBF\xAC\xE1\xBF\xB2-\xE1\xBF\xB4\xE1\xBF\xB6-\xE1\xBF\xBC"
            "\xE2\x84\x82\xE2\x84\x87\xE2\x84\x8A-\xE2\x84\x93\xE2\x84\x95\xE2\x84\x99-\xE2\x84"
            "\x9D\xE2\x84\xA4\xE2\x84\xA6\xE2\x84\xA8\xE2\x84\xAA-\xE2\x84\xAD\xE2\x84\xAF-\xE2"
            "\x84\xB4\xE2\x84\xB9\xE2\x84\xBC-\xE2\x84\xBF\xE2\x85\x85-\xE2\x85\x89\xE2\x85\x8E"
            "\xE2\x86\x83\xE2\x86\x84\xE2\xB0\x80-\xE2\xB1\xBB\xE2\xB1\xBE-\xE2\xB3\xA4\xE2\xB3"
            "\xAB-\xE2\xB3\xAE\xE2\xB3\xB2\xE2\xB3\xB3\xEA\x99\x80-\xEA\x99\xAD\xEA\x9A\x80-\xEA"
            "\x9A\x9B\xEA\x9C\xA2-\xEA\x9D\xAF\xEA\x9D\xB1-\xEA\x9E\x87\xEA\x9E\x8B-\xEA\x9E\x8E"
            "\xEA\xAD\xB0-\xEA\xAE\xBF\xEF\xAC\x80-\xEF\xAC\x86\xEF\xAC\x93-\xEF\xAC\x97\xEF\xBC"
            "\xA1-\xEF\xBC\xBA\xEF\xBD\x81-\xEF\xBD\x9A\xF0\x90\x90\x80-\xF0\x90\x91\x8F\xF0\x90"
            "\x92\xB0-\xF0\x90\x93\x93\xF0\x90\x93\x98-\xF0\x90\x93\xBB\xF0\x90\xB2\x80-\xF0\x90"
            "\xB2\xB2\xF0\x90\xB3\x80-\xF0\x90\xB3\xB2\xF0\x91\xA2\xA0-\xF0\x91\xA3\x9F\xF0\x9E"
            "\xA4\x80-\xF0\x9E\xA5\x83]+",
            "\\s?[!-/:-~\xEF\xBC\x81-\xEF\xBC\x8F\xEF\xBC\x9A-\xEF\xBD\x9E\xE2\x80\x98-\xE2\x80\x9F"
            "\xE3\x80\x80-\xE3\x80\x82]+",
            "\\s+$",
            kCjk,
            "\\p{N}+",
        };
    if (pre == "tekken")
        return V{
            "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{"
            "M}]+|"
            "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{"
            "M}]*|"
            "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"};
    if (pre == "chameleon")
        return V{"<sentinel:\\d+>",        "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z",
                 "([\\t\\n]|    |  )",     "\\p{N}",
                 "[\\p{P}!-/:-@\\[-`{-~]", kGpt2SplitRegex};
    if (pre == "bloom" || pre == "poro-chat" || pre == "gpt3-finnish")
        return V{
            " ?[^(\\s|.,!?"
            "\xE2\x80\xA6\xE3\x80\x82\xEF\xBC\x8C\xE3\x80\x81\xE0\xA5\xA4\xDB\x94\xD8\x8C)]+"};
    return std::nullopt;
}

}  // namespace ig
