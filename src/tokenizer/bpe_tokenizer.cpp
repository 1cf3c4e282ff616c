#include "tokenizer/bpe_tokenizer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <queue>

#include "tokenizer/byte_level.h"
#include "tokenizer/unicode_normalize.h"
#include "util/utf8.h"

namespace ig {
namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581
constexpr int32_t kNoRank = INT32_MAX;
// Words up to this many symbols use the quadratic scan, which beats a heap
// on the short words pre-tokenizers produce.
constexpr size_t kSmallWord = 48;

uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

uint64_t mix(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
}

}  // namespace

struct BpeTokenizer::Scratch {
    std::vector<TextPiece> words;
    std::vector<int32_t> sym;
    std::vector<Merge> ranks;
    std::string norm;   // after the SentencePiece-style space handling
    std::string unorm;  // after Unicode normalization
};

void BpeTokenizer::MergeTable::build(const std::vector<std::pair<uint64_t, Merge>>& entries) {
    size_t cap = 16;
    while (cap < entries.size() * 2) cap <<= 1;
    mask_ = cap - 1;
    keys_.assign(cap, ~uint64_t{0});  // no valid pair has both ids 0xFFFFFFFF
    vals_.assign(cap, Merge{kNoRank, -1});
    for (const auto& [key, m] : entries) {
        for (uint64_t h = mix(key) & mask_;; h = (h + 1) & mask_) {
            if (keys_[h] == key) break;  // duplicate pair: the first (best) rank stays
            if (keys_[h] == ~uint64_t{0}) {
                keys_[h] = key;
                vals_[h] = m;
                break;
            }
        }
    }
}

BpeTokenizer::Merge BpeTokenizer::MergeTable::find(int32_t a, int32_t b) const {
    if (keys_.empty()) return {kNoRank, -1};
    const uint64_t key = pair_key(a, b);
    for (uint64_t h = mix(key) & mask_;; h = (h + 1) & mask_) {
        if (keys_[h] == key) return vals_[h];
        if (keys_[h] == ~uint64_t{0}) return {kNoRank, -1};
    }
}

Expected<std::unique_ptr<BpeTokenizer>> BpeTokenizer::create(Vocab vocab) {
    if (vocab.tokens.empty()) return make_error("tokenizer vocabulary is empty");
    const size_t n = vocab.tokens.size();
    if (n > static_cast<size_t>(INT32_MAX) - 1)
        return make_error("tokenizer vocabulary is too large");
    if (!vocab.scores.empty() && vocab.scores.size() != n)
        return make_error("tokenizer has {} tokens but {} scores", n, vocab.scores.size());
    if (!vocab.types.empty() && vocab.types.size() != n)
        return make_error("tokenizer has {} tokens but {} token types", n, vocab.types.size());
    for (int32_t id : {vocab.bos_id, vocab.eos_id, vocab.unk_id, vocab.eot_id, vocab.eom_id})
        if (id < -1 || id >= static_cast<int32_t>(n))
            return make_error("special token id {} is outside the vocabulary ({})", id, n);
    for (int32_t id : vocab.eog_ids)
        if (id < 0 || id >= static_cast<int32_t>(n))
            return make_error("end-of-generation token id {} is outside the vocabulary ({})", id,
                              n);

    std::unique_ptr<BpeTokenizer> t(new BpeTokenizer());
    t->byte_level_ = vocab.model == "gpt2";
    std::vector<std::string> regexes = vocab.pre_regexes;
    if (regexes.empty() && t->byte_level_ && vocab.pre != "none") {
        auto r = split_regexes_for_pre(vocab.pre);
        if (!r) {
            // Not silent: the split differs from the model's in corner cases
            // (digits, CJK, contractions), so ids may differ from the reference.
            spdlog::warn("tokenizer: unknown pre-tokenizer '{}', using the GPT-2 split", vocab.pre);
            r = std::vector<std::string>{kGpt2SplitRegex};
        }
        regexes = std::move(*r);
    }
    auto splitter = RegexSplitter::create(regexes);
    if (!splitter.ok()) return splitter.error();
    t->splitter_ = std::move(splitter).value();
    t->vocab_ = std::move(vocab);
    const Vocab& v = t->vocab_;

    t->pieces_.resize(n);
    t->ids_.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        const auto id = static_cast<int32_t>(i);
        const TokenType type = v.type(id);
        const std::string& s = v.tokens[i];
        std::string& piece = t->pieces_[i];
        if (type == TokenType::Control || type == TokenType::UserDefined ||
            type == TokenType::Unused) {
            piece = s;  // added tokens are stored as plain text
            continue;
        }
        if (t->byte_level_) {
            piece = byte_level::decode(s);
        } else if (type == TokenType::Byte && s.size() == 6 && s.starts_with("<0x")) {
            unsigned b = 0;
            piece = std::sscanf(s.c_str() + 3, "%2x", &b) == 1
                        ? std::string(1, static_cast<char>(b))
                        : s;
        } else {
            for (size_t k = 0; k < s.size();) {
                if (std::string_view(s).substr(k, 3) == kSpace) {
                    piece += ' ';
                    k += 3;
                } else {
                    piece += s[k++];
                }
            }
        }
        // Words are looked up as raw bytes (byte-level) or as stored text.
        t->ids_.emplace(t->byte_level_ ? piece : s, id);
    }
    for (int b = 0; b < 256; ++b) {
        if (t->byte_level_) {
            t->byte_ids_[b] = t->find_piece(std::string(1, static_cast<char>(b)));
        } else {
            char name[8];
            std::snprintf(name, sizeof name, "<0x%02X>", b);
            t->byte_ids_[b] = t->find_piece(name);
        }
    }

    // Merges as (left id, right id) -> (rank, merged id); the stored pieces
    // are looked up in stored form.
    std::unordered_map<std::string_view, int32_t> stored;
    stored.reserve(n);
    for (size_t i = 0; i < n; ++i) stored.emplace(v.tokens[i], static_cast<int32_t>(i));
    std::vector<std::pair<uint64_t, Merge>> entries;
    entries.reserve(v.merges.size());
    std::string joined;
    for (size_t r = 0; r < v.merges.size(); ++r) {
        const std::string& m = v.merges[r];
        bool ok = false;
        // A piece may itself contain a space in unusual vocabularies: try
        // every split point until both halves are tokens.
        for (size_t sp = m.find(' '); sp != std::string::npos && !ok; sp = m.find(' ', sp + 1)) {
            auto a = stored.find(std::string_view(m).substr(0, sp));
            auto b = stored.find(std::string_view(m).substr(sp + 1));
            if (a == stored.end() || b == stored.end()) continue;
            joined.assign(m, 0, sp);
            joined.append(m, sp + 1);
            auto c = stored.find(joined);
            if (c == stored.end()) continue;
            entries.push_back(
                {pair_key(a->second, b->second), Merge{static_cast<int32_t>(r), c->second}});
            ok = true;
        }
        if (!ok) ++t->skipped_merges_;
    }
    if (t->skipped_merges_ > 0)
        spdlog::warn("tokenizer: {} of {} merges name unknown tokens and were skipped",
                     t->skipped_merges_, v.merges.size());
    t->merges_.build(entries);
    t->specials_ = SpecialTokenMatcher(v);
    return t;
}

