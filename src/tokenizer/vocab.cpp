#include "tokenizer/vocab.h"

#include <algorithm>
#include <array>
#include <string_view>

namespace ig {
namespace {

// Texts that end a turn or a message in the chat formats we know of; a model
// emits one of these instead of (or before) its EOS.
constexpr std::array<std::string_view, 14> kEogTexts = {
    "<|eot_id|>",
    "<|eom_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "<\xEF\xBD\x9C"
    "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
    "<end_of_utterance>",
    "<|return|>",
    "<|call|>",
    "<|END_OF_TURN_TOKEN|>",
};

}  // namespace

void detect_eog_tokens(Vocab& v) {
    auto add = [&](int32_t id) {
        if (id < 0 || id >= v.size() || id == v.eos_id) return;
        if (std::find(v.eog_ids.begin(), v.eog_ids.end(), id) == v.eog_ids.end())
            v.eog_ids.push_back(id);
    };
    add(v.eot_id);
    add(v.eom_id);
    for (int32_t id = 0; id < v.size(); ++id) {
        const TokenType t = v.type(id);
        // Only special tokens: a normal piece that happens to read "<|end|>"
        // is ordinary text.
        if (!v.types.empty() && t != TokenType::Control && t != TokenType::UserDefined) continue;
        const std::string& s = v.tokens[static_cast<size_t>(id)];
        if (s.size() < 5 || (s[0] != '<' && s[0] != '_')) continue;
        if (std::find(kEogTexts.begin(), kEogTexts.end(), s) != kEogTexts.end()) add(id);
    }
}

}  // namespace ig
