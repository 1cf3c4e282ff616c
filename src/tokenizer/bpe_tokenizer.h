#pragma once
// BPE tokenizers driven by a merge list:
//  - byte-level (vocab.model "gpt2"): the text is split into words by the
//    pre-tokenizer regexes, each word's bytes start as one token each
//    (GPT-2's byte <-> Unicode mapping) and are merged by rank;
//  - "bpe": SentencePiece-style normalisation (spaces become U+2581, one is
//    prepended), Unicode characters merged by rank, characters outside the
//    vocabulary fall back to <0xNN> byte tokens.
// Both bring each run of plain text into the vocabulary's Unicode
// normalization form, if it has one (tokenizer.json's NFC, NFKC, ...), at
// the place its normalizer sequence gives it.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/regex_split.h"
#include "tokenizer/special_tokens.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"
#include "util/expected.h"

namespace ig {

class BpeTokenizer final : public Tokenizer {
  public:
    // Errors: empty vocabulary, sizes that disagree, ids out of range, bad
    // regexes. Merges naming unknown tokens are skipped (see skipped_merges).
    static Expected<std::unique_ptr<BpeTokenizer>> create(Vocab vocab);

    const Vocab& vocab() const override { return vocab_; }
    std::vector<int32_t> encode(std::string_view text,
                                const EncodeOptions& opt = {}) const override;
    std::string token_to_piece(int32_t id, bool render_special = false) const override;
    bool strips_leading_space() const override { return !byte_level_ && vocab_.add_space_prefix; }

    size_t skipped_merges() const { return skipped_merges_; }

  private:
    struct Merge {
        int32_t rank, id;
    };
    // Open-addressing map (left id, right id) -> merge.
    class MergeTable {
      public:
        void build(const std::vector<std::pair<uint64_t, Merge>>& entries);
        Merge find(int32_t a, int32_t b) const;

      private:
        std::vector<uint64_t> keys_;
        std::vector<Merge> vals_;
        uint64_t mask_ = 0;
    };
    struct StrHash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    struct Scratch;

    BpeTokenizer() = default;
    void encode_text(std::string_view text, std::vector<int32_t>& out, Scratch& s) const;
    void encode_word(std::string_view word, std::vector<int32_t>& out, Scratch& s) const;
    void merge_small(Scratch& s) const;
    void merge_large(Scratch& s) const;
    int32_t find_piece(std::string_view s) const;

    Vocab vocab_;
    bool byte_level_ = true;
    RegexSplitter splitter_;
    SpecialTokenMatcher specials_;
    MergeTable merges_;
    size_t skipped_merges_ = 0;
    std::vector<std::string> pieces_;  // decoded bytes of each token
    // Word (as encode_word sees it) -> id, for ignore_merges and characters.
    std::unordered_map<std::string, int32_t, StrHash, std::equal_to<>> ids_;
    int32_t byte_ids_[256];
};

}  // namespace ig
