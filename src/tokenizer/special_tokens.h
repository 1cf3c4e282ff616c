#pragma once
// Finds the text of special tokens (control, user-defined, unknown) in a
// text so that they become single tokens instead of being tokenized as
// words: leftmost match first, the longest token at a position wins.
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

    // The text cut into plain runs and special tokens. Without
    // opt.parse_special, one plain run; a token only matches where every byte
    // it covers is allowed by opt.special_allowed.
    std::vector<Fragment> split(const Vocab& v, std::string_view text,
                                const EncodeOptions& opt) const;

  private:
    // Candidate ids by first byte, longest text first.
    std::array<std::vector<int32_t>, 256> by_first_;
};

}  // namespace ig
