#include "tokenizer/incremental_decoder.h"

#include "util/utf8.h"

namespace ig {

std::string IncrementalDecoder::push(int32_t id, bool render_special) {
    std::string p = tok_.token_to_piece(id, render_special);
    // SentencePiece marks word starts with a space; the first one of the
    // output stands for the prefix added at encode time.
    if (first_ && !p.empty()) {
        if (tok_.strips_leading_space() && p[0] == ' ') p.erase(0, 1);
        first_ = false;
    }
    pending_ += p;
    const size_t keep = utf8::incomplete_tail(pending_);
    std::string ready =
        utf8::sanitize(std::string_view(pending_).substr(0, pending_.size() - keep));
    pending_.erase(0, pending_.size() - keep);
    return ready;
}

std::string IncrementalDecoder::flush() {
    std::string out = utf8::sanitize(pending_);
    pending_.clear();
    return out;
}

}  // namespace ig
