#include "tokenizer/tokenizer.h"

#include <algorithm>

#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/spm_tokenizer.h"
#include "util/utf8.h"

namespace ig {

bool Tokenizer::is_eog(int32_t id) const {
    const Vocab& v = vocab();
    if (id < 0) return false;
    if (id == v.eos_id) return true;
    return std::find(v.eog_ids.begin(), v.eog_ids.end(), id) != v.eog_ids.end();
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool render_special) const {
    std::string out;
    for (int32_t id : ids) out += token_to_piece(id, render_special);
    if (strips_leading_space() && !out.empty() && out[0] == ' ') out.erase(0, 1);
    return utf8::sanitize(out);
}

Expected<std::unique_ptr<Tokenizer>> make_tokenizer(Vocab vocab) {
    if (vocab.model == "llama") {
        auto t = SpmTokenizer::create(std::move(vocab));
        if (!t.ok()) return t.error();
        return std::unique_ptr<Tokenizer>(std::make_unique<SpmTokenizer>(std::move(t).value()));
    }
    if (vocab.model == "gpt2" || vocab.model == "bpe") {
        auto t = BpeTokenizer::create(std::move(vocab));
        if (!t.ok()) return t.error();
        return std::unique_ptr<Tokenizer>(std::move(t).value());
    }
    return make_error("tokenizer model '{}' is not supported", vocab.model);
}

}  // namespace ig
