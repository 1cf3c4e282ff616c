#include "tokenizer/spm_tokenizer.h"

#include <algorithm>
#include <cstdio>
#include <queue>

#include "util/utf8.h"

namespace ig {
namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's space

struct Symbol {
    size_t begin, len;
    int prev, next;  // -1 at the ends
};

struct Bigram {
    float score;
    int left;
    size_t len;  // combined length when queued; stale entries are skipped
    bool operator<(const Bigram& o) const {
        // Highest score first; on ties the leftmost pair, as SentencePiece does.
        if (score != o.score) return score < o.score;
        return left > o.left;
    }
};

}  // namespace

struct SpmTokenizer::Scratch {
    std::vector<Symbol> sym;
    std::vector<Bigram> queue;  // a heap
};

Expected<SpmTokenizer> SpmTokenizer::create(Vocab vocab) {
    if (vocab.tokens.empty()) return make_error("tokenizer vocabulary is empty");
    // Only tokenizer.json vocabularies carry one, and those are BPE.
    if (vocab.normalize != UnicodeForm::None)
        return make_error("SentencePiece-style tokenizer: Unicode normalization is not supported");
    const size_t n = vocab.tokens.size();
    if (!vocab.scores.empty() && vocab.scores.size() != n)
        return make_error("tokenizer has {} tokens but {} scores", n, vocab.scores.size());
    if (!vocab.types.empty() && vocab.types.size() != n)
        return make_error("tokenizer has {} tokens but {} token types", n, vocab.types.size());
    for (int32_t id : {vocab.bos_id, vocab.eos_id, vocab.unk_id})
        if (id < -1 || id >= static_cast<int32_t>(n))
            return make_error("special token id {} is outside the vocabulary ({})", id, n);
    SpmTokenizer t;
    t.vocab_ = std::move(vocab);
    t.ids_.reserve(n);
    for (size_t i = 0; i < n; ++i) t.ids_.emplace(t.vocab_.tokens[i], static_cast<int32_t>(i));
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        t.byte_ids_[b] = t.find(name);
    }
    t.specials_ = SpecialTokenMatcher(t.vocab_);
    // Words are independent unless some piece has U+2581 after another
    // character ("a▁b"): then merges may cross word starts.
    t.words_independent_ = true;
    for (const std::string& tok : t.vocab_.tokens) {
        size_t lead = 0;
        while (std::string_view(tok).substr(lead, kSpace.size()) == kSpace) lead += kSpace.size();
        if (tok.find(kSpace, lead) != std::string::npos) {
            t.words_independent_ = false;
            break;
        }
    }
    return t;
}

int32_t SpmTokenizer::find(std::string_view s) const {
    auto it = ids_.find(s);
    return it == ids_.end() ? -1 : it->second;
}

std::vector<int32_t> SpmTokenizer::encode(std::string_view text, const EncodeOptions& opt) const {
    std::vector<int32_t> out;
    if (opt.add_special && vocab_.add_bos && vocab_.bos_id >= 0) out.push_back(vocab_.bos_id);
    // The space prefix goes before the text's first word and before the
    // first word after each special token, as SentencePiece sees each run
    // of plain text as its own sentence.
    bool after_special = true;
    for (const Fragment& f : specials_.split(vocab_, text, opt)) {
        if (f.token >= 0) {
            out.push_back(f.token);
            after_special = true;
        } else {
            encode_text(text.substr(f.begin, f.len), after_special && vocab_.add_space_prefix, out);
            after_special = false;
        }
    }
    if (opt.add_special && vocab_.add_eos && vocab_.eos_id >= 0) out.push_back(vocab_.eos_id);
    return out;
}

void SpmTokenizer::encode_text(std::string_view text, bool space_prefix,
                               std::vector<int32_t>& out) const {
    if (text.empty()) return;
    std::string norm;
    norm.reserve(text.size() + 8);
    if (space_prefix) norm += kSpace;
    for (char ch : text) {
        if (ch == ' ')
            norm += kSpace;
        else
            norm += ch;
    }
    const std::string_view sv(norm);
    Scratch s;
    if (!words_independent_) {
        encode_segment(sv, out, s);
        return;
    }
    // No piece has a space after another character, so no merge can cross
    // the start of a word: merging each word alone gives the same result,
    // in linear rather than n log n time over the whole text.
    size_t seg = 0;
    for (size_t i = 1; i + kSpace.size() <= sv.size(); ++i) {
        if (sv.compare(i, kSpace.size(), kSpace) != 0) continue;
        if (i >= kSpace.size() && sv.compare(i - kSpace.size(), kSpace.size(), kSpace) == 0)
            continue;
        encode_segment(sv.substr(seg, i - seg), out, s);
        seg = i;
    }
    encode_segment(sv.substr(seg), out, s);
}

