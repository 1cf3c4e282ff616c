#pragma once
// Reads the tokenizer.ggml.* metadata of a GGUF file into a Vocab.
#include "model/gguf.h"
#include "tokenizer/vocab.h"
#include "util/expected.h"

namespace ig {

Expected<Vocab> vocab_from_gguf(const GgufFile& f);

}  // namespace ig
