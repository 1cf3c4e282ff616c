#pragma once
// The vocabulary of a Hugging Face model folder: tokenizer.json with
// tokenizer_config.json (added tokens, BOS/EOS, add_bos_token), every
// end-of-sequence id of generation_config.json (an int or a list), padded
// with unused "[PAD<i>]" tokens up to config.json's vocab_size as llama.cpp's
// converter does (embedding matrices are often rounded up past the tokens).
#include <memory>
#include <string>

#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"
#include "util/expected.h"

namespace ig {

Expected<Vocab> vocab_from_hf_folder(const std::string& dir);

}  // namespace ig
