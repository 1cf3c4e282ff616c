#include "grammar/grammar_matcher.h"

#include <algorithm>
#include <limits>

namespace ig::grammar {

bool GrammarMatcher::apply(std::span<float> logits) {
    constexpr float kNegInf = -std::numeric_limits<float>::infinity();
    if (ended()) {
        std::fill(logits.begin(), logits.end(), kNegInf);
        return false;
    }
    const std::span<const uint64_t> bits = a_->mask(state_);
    const size_t n = logits.size();
    bool any = false;
    for (size_t w = 0; w < bits.size(); ++w) {
        const uint64_t word = bits[w];
        const size_t base = w * 64;
        if (base >= n) break;
        const size_t len = std::min<size_t>(64, n - base);
        if (word == ~uint64_t{0}) {
            any = true;
            continue;
        }
        if (word == 0) {
            std::fill_n(logits.data() + base, len, kNegInf);
            continue;
        }
        any = true;
        for (size_t i = 0; i < len; ++i)
            if (!((word >> i) & 1)) logits[base + i] = kNegInf;
    }
    // Rows past the tokenizer's vocabulary (padded embeddings) are never text.
    if (bits.size() * 64 < n)
        std::fill(logits.begin() + static_cast<std::ptrdiff_t>(bits.size() * 64), logits.end(),
                  kNegInf);
    return any;
}

bool GrammarMatcher::accept(int32_t token) {
    if (ended()) return false;
    const int32_t next = a_->step_token(state_, token);
    if (next == TokenAutomaton::kDead) return false;
    state_ = next;
    return true;
}

}  // namespace ig::grammar
