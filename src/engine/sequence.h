#pragma once
// One choice of a request as the scheduler and the engine loop see it: its
// tokens (prompt, then generated), how many have KV written, its block table,
// and the per-choice sampling/stop/detokenize state.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/sampler.h"
#include "engine/stop_checker.h"
#include "grammar/grammar_matcher.h"
#include "kvcache/block_hash.h"
#include "kvcache/kv_cache_manager.h"
#include "tokenizer/incremental_decoder.h"

namespace ig {

struct RequestState;  // engine-private: the request this choice belongs to

// Loading: admitted, waiting for prefix blocks read from a tier below the
// pool (holds those blocks, not scheduled until they are in).
enum class SeqStatus { Waiting, Loading, Running, Finished };

struct SeqTimes {
    using TimePoint = std::chrono::steady_clock::time_point;
    TimePoint arrival{};
    std::optional<TimePoint> first_scheduled, first_token, finish;
};

struct Sequence {
    RequestState* request = nullptr;
    int32_t choice = 0;
    int32_t priority = 0;
    uint64_t arrival_seq = 0;  // submission order; FCFS within a priority class
    uint64_t group = 0;        // fair-share group: the request's (all its prompts and choices)
    // Tenant (a hash; 0: the anonymous one) and its fair-share weight; the
    // label names it in metrics and points into the request, which outlives it.
    uint64_t tenant = 0;
    double tenant_weight = 1.0;
    std::string_view tenant_label;
    BlockHash root{};  // prefix-cache chain root (model fingerprint + salt)

    std::vector<int32_t> tokens;  // prompt, then generated tokens
    int64_t prompt_len = 0;
    int64_t num_computed = 0;  // tokens whose KV is written (a prefix of `tokens`)
    SeqBlocks blocks;
    bool prefix_matched = false;  // blocks hold this admission's prefix-cache match
    // Choices still to be forked from this one once its prompt is prefilled
    // (n > 1): the scheduler reserves seats for them.
    int32_t pending_forks = 0;
    int64_t cached_at_admission = -1;  // prefix-cache hit of the first admission (Usage)
    uint64_t scheduled_step = 0;       // scheduler step that last scheduled it

    std::optional<Sampler> sampler;
    std::optional<StopChecker> stop;
    std::optional<grammar::GrammarMatcher> grammar;  // constrained decoding (copied by forks)
    std::unique_ptr<IncrementalDecoder> decoder;     // null without a tokenizer

    SeqStatus status = SeqStatus::Waiting;
    SeqTimes times;
    uint64_t preemptions = 0;

    int64_t num_generated() const { return static_cast<int64_t>(tokens.size()) - prompt_len; }
    int64_t num_remaining() const { return static_cast<int64_t>(tokens.size()) - num_computed; }
    // Scheduling order: more urgent class first, then earlier arrival, then choice.
    bool before(const Sequence& o) const;
};

}  // namespace ig
