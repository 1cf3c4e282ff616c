#pragma once
// Engine-private state of one accepted request: its choices' sequences,
// which choices have had their final event, and usage counters.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/request.h"
#include "engine/request_stream.h"
#include "engine/sequence.h"

namespace ig {

struct RequestState {
    GenerationRequest req;
    std::shared_ptr<RequestStream> stream;
    uint64_t seed = 0;                            // resolved: choice c samples with seed + c
    std::vector<std::unique_ptr<Sequence>> seqs;  // choice 0 first; forks appended
    std::vector<bool> done;                       // per choice: final event sent
    int64_t completion_tokens = 0;                // all choices

    int64_t cached_tokens() const {
        return seqs.empty() ? 0 : std::max<int64_t>(seqs.front()->cached_at_admission, 0);
    }
    Usage usage() const {
        return {static_cast<int64_t>(req.prompt.size()), cached_tokens(), completion_tokens};
    }
    bool all_done() const {
        for (bool d : done)
            if (!d) return false;
        return true;
    }
};

}  // namespace ig
