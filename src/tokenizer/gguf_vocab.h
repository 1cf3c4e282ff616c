#pragma once
// Reads the tokenizer.ggml.* metadata of a GGUF file into a Vocab.
#include <memory>

#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"
#include "util/expected.h"

namespace ig {

// Reads tokens, scores, types, merges, the pre-tokenizer name, BOS/EOS/EOT/
// EOM ids and add_bos/add_eos/add_space_prefix; fills eog_ids.
Expected<Vocab> vocab_from_gguf(const GgufFile& f);

// The tokenizer the file's metadata describes (SentencePiece-style or
// byte-level BPE); for a Hugging Face folder's view (no tokenizer.ggml.*
// keys, path a directory) the folder's tokenizer.json (hf_folder_vocab.h).
Expected<std::unique_ptr<Tokenizer>> load_tokenizer(const GgufFile& f);

}  // namespace ig
