#pragma once
// Hugging Face tokenizer.json (+ tokenizer_config.json) loading.
// Supported: model.type "BPE" with
//  - a byte-level pre-tokenizer (Split regexes with behavior Isolated,
//    Digits, Punctuation, ByteLevel with or without its regex), ignore_merges;
//  - a SentencePiece-style normalizer (Prepend "▁", Replace " " -> "▁")
//    with byte_fallback / unk (fuse_unk);
// either with one Unicode normalizer (NFC, NFD, NFKC, NFKD), alone or in a
// Sequence, applied in the sequence's order.
// added_tokens become control (special) or user-defined tokens; BOS/EOS and
// add_bos/add_eos come from tokenizer_config.json, else from the
// post-processor's template. Anything else is a clear error.
#include <memory>
#include <string_view>

#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"
#include "util/expected.h"

namespace ig {

// tokenizer_config_json may be empty.
Expected<Vocab> vocab_from_hf_json(std::string_view tokenizer_json,
                                   std::string_view tokenizer_config_json);

Expected<std::unique_ptr<Tokenizer>> tokenizer_from_hf_json(std::string_view tokenizer_json,
                                                            std::string_view tokenizer_config_json);

}  // namespace ig
