#pragma once
// A tokenizer vocabulary as plain data, independent of where it was stored
// (GGUF metadata today, tokenizer.json later).
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

struct Vocab {
    std::string model;  // "llama" (SentencePiece-style), "gpt2", ...
    std::vector<std::string> tokens;
    std::vector<float> scores;     // empty or one per token
    std::vector<TokenType> types;  // empty or one per token
    int32_t bos_id = -1;
    int32_t eos_id = -1;
    int32_t unk_id = -1;
    std::vector<int32_t> eog_ids;  // end-of-generation tokens besides eos_id
    bool add_bos = true;
    bool add_eos = false;
    bool add_space_prefix = true;

    int32_t size() const { return static_cast<int32_t>(tokens.size()); }
    TokenType type(int32_t id) const {
        return types.empty() ? TokenType::Normal : types[static_cast<size_t>(id)];
    }
};

}  // namespace ig
