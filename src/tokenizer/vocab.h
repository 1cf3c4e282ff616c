#pragma once
// A tokenizer vocabulary as plain data, independent of where it was stored
// (GGUF metadata or a Hugging Face tokenizer.json).
#include <cstdint>
#include <string>
#include <vector>

namespace ig {

// Values of tokenizer.ggml.token_type.
enum class TokenType : int32_t {
    Undefined = 0,
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
};

// Unicode normalization applied to plain text before it is split.
enum class UnicodeForm : uint8_t { None, NFC, NFD, NFKC, NFKD };

struct Vocab {
    // "llama": SentencePiece-style (scores); "gpt2": byte-level BPE (merges);
    // "bpe": BPE over Unicode characters with SentencePiece-style spaces and
    // <0xNN> byte fallback (tokenizer.json models such as TinyStories).
    std::string model;
    std::vector<std::string> tokens;
    std::vector<float> scores;     // empty or one per token
    std::vector<TokenType> types;  // empty or one per token
    // BPE merges, best first, each "left right" (pieces as stored in tokens).
    std::vector<std::string> merges;
    // Pre-tokenizer name (tokenizer.ggml.pre: "llama-bpe", "qwen2", ...);
    // empty means the GPT-2 split; "none" means exactly pre_regexes.
    std::string pre;
    // Split regexes applied in order (Hugging Face "Split ... Isolated");
    // when non-empty they replace the ones `pre` would choose.
    std::vector<std::string> pre_regexes;
    bool ignore_merges = false;  // a word that is itself a token is not split
    bool fuse_unk = false;       // consecutive unknown characters give one <unk>
    int32_t bos_id = -1;
    int32_t eos_id = -1;
    int32_t unk_id = -1;
    int32_t eot_id = -1;
    int32_t eom_id = -1;
    std::vector<int32_t> eog_ids;  // end-of-generation tokens besides eos_id
    bool add_bos = true;
    bool add_eos = false;
    bool add_space_prefix = true;
    // tokenizer.json's NFC/NFD/NFKC/NFKD normalizer (GGUF vocabularies have
    // none: llama.cpp does not normalize). Only the BPE tokenizers apply it;
    // with model "bpe" it runs before the space handling unless
    // normalize_late (the normalizer sequence had Prepend/Replace first).
    UnicodeForm normalize = UnicodeForm::None;
    bool normalize_late = false;

    int32_t size() const { return static_cast<int32_t>(tokens.size()); }
    TokenType type(int32_t id) const {
        return types.empty() ? TokenType::Normal : types[static_cast<size_t>(id)];
    }
};

// Fills eog_ids from eot_id/eom_id and from well-known end-of-turn token
// texts (<|eot_id|>, <|im_end|>, <|end|>, <end_of_turn>, ...), keeping any
// ids already there. Idempotent.
void detect_eog_tokens(Vocab& v);

}  // namespace ig