int32_t BpeTokenizer::find_piece(std::string_view s) const {
    auto it = ids_.find(s);
    return it == ids_.end() ? -1 : it->second;
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, const EncodeOptions& opt) const {
    std::vector<int32_t> out;
    out.reserve(text.size() / 3 + 4);
    if (opt.add_special && vocab_.add_bos && vocab_.bos_id >= 0) out.push_back(vocab_.bos_id);
    Scratch s;
    for (const Fragment& f : specials_.split(vocab_, text, opt)) {
        if (f.token >= 0)
            out.push_back(f.token);
        else
            encode_text(text.substr(f.begin, f.len), out, s);
    }
    if (opt.add_special && vocab_.add_eos && vocab_.eos_id >= 0) out.push_back(vocab_.eos_id);
    return out;
}

void BpeTokenizer::encode_text(std::string_view text, std::vector<int32_t>& out, Scratch& s) const {
    if (text.empty()) return;
    // Hugging Face normalizes each run between added tokens, in the order of
    // its normalizer sequence (which matters for NFKC: U+00A0 becomes " ").
    const bool late = !byte_level_ && vocab_.normalize_late;
    if (!late && unicode_normalize(vocab_.normalize, text, s.unorm)) text = s.unorm;
    if (!byte_level_) {
        // SentencePiece-style normalisation of each run of plain text.
        s.norm.clear();
        if (vocab_.add_space_prefix) s.norm += kSpace;
        for (char ch : text) {
            if (ch == ' ')
                s.norm += kSpace;
            else
                s.norm += ch;
        }
        text = s.norm;
    }
    if (late && unicode_normalize(vocab_.normalize, text, s.unorm)) text = s.unorm;
    s.words.clear();
    splitter_.split(text, s.words);
    for (const TextPiece& w : s.words) encode_word(text.substr(w.begin, w.len), out, s);
}

