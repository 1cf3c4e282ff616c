#pragma once
// Finds the text of special tokens (control, user-defined, unknown) in a
// text so that they become single tokens instead of being tokenized as
// words: leftmost match first, the longest token at a position wins.
// User-defined tokens (Hugging Face's non-special added tokens: runs of
// spaces, extra characters, <think>) are always matched, as the reference
// tokenizers do; control and unknown tokens (<|im_start|>, <s>) only with
// parse_special and where special_allowed permits.
#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace ig {

struct Fragment {
    size_t begin, len;
    int32_t token = -1;  // >= 0: this fragment is that special token
};

class SpecialTokenMatcher {
  public:
    SpecialTokenMatcher() = default;
    explicit SpecialTokenMatcher(const Vocab& v);

    // The text cut into plain runs and special tokens. A control token only
    // matches with opt.parse_special and where every byte it covers is
    // allowed by opt.special_allowed.
    std::vector<Fragment> split(const Vocab& v, std::string_view text,
                                const EncodeOptions& opt) const;

  private:
    // Candidate ids by first byte, longest text first.
    std::array<std::vector<int32_t>, 256> by_first_;
    bool has_user_defined_ = false;
};

}  // namespace ig
