#pragma once
// Streaming detokenisation for any Tokenizer.
#include <cstdint>
#include <string>

#include "tokenizer/tokenizer.h"

namespace ig {

// Turns a token stream into text without ever splitting a UTF-8 character:
// bytes of an incomplete character (byte-level BPE pieces and <0xNN> byte
// tokens carry raw bytes) are held until the token that completes them.
class IncrementalDecoder {
  public:
    // at_start: the stream begins a text, so the space a SentencePiece-style
    // tokenizer puts before the first word is dropped (false when
    // continuing a prompt).
    explicit IncrementalDecoder(const Tokenizer& tok, bool at_start = true)
        : tok_(tok), first_(at_start) {}
    // Returns the text that became complete with this token (valid UTF-8).
    // Control tokens add nothing unless render_special.
    std::string push(int32_t id, bool render_special = false);
    std::string flush();  // whatever is held, invalid bytes as U+FFFD

  private:
    const Tokenizer& tok_;
    std::string pending_;
    bool first_;
};

}  // namespace ig
