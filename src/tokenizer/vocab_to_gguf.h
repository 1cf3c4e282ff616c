#pragma once
// A vocabulary as the tokenizer.ggml.* metadata llama.cpp reads, for
// `infergrid convert`. Byte-level BPE ("gpt2") keeps its tokens and merges
// and names its pre-tokenizer (tokenizer.ggml.pre) from the split regexes;
// SentencePiece-style BPE with byte fallback ("bpe", TinyStories, Llama 2's
// tokenizer.json) becomes a "llama" vocabulary whose scores rank each token
// by the merge that first makes it, so the SentencePiece algorithm replays
// the BPE merges.
#include <vector>

#include "gguf/gguf.h"
#include "tokenizer/vocab.h"
#include "util/expected.h"

namespace ig {

Expected<std::vector<GgufKV>> vocab_to_gguf(const Vocab& v);

}  // namespace ig
