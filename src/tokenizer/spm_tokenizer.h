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
    int32_t find(std::string_view s) const;

    Vocab vocab_;
    std::unordered_map<std::string, int32_t> ids_;
    int32_t byte_ids_[256];
};

// Turns a token stream into text without ever splitting a UTF-8 character:
// bytes of an incomplete character are held until the next token.
class IncrementalDecoder {
  public:
    // at_start: the stream begins a text, so the space SentencePiece puts
    // before the first word is dropped (false when continuing a prompt).
    explicit IncrementalDecoder(const Tokenizer& tok, bool at_start = true)
        : tok_(tok), first_(at_start) {}
    // Returns the text that became complete with this token.
    std::string push(int32_t id);
    std::string flush();  // whatever is held, invalid bytes as U+FFFD

  private:
    const Tokenizer& tok_;
    std::string pending_;
    bool first_;
};

}  // namespace ig
