#pragma once
// SentencePiece-style tokenizer (tokenizer.ggml.model = "llama"): the text's
// spaces become U+2581, then adjacent symbols are merged greedily by the
// score of the merged piece; symbols left outside the vocabulary fall back
// to <0xNN> byte tokens.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/incremental_decoder.h"  // IncrementalDecoder used to live here
#include "tokenizer/special_tokens.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"
#include "util/expected.h"

namespace ig {

class SpmTokenizer final : public Tokenizer {
  public:
    static Expected<SpmTokenizer> create(Vocab vocab);

    const Vocab& vocab() const override { return vocab_; }
    std::vector<int32_t> encode(std::string_view text,
                                const EncodeOptions& opt = {}) const override;
    // Bytes of one token as it appears in text ("▁" -> " ", <0xNN> -> byte).
    std::string token_to_piece(int32_t id, bool render_special = false) const override;
    bool strips_leading_space() const override { return vocab_.add_space_prefix; }

  private:
    struct StrHash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    int32_t find(std::string_view s) const;
    struct Scratch;
    void encode_text(std::string_view text, bool space_prefix, std::vector<int32_t>& out) const;
    void encode_segment(std::string_view sv, std::vector<int32_t>& out, Scratch& s) const;

    Vocab vocab_;
    SpecialTokenMatcher specials_;
    std::unordered_map<std::string, int32_t, StrHash, std::equal_to<>> ids_;
    int32_t byte_ids_[256];
    bool words_independent_ = false;
};

}  // namespace ig
