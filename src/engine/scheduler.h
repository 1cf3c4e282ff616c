#pragma once
// One scheduling step of continuous batching. Decides only (no model calls):
// running decodes first, then the rest of partially prefilled sequences,
// then admissions from the waiting queue, all under a token budget and a
// sequence cap. Blocks come from the KvCacheManager; when they run out the
// lowest-priority, latest-arrived running sequence is preempted by
// recompute (its blocks are freed; its published full blocks stay in the
// prefix cache, so the recompute usually hits them). A waiting request of a
// more urgent class than some running sequences also preempts them (from the
// least urgent, latest) when it would otherwise not get a seat or blocks.
// An admission whose prefix is partly on the disk tier waits, holding a
// seat, while loader threads read those blocks; the steps go on meanwhile.
// When the token budget is spent, the head of the waiting queue still starts
// its tier loads (prefetch), so they overlap the running sequences' work.
// Who is admitted next and who gives way is FairShare's call (priority
// classes with aging, fair share between requests).
//
// A request that fits in the pool waits for blocks, never fails: blocks that
// tier loads, loading sequences or prefetched waiting sequences hold come
// back (loads finish; waiting holds are released when the head is blocked).
// Only a sequence needing more blocks than the whole pool holds fails.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/fair_share.h"
#include "engine/request_queue.h"
#include "engine/sequence.h"
#include "kvcache/kv_cache_manager.h"

namespace ig {

struct SchedulerConfig {
    int32_t max_num_seqs = 64;
    int32_t max_num_batched_tokens = 512;
    // Off: a prompt is prefilled in one step, whatever the budget (at most one
    // such over-budget prefill per step).
    bool chunked_prefill = true;
    // Sequences with long prompt work (a chunk of more than
    // long_prefill_tokens tokens) in one step; 0: no limit. On a CPU, prefill
    // is compute-bound: stacking several prompts into one step only delays
    // the first ones' first token, and requests admitted together finish
    // together and come back together (vLLM's max_num_partial_prefills and
    // long_prefill_token_threshold). Short chunks cost little next to the
    // step's pass over the weights, so they are batched freely.
    int32_t max_num_partial_prefills = 0;
    int32_t long_prefill_tokens = 0;
    // One priority class gained per this many seconds since arrival (0: strict priority).
    double priority_aging_seconds = 0;
    // Fairness between tenants on tokens (TokenCounters); off: tenants are
    // not told apart (request groups still are).
    bool tenant_fair_share = true;
};

struct ScheduledChunk {
    Sequence* seq = nullptr;
    int64_t start = 0;    // first position computed (== seq->num_computed before the step)
    int64_t n = 0;        // tokens computed this step
    bool logits = false;  // the chunk reaches the end of seq->tokens: sample after it
};

struct FailedSeq {
    Sequence* seq = nullptr;
    std::string error;
};

struct SchedulerOutput {
    std::vector<ScheduledChunk> chunks;
    std::vector<Sequence*> preempted;  // back in the waiting queue
    std::vector<FailedSeq> failed;     // removed (blocks freed): can never fit
    int64_t n_tokens = 0;
};

class Scheduler {
  public:
    Scheduler(SchedulerConfig cfg, KvCacheManager& kv);
    Scheduler(const Scheduler&) = delete;  // the queue's policy points back here
    Scheduler& operator=(const Scheduler&) = delete;

    void add_waiting(Sequence* s);    // a new arrival (no blocks)
    void add_running(Sequence* s);    // a forked choice that already holds its blocks
    void add_preempted(Sequence* s);  // head of its class (e.g. a fork that found no blocks)
    void remove(Sequence* s);         // finished or cancelled: leaves the queues, blocks freed

    SchedulerOutput step();

    RequestQueue& waiting() { return waiting_; }
    size_t num_running() const { return running_.size(); }
    size_t num_waiting() const { return waiting_.size() + loading_.size(); }
    size_t num_loading() const { return loading_.size(); }
    uint64_t preemptions() const { return preemptions_; }
    const TokenCounters& token_counters() const { return tokens_; }
    const SchedulerConfig& config() const { return cfg_; }

  private:
    // Whether n tokens of s are long prompt work, and whether one more fits.
    bool is_long_prefill(const Sequence& s, int64_t n) const;
    bool prefill_slot_free() const;
    // Sequences s stands for against max_num_seqs: itself and its choices to be forked.
    static size_t seats(const Sequence& s);
    // Seats of the running and loading sequences.
    size_t seats_held() const;
    // Recounts the seats held per request group and per tenant.
    FairShare::Held count_seats();
    // Frees the prefix blocks that waiting sequences (other than keep) hold
    // from a match or a prefetch. True if any were held.
    bool release_waiting_holds(const Sequence* keep);
    // Whether s's first n tokens need more blocks than the whole pool holds.
    bool never_fits(int64_t n) const;
    // Tokens of s to compute now under the remaining budget (0: not now).
    int64_t take(const Sequence& s);
    // Blocks for s's next n tokens, preempting as needed. False: s itself was
    // preempted or failed.
    bool make_room(Sequence* s, int64_t n, SchedulerOutput& out);
    void preempt(Sequence* s, SchedulerOutput& out);
    // Before the running pass: frees seats/blocks for the policy's next
    // admission by preempting running sequences of strictly less urgent classes.
    void preempt_for_waiting(SchedulerOutput& out);
    void fail(Sequence* s, std::string why, SchedulerOutput& out);
    void schedule(Sequence* s, int64_t n, SchedulerOutput& out);
    void erase_running(Sequence* s);
    // Sequences whose tier loads have finished go back to the head of the
    // waiting queue with their cached prefix settled.
    void settle_loaded();
    // Starts s's prefix match. False: its loads are in flight (s moved to loading_).
    bool begin_match(Sequence* s);

    SchedulerConfig cfg_;
    TokenCounters tokens_;
    FairShare fair_;
    GroupSeats group_seats_, tenant_seats_;  // scratch of count_seats()
    KvCacheManager& kv_;
    RequestQueue waiting_;
    std::vector<Sequence*> running_;  // hold blocks
    std::vector<Sequence*> loading_;  // hold prefix blocks being loaded, in admission order
    uint64_t preemptions_ = 0;
    uint64_t step_ = 0;
    int64_t budget_ = 0;
    int32_t prefills_ = 0;  // sequences with long prompt work scheduled this step
    bool long_prefill_taken_ = false;
};

}  // namespace ig