void BpeTokenizer::encode_word(std::string_view word, std::vector<int32_t>& out, Scratch& s) const {
    if (vocab_.ignore_merges || word.size() == 1) {
        if (const int32_t id = find_piece(word); id >= 0) {
            out.push_back(id);
            return;
        }
    }
    auto fallback = [&](unsigned char b) {
        const int32_t id = byte_ids_[b];
        if (id >= 0)
            s.sym.push_back(id);
        else if (vocab_.unk_id >= 0)
            s.sym.push_back(vocab_.unk_id);
    };
    s.sym.clear();
    if (byte_level_) {
        for (char ch : word) fallback(static_cast<unsigned char>(ch));
    } else {
        for (size_t i = 0; i < word.size();) {
            const size_t len =
                std::min(utf8::seq_len(static_cast<unsigned char>(word[i])), word.size() - i);
            const int32_t id = find_piece(word.substr(i, len));
            bool bytes_known = true;
            for (size_t k = 0; k < len; ++k)
                bytes_known &= byte_ids_[static_cast<unsigned char>(word[i + k])] >= 0;
            if (id >= 0) {
                s.sym.push_back(id);
            } else if (bytes_known) {
                for (size_t k = 0; k < len; ++k)
                    s.sym.push_back(byte_ids_[static_cast<unsigned char>(word[i + k])]);
            } else if (vocab_.unk_id >= 0 &&
                       !(vocab_.fuse_unk && !s.sym.empty() && s.sym.back() == vocab_.unk_id)) {
                s.sym.push_back(vocab_.unk_id);  // one <unk> per character, or per run when fused
            }
            i += len;
        }
    }
    if (s.sym.size() <= kSmallWord)
        merge_small(s);
    else
        merge_large(s);
    out.insert(out.end(), s.sym.begin(), s.sym.end());
}

// Quadratic but allocation-free: ranks[i] is the merge of sym[i], sym[i+1].
void BpeTokenizer::merge_small(Scratch& s) const {
    auto& sym = s.sym;
    auto& ranks = s.ranks;
    if (sym.size() < 2) return;
    ranks.resize(sym.size() - 1);
    for (size_t i = 0; i + 1 < sym.size(); ++i) ranks[i] = merges_.find(sym[i], sym[i + 1]);
    for (;;) {
        size_t best = 0;
        for (size_t i = 1; i < ranks.size(); ++i)
            if (ranks[i].rank < ranks[best].rank) best = i;  // leftmost on ties
        if (ranks.empty() || ranks[best].rank == kNoRank) break;
        sym[best] = ranks[best].id;
        sym.erase(sym.begin() + static_cast<std::ptrdiff_t>(best) + 1);
        ranks.erase(ranks.begin() + static_cast<std::ptrdiff_t>(best));
        if (best > 0) ranks[best - 1] = merges_.find(sym[best - 1], sym[best]);
        if (best < ranks.size()) ranks[best] = merges_.find(sym[best], sym[best + 1]);
    }
}

// Linked symbols and a heap of candidate merges (stale ones are skipped):
// O(n log n) for long words such as runs of spaces or whole texts.
void BpeTokenizer::merge_large(Scratch& s) const {
    auto& sym = s.sym;
    const int n = static_cast<int>(sym.size());
    std::vector<int> next(static_cast<size_t>(n)), prev(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        next[static_cast<size_t>(i)] = i + 1 < n ? i + 1 : -1;
        prev[static_cast<size_t>(i)] = i - 1;
    }
    struct Cand {
        int32_t rank;
        int left;
        int32_t lid, rid, id;
        bool operator>(const Cand& o) const {
            return rank != o.rank ? rank > o.rank : left > o.left;
        }
    };
    std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
    auto push = [&](int left) {
        if (left < 0) return;
        const int right = next[static_cast<size_t>(left)];
        if (right < 0) return;
        const int32_t a = sym[static_cast<size_t>(left)], b = sym[static_cast<size_t>(right)];
        const Merge m = merges_.find(a, b);
        if (m.rank != kNoRank) heap.push({m.rank, left, a, b, m.id});
    };
    for (int i = 0; i + 1 < n; ++i) push(i);
    while (!heap.empty()) {
        const Cand c = heap.top();
        heap.pop();
        const int right = next[static_cast<size_t>(c.left)];
        if (sym[static_cast<size_t>(c.left)] != c.lid || right < 0 ||
            sym[static_cast<size_t>(right)] != c.rid)
            continue;  // one side changed since this candidate was queued
        sym[static_cast<size_t>(c.left)] = c.id;
        sym[static_cast<size_t>(right)] = -1;
        next[static_cast<size_t>(c.left)] = next[static_cast<size_t>(right)];
        if (next[static_cast<size_t>(right)] >= 0)
            prev[static_cast<size_t>(next[static_cast<size_t>(right)])] = c.left;
        push(prev[static_cast<size_t>(c.left)]);
        push(c.left);
    }
    size_t w = 0;
    for (int i = 0; i >= 0 && i < n; i = next[static_cast<size_t>(i)])
        sym[w++] = sym[static_cast<size_t>(i)];
    sym.resize(w);
}

std::string BpeTokenizer::token_to_piece(int32_t id, bool render_special) const {
    if (id < 0 || id >= vocab_.size()) return {};
    const TokenType type = vocab_.type(id);
    if ((type == TokenType::Control || type == TokenType::Unused) && !render_special) return {};
    return pieces_[static_cast<size_t>(id)];
}

}  // namespace ig
