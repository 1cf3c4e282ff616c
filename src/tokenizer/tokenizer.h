#pragma once
// What the engine, the server and the CLI need from any tokenizer, whatever
// its algorithm (SentencePiece-style, byte-level BPE) or source (GGUF
// metadata, tokenizer.json).
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"
#include "util/expected.h"

namespace ig {

struct EncodeOptions {
    bool add_special = true;  // BOS/EOS as the vocabulary asks (add_bos/add_eos)
    // Match the text of control tokens (<|im_start|>, <s>). User-defined
    // tokens (non-special added tokens) are matched either way, as the
    // reference tokenizers do.
    bool parse_special = false;
    // With parse_special: a special token is matched only where every byte it
    // covers is allowed (non-zero). Empty: allowed everywhere; otherwise one
    // entry per byte of the text. Chat templates use this so that message
    // content cannot inject <|im_start|> and the like.
    std::span<const uint8_t> special_allowed = {};
};

class Tokenizer {
  public:
    virtual ~Tokenizer() = default;

    virtual const Vocab& vocab() const = 0;
    virtual std::vector<int32_t> encode(std::string_view text,
                                        const EncodeOptions& opt = {}) const = 0;
    // Bytes this token contributes to decoded text. Control tokens give ""
    // unless render_special.
    virtual std::string token_to_piece(int32_t id, bool render_special = false) const = 0;
    // SentencePiece-style: the space before the first word of a text stands
    // for the prefix added at encode time, and decoding drops it.
    virtual bool strips_leading_space() const { return false; }

    int32_t n_vocab() const { return vocab().size(); }
    int32_t bos_id() const { return vocab().bos_id; }
    int32_t eos_id() const { return vocab().eos_id; }
    // End of generation: EOS and the vocabulary's other end tokens (EOT, EOM).
    bool is_eog(int32_t id) const;
    std::string decode(std::span<const int32_t> ids, bool render_special = false) const;
};

// Picks the algorithm from vocab.model: "llama" SentencePiece-style, "gpt2"
// byte-level BPE, "bpe" BPE with SentencePiece-style spaces and byte fallback.
Expected<std::unique_ptr<Tokenizer>> make_tokenizer(Vocab vocab);

}  // namespace ig
