#pragma once
// What happens to a choice when a token is sampled: append it, feed the
// sampler's penalties, detokenize, hold back possible stop strings, and
// decide whether the choice is finished (EOS, stop token, stop string,
// max_tokens, context length).
#include <cstdint>

#include "engine/request.h"
#include "engine/request_state.h"
#include "engine/sequence.h"
#include "tokenizer/tokenizer.h"

namespace ig {

// `tok` may be null (token ids only: no EOS, no text). n_ctx: the model's context.
StreamEvent append_token(Sequence& s, RequestState& r, SampledToken st, const Tokenizer* tok,
                         int64_t n_ctx);

// The public view of a sequence's timestamps.
RequestTimings request_timings(const SeqTimes& t);

// The last event of a choice that ends without a token (cancel, error).
StreamEvent final_event(const RequestState& r, int32_t choice, FinishReason reason,
                        std::string error);

}  // namespace ig
