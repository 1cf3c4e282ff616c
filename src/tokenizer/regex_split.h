#pragma once
// Pre-tokenization: a text is cut into words by a sequence of regexes, each
// applied to the pieces the previous one left, keeping both the matches and
// the text between them (Hugging Face's Split with behavior "Isolated").
// PCRE2 in UTF + UCP mode, JIT-compiled when available; invalid UTF-8 never
// matches and ends up in the pieces between matches.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/expected.h"

namespace ig {

struct TextPiece {
    size_t begin, len;
};

class RegexSplitter {
  public:
    static Expected<RegexSplitter> create(const std::vector<std::string>& patterns);

    // Appends the pieces of text (offsets into text), in order, to out;
    // together they cover text exactly.
    void split(std::string_view text, std::vector<TextPiece>& out) const;
    bool empty() const { return codes_.empty(); }

  private:
    struct Code;
    std::vector<std::shared_ptr<const Code>> codes_;
};

// The GPT-2 split regex, the fallback for unknown pre-tokenizer names.
extern const char* const kGpt2SplitRegex;

// The split regexes of a tokenizer.ggml.pre name, or nullopt when unknown.
std::optional<std::vector<std::string>> split_regexes_for_pre(std::string_view pre);

}  // namespace ig
