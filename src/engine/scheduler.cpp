#include "engine/scheduler.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

namespace ig {

Scheduler::Scheduler(SchedulerConfig cfg, KvCacheManager& kv)
    : cfg_(cfg),
      fair_(cfg.priority_aging_seconds, cfg.tenant_fair_share ? &tokens_ : nullptr),
      kv_(kv) {
    waiting_.set_policy([this](const RequestQueue& q) {
        return fair_.pick(q, count_seats(), std::chrono::steady_clock::now());
    });
}

void Scheduler::add_waiting(Sequence* s) {
    tokens_.arrive(s->tenant, s->tenant_weight, s->tenant_label);
    s->status = SeqStatus::Waiting;
    if (s->times.arrival == SeqTimes::TimePoint{})
        s->times.arrival = std::chrono::steady_clock::now();
    waiting_.push_back(s);
}

void Scheduler::add_running(Sequence* s) {
    tokens_.arrive(s->tenant, s->tenant_weight, s->tenant_label);
    s->status = SeqStatus::Running;
    running_.push_back(s);
}

void Scheduler::add_preempted(Sequence* s) {
    tokens_.arrive(s->tenant, s->tenant_weight, s->tenant_label);
    s->status = SeqStatus::Waiting;
    waiting_.push_front(s);
}

void Scheduler::erase_running(Sequence* s) {
    auto it = std::find(running_.begin(), running_.end(), s);
    if (it != running_.end()) running_.erase(it);
}

void Scheduler::remove(Sequence* s) {
    if (s->status == SeqStatus::Running)
        erase_running(s);
    else if (s->status == SeqStatus::Waiting)
        waiting_.remove(s);
    else if (s->status == SeqStatus::Loading)
        std::erase(loading_, s);  // the loads keep their blocks until they finish
    kv_.free(s->blocks);
    tokens_.leave(s->tenant);
    s->status = SeqStatus::Finished;
}

bool Scheduler::is_long_prefill(const Sequence& s, int64_t n) const {
    return (n > 1 || s.num_computed < s.prompt_len) && n > cfg_.long_prefill_tokens;
}

bool Scheduler::prefill_slot_free() const {
    return cfg_.max_num_partial_prefills <= 0 || prefills_ < cfg_.max_num_partial_prefills;
}

int64_t Scheduler::take(const Sequence& s) {
    const int64_t rem = s.num_remaining();
    if (rem <= 0) return 0;
    if (rem <= budget_) return rem;
    if (cfg_.chunked_prefill) return std::max<int64_t>(budget_, 0);
    if (!long_prefill_taken_) {
        long_prefill_taken_ = true;
        return rem;
    }
    return 0;
}

void Scheduler::preempt(Sequence* s, SchedulerOutput& out) {
    erase_running(s);
    kv_.free(s->blocks);
    s->num_computed = 0;
    s->prefix_matched = false;
    ++s->preemptions;
    ++preemptions_;
    s->status = SeqStatus::Waiting;
    waiting_.push_front(s);
    out.preempted.push_back(s);
}

void Scheduler::fail(Sequence* s, std::string why, SchedulerOutput& out) {
    remove(s);
    out.failed.push_back({s, std::move(why)});
}

bool Scheduler::make_room(Sequence* s, int64_t n, SchedulerOutput& out) {
    while (!kv_.ensure(s->blocks, s->num_computed + n)) {
        // Victim: the running sequence not scheduled in this step that gives
        // way first (least urgent, largest group, latest); s itself is a candidate.
        const FairShare::Held held = count_seats();
        Sequence* victim = nullptr;
        for (Sequence* r : running_)
            if (r->scheduled_step != step_ && (!victim || fair_.preempt_first(*r, *victim, held)))
                victim = r;
        if (victim != nullptr && victim != s) {
            preempt(victim, out);
            continue;
        }
        if (never_fits(s->num_computed + n)) {
            fail(s,
                 fmt::format("the KV cache is too small for this request: {} tokens need "
                             "more blocks than the cache holds",
                             s->num_computed + n),
                 out);
            return false;
        }
        if (release_waiting_holds(nullptr)) continue;
        // Others scheduled this step hold the blocks: s waits for them. Alone,
        // s waits (keeping its blocks) for the tier loads in flight to finish.
        if (running_.size() > 1) preempt(s, out);
        return false;
    }
    return true;
}

bool Scheduler::never_fits(int64_t n) const {
    return kv_.blocks_needed(SeqBlocks{}, n) > kv_.pool().num_blocks();
}

bool Scheduler::release_waiting_holds(const Sequence* keep) {
    bool any = false;
    waiting_.for_each_class([&](int32_t, const std::deque<Sequence*>& c) {
        for (Sequence* w : c) {
            if (w == keep || w->blocks.table.empty()) continue;
            kv_.free(w->blocks);  // the queue itself is not changed
            w->num_computed = 0;
            w->prefix_matched = false;
            any = true;
        }
    });
    return any;
}

FairShare::Held Scheduler::count_seats() {
    group_seats_.clear();
    tenant_seats_.clear();
    for (const std::vector<Sequence*>* v : {&running_, &loading_})
        for (const Sequence* s : *v) {
            group_seats_.add(s->group, static_cast<int32_t>(seats(*s)));
            tenant_seats_.add(s->tenant, static_cast<int32_t>(seats(*s)));
        }
    group_seats_.finish();
    tenant_seats_.finish();
    return {group_seats_, tenant_seats_};
}

size_t Scheduler::seats(const Sequence& s) {
    return 1 + static_cast<size_t>(std::max(s.pending_forks, 0));
}

size_t Scheduler::seats_held() const {
    size_t n = 0;
    for (const Sequence* s : running_) n += seats(*s);
    for (const Sequence* s : loading_) n += seats(*s);
    return n;
}

void Scheduler::preempt_for_waiting(SchedulerOutput& out) {
    Sequence* s = waiting_.peek();
    if (s == nullptr || running_.empty()) return;
    const size_t want = seats(*s);
    // Blocks for the first chunk, counting no prefix hit (cached blocks may be
    // among the free ones; erring towards one preemption too many is cheap).
    const int64_t first = std::min<int64_t>(static_cast<int64_t>(s->tokens.size()),
                                            std::max(cfg_.max_num_batched_tokens, 1));
    const int32_t need = kv_.blocks_needed(SeqBlocks{}, first);
    const auto now = std::chrono::steady_clock::now();
    while (!running_.empty()) {
        const bool fits = seats_held() + want <= static_cast<size_t>(cfg_.max_num_seqs) &&
                          kv_.pool().num_free() >= need;
        if (fits) return;
        const FairShare::Held held = count_seats();
        Sequence* victim = nullptr;
        for (Sequence* r : running_)
            if (fair_.yields_to(*r, static_cast<int32_t>(seats(*r)), *s, static_cast<int32_t>(want),
                                held, now) &&
                (!victim || fair_.preempt_first(*r, *victim, held)))
                victim = r;
        if (victim == nullptr) return;
        preempt(victim, out);
    }
}

void Scheduler::schedule(Sequence* s, int64_t n, SchedulerOutput& out) {
    const bool to_end = s->num_computed + n == static_cast<int64_t>(s->tokens.size());
    out.chunks.push_back({s, s->num_computed, n, to_end});
    out.n_tokens += n;
    budget_ -= n;
    // Generated tokens count double (VTC's default w_q = 2 w_p): a decode
    // costs a pass over the weights, a prompt token a share of one.
    const int64_t prompt = std::clamp<int64_t>(s->prompt_len - s->num_computed, 0, n);
    tokens_.charge(s->tenant, prompt + 2 * (n - prompt));
    if (is_long_prefill(*s, n)) ++prefills_;
    s->scheduled_step = step_;
    if (!s->times.first_scheduled) s->times.first_scheduled = std::chrono::steady_clock::now();
}

void Scheduler::settle_loaded() {
    kv_.poll_loads();
    // Back to front so that push_front keeps their admission order.
    for (size_t i = loading_.size(); i-- > 0;) {
        Sequence* s = loading_[i];
        if (!kv_.loads_done(s->blocks)) continue;
        s->num_computed = kv_.settle(s->blocks);
        s->prefix_matched = true;
        if (s->cached_at_admission < 0) s->cached_at_admission = s->num_computed;
        loading_.erase(loading_.begin() + static_cast<ptrdiff_t>(i));
        s->status = SeqStatus::Waiting;
        waiting_.push_front(s);
    }
}

bool Scheduler::begin_match(Sequence* s) {
    if (!kv_.begin_match(s->blocks, s->root, s->tokens)) {
        waiting_.remove(s);
        s->status = SeqStatus::Loading;
        loading_.push_back(s);
        return false;
    }
    s->num_computed = s->blocks.num_cached_tokens;
    s->prefix_matched = true;
    if (s->cached_at_admission < 0) s->cached_at_admission = s->num_computed;
    return true;
}

SchedulerOutput Scheduler::step() {
    SchedulerOutput out;
    ++step_;
    settle_loaded();
    budget_ = cfg_.max_num_batched_tokens;
    prefills_ = 0;
    long_prefill_taken_ = false;
    std::sort(running_.begin(), running_.end(),
              [](const Sequence* a, const Sequence* b) { return a->before(*b); });
    preempt_for_waiting(out);

    // Running sequences: decodes (one token left) first, then prefill chunks.
    const std::vector<Sequence*> order = running_;
    for (int pass = 0; pass < 2; ++pass) {
        for (Sequence* s : order) {
            if (s->status != SeqStatus::Running || s->scheduled_step == step_) continue;
            if ((pass == 0) != (s->num_remaining() == 1)) continue;
            const int64_t n = take(*s);
            if (n == 0 || (is_long_prefill(*s, n) && !prefill_slot_free())) continue;
            if (make_room(s, n, out)) schedule(s, n, out);
        }
    }

    // Admissions: the policy's pick while budget, seats and blocks last.
    while (!waiting_.empty()) {
        Sequence* s = waiting_.peek();
        // Seats count every choice: a running prompt's forks-to-be hold theirs.
        const size_t held = seats_held();
        if (held != 0 && held + seats(*s) > static_cast<size_t>(cfg_.max_num_seqs)) break;
        if (budget_ <= 0) {
            // Prefetch: the head matches now, so that its disk loads overlap
            // this step (one sequence at a time holds blocks this way).
            if (kv_.has_tiers() && loading_.empty() && !s->prefix_matched) begin_match(s);
            break;
        }
        if (!s->prefix_matched && !begin_match(s)) continue;
        const int64_t n = take(*s);
        // Its prompt's turn comes later: the head keeps its matched prefix.
        if (n > 0 && is_long_prefill(*s, n) && !prefill_slot_free()) break;
        if (n == 0 || !kv_.ensure(s->blocks, s->num_computed + n)) {
            const int64_t total = s->num_computed + n;
            kv_.free(s->blocks);
            s->num_computed = 0;
            s->prefix_matched = false;
            if (n > 0 && never_fits(total)) {
                fail(s,
                     fmt::format("the KV cache is too small for this request: {} tokens need "
                                 "more blocks than the cache holds",
                                 total),
                     out);
                continue;
            }
            // It waits for blocks; other waiting sequences' held prefixes
            // must not keep it waiting.
            release_waiting_holds(s);
            break;
        }
        waiting_.remove(s);
        s->status = SeqStatus::Running;
        running_.push_back(s);
        schedule(s, n, out);
    }
    return out;
}

}  // namespace ig
