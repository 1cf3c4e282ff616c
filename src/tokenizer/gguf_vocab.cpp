#include "tokenizer/gguf_vocab.h"

#include <filesystem>

#include "tokenizer/hf_folder_vocab.h"

namespace ig {

Expected<Vocab> vocab_from_gguf(const GgufFile& f) {
    Vocab v;
    auto model = f.get_string("tokenizer.ggml.model");
    if (!model) return make_error("model has no tokenizer (missing 'tokenizer.ggml.model')");
    v.model = std::string(*model);
    // llama.cpp's defaults: only SentencePiece adds BOS and a space prefix
    // unless the file says otherwise.
    v.add_bos = v.model == "llama";
    v.add_space_prefix = v.model == "llama";
    if (auto pre = f.get_string("tokenizer.ggml.pre")) v.pre = std::string(*pre);
    const GgufArray* tokens = f.get_array("tokenizer.ggml.tokens");
    if (tokens == nullptr || tokens->elem_type != GgufType::STRING)
        return make_error("'tokenizer.ggml.tokens' is missing or not an array of strings");
    v.tokens.reserve(tokens->items.size());
    for (const auto& t : tokens->items) v.tokens.push_back(std::get<std::string>(t.v));

    if (const GgufArray* scores = f.get_array("tokenizer.ggml.scores")) {
        if (scores->elem_type != GgufType::F32 && scores->elem_type != GgufType::F64)
            return make_error("'tokenizer.ggml.scores' is not an array of floats");
        if (scores->items.size() != v.tokens.size())
            return make_error("tokenizer has {} tokens but {} scores", v.tokens.size(),
                              scores->items.size());
        v.scores.reserve(scores->items.size());
        for (const auto& s : scores->items)
            v.scores.push_back(static_cast<float>(std::get<double>(s.v)));
    }
    if (const GgufArray* types = f.get_array("tokenizer.ggml.token_type")) {
        if (types->items.size() != v.tokens.size())
            return make_error("tokenizer has {} tokens but {} token types", v.tokens.size(),
                              types->items.size());
        v.types.reserve(types->items.size());
        for (const auto& t : types->items) {
            int64_t x = 0;
            if (const auto* i = std::get_if<int64_t>(&t.v))
                x = *i;
            else if (const auto* u = std::get_if<uint64_t>(&t.v))
                x = static_cast<int64_t>(*u);
            else
                return make_error("'tokenizer.ggml.token_type' is not an array of integers");
            if (x < 0 || x > 6) return make_error("unknown token type {}", x);
            v.types.push_back(static_cast<TokenType>(x));
        }
    }
    if (const GgufArray* merges = f.get_array("tokenizer.ggml.merges")) {
        if (merges->elem_type != GgufType::STRING)
            return make_error("'tokenizer.ggml.merges' is not an array of strings");
        v.merges.reserve(merges->items.size());
        for (const auto& m : merges->items) v.merges.push_back(std::get<std::string>(m.v));
    }
    auto id = [&](const char* key, int32_t& dst) -> Status {
        if (f.find(key) == nullptr) return {};
        auto x = f.get_int(key);
        if (!x || *x < 0 || *x >= static_cast<int64_t>(v.tokens.size()))
            return make_error("'{}' is not a token id of the vocabulary", key);
        dst = static_cast<int32_t>(*x);
        return {};
    };
    IG_TRY(id("tokenizer.ggml.bos_token_id", v.bos_id));
    IG_TRY(id("tokenizer.ggml.eos_token_id", v.eos_id));
    IG_TRY(id("tokenizer.ggml.unknown_token_id", v.unk_id));
    IG_TRY(id("tokenizer.ggml.eot_token_id", v.eot_id));
    IG_TRY(id("tokenizer.ggml.eom_token_id", v.eom_id));
    if (auto b = f.get_bool("tokenizer.ggml.add_bos_token")) v.add_bos = *b;
    if (auto b = f.get_bool("tokenizer.ggml.add_eos_token")) v.add_eos = *b;
    if (auto b = f.get_bool("tokenizer.ggml.add_space_prefix")) v.add_space_prefix = *b;
    // Llama 3 and Tekken vocabularies were trained so that whole words in the
    // vocabulary are never split (Hugging Face's ignore_merges).
    v.ignore_merges = v.pre == "llama-bpe" || v.pre == "llama3" || v.pre == "tekken";
    detect_eog_tokens(v);
    return v;
}

Expected<std::unique_ptr<Tokenizer>> load_tokenizer(const GgufFile& f) {
    Vocab v;
    std::error_code ec;
    if (f.find("tokenizer.ggml.model") == nullptr && std::filesystem::is_directory(f.path(), ec)) {
        IG_ASSIGN_OR_RETURN(v, vocab_from_hf_folder(f.path()));
    } else {
        IG_ASSIGN_OR_RETURN(v, vocab_from_gguf(f));
    }
    return make_tokenizer(std::move(v));
}

}  // namespace ig