void SpmTokenizer::encode_segment(std::string_view sv, std::vector<int32_t>& out,
                                  Scratch& s) const {
    auto& sym = s.sym;
    auto& queue = s.queue;
    sym.clear();
    queue.clear();
    for (size_t i = 0; i < sv.size();) {
        size_t len = std::min(utf8::seq_len(static_cast<unsigned char>(sv[i])), sv.size() - i);
        const int idx = static_cast<int>(sym.size());
        sym.push_back({i, len, idx - 1, -1});
        if (idx > 0) sym[idx - 1].next = idx;
        i += len;
    }

    auto try_add = [&](int left) {
        if (left < 0 || sym[left].next < 0) return;
        const Symbol& a = sym[left];
        const Symbol& b = sym[a.next];
        const int32_t id = find(sv.substr(a.begin, a.len + b.len));
        if (id < 0) return;
        const float score = vocab_.scores.empty() ? 0.0f : vocab_.scores[id];
        queue.push_back({score, left, a.len + b.len});
        std::push_heap(queue.begin(), queue.end());
    };
    for (int i = 0; i + 1 < static_cast<int>(sym.size()); ++i) try_add(i);

    while (!queue.empty()) {
        std::pop_heap(queue.begin(), queue.end());
        const Bigram bg = queue.back();
        queue.pop_back();
        Symbol& a = sym[bg.left];
        if (a.len == 0 || a.next < 0) continue;
        Symbol& b = sym[a.next];
        // Symbols are contiguous and a's start never moves, so an equal
        // length means the very piece that was queued.
        if (a.len + b.len != bg.len) continue;  // one side already merged elsewhere
        a.len += b.len;
        b.len = 0;
        a.next = b.next;
        if (a.next >= 0) sym[a.next].prev = bg.left;
        try_add(a.prev);
        try_add(bg.left);
    }

    // Bytes without a <0xNN> token become <unk>, one per run of them, as
    // SentencePiece merges consecutive unknown pieces (and tokenizer.json's
    // fuse_unk does): vocabularies with byte tokens never get here.
    bool in_unk_run = false;
    for (int i = 0; i != -1 && i < static_cast<int>(sym.size()); i = sym[i].next) {
        const Symbol& sy = sym[i];
        const int32_t id = find(sv.substr(sy.begin, sy.len));
        if (id >= 0) {
            out.push_back(id);
            in_unk_run = false;
            continue;
        }
        for (size_t k = 0; k < sy.len; ++k) {
            const int32_t b = byte_ids_[static_cast<unsigned char>(sv[sy.begin + k])];
            if (b >= 0) {
                out.push_back(b);
                in_unk_run = false;
            } else if (!in_unk_run) {
                out.push_back(vocab_.unk_id >= 0 ? vocab_.unk_id : 0);
                in_unk_run = true;
            }
        }
    }
}

std::string SpmTokenizer::token_to_piece(int32_t id, bool render_special) const {
    if (id < 0 || id >= vocab_.size()) return {};
    const TokenType type = vocab_.type(id);
    if (type == TokenType::Control || type == TokenType::Unused)
        return render_special ? vocab_.tokens[static_cast<size_t>(id)] : std::string();
    const std::string& s = vocab_.tokens[static_cast<size_t>(id)];
    if (type == TokenType::Byte && s.size() == 6 && s.starts_with("<0x")) {
        unsigned v = 0;
        if (std::sscanf(s.c_str() + 3, "%2x", &v) == 1) return std::string(1, static_cast<char>(v));
    }
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        if (std::string_view(s).substr(i, 3) == kSpace) {
            out += ' ';
            i += 3;
        } else {
            out += s[i++];
        }
    }
    return out;
}

}  // namespace ig
