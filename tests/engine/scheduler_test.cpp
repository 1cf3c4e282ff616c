// Scheduler decisions over a real BlockPool/KvCacheManager, no model: the
// test plays the model's part by advancing num_computed and appending tokens.
#include "engine/scheduler.h"

#include <gtest/gtest.h>

#include <memory>
#include <numeric>

namespace ig {
namespace {

class SchedulerTest : public ::testing::Test {
  protected:
    void init(int32_t blocks, int32_t block_tokens, SchedulerConfig cfg) {
        pool_ = std::make_unique<BlockPool>(blocks);
        kv_ = std::make_unique<KvCacheManager>(*pool_, block_tokens, true);
        sched_ = std::make_unique<Scheduler>(cfg, *kv_);
    }
    Sequence* add(int64_t prompt_len, int32_t priority = 0, int32_t first_token = 0,
                  uint64_t group = 0) {
        auto s = std::make_unique<Sequence>();
        s->group = group;
        s->tokens.resize(static_cast<size_t>(prompt_len));
        std::iota(s->tokens.begin(), s->tokens.end(), first_token);
        s->prompt_len = prompt_len;
        s->priority = priority;
        s->arrival_seq = next_++;
        s->root = root_hash("test-model", "");
        sched_->add_waiting(s.get());
        seqs_.push_back(std::move(s));
        return seqs_.back().get();
    }
    // The model's part: KV written, a token sampled where logits were asked for.
    void run(const SchedulerOutput& out) {
        for (const ScheduledChunk& c : out.chunks) {
            ASSERT_EQ(c.start, c.seq->num_computed);
            c.seq->num_computed += c.n;
            kv_->publish_full(c.seq->blocks, c.seq->root, c.seq->tokens, c.seq->num_computed);
            if (c.logits) c.seq->tokens.push_back(7);
        }
    }
    int64_t n_of(const SchedulerOutput& out, const Sequence* s) {
        for (const ScheduledChunk& c : out.chunks)
            if (c.seq == s) return c.n;
        return 0;
    }

    std::unique_ptr<BlockPool> pool_;
    std::unique_ptr<KvCacheManager> kv_;
    std::unique_ptr<Scheduler> sched_;
    std::vector<std::unique_ptr<Sequence>> seqs_;
    uint64_t next_ = 0;
};

// n > 1: a prompt's choices to be forked hold seats from its admission on, so
// max_num_seqs bounds every choice of every admitted request.
TEST_F(SchedulerTest, SeatsCountEveryChoiceOfAdmittedRequests) {
    init(256, 4, SchedulerConfig{8, 512, true});
    std::vector<Sequence*> seqs;
    for (int i = 0; i < 20; ++i) {
        seqs.push_back(add(5, 0, 100 * i));
        seqs.back()->pending_forks = 3;  // n = 4
    }
    SchedulerOutput out = sched_->step();
    EXPECT_EQ(sched_->num_running(), 2u);  // 2 prompts x 4 choices = 8 seats
    EXPECT_EQ(out.chunks.size(), 2u);
    // The engine forks after the prefill: the seats stay taken.
    run(out);
    for (Sequence* s : seqs)
        if (s->status == SeqStatus::Running) s->pending_forks = 0;
    for (int c = 0; c < 6; ++c) {
        auto f = std::make_unique<Sequence>();
        f->tokens = seqs[c / 3]->tokens;
        f->prompt_len = 5;
        f->num_computed = 5;
        f->arrival_seq = next_++;
        f->root = root_hash("test-model", "");
        ASSERT_TRUE(kv_->fork(seqs[c / 3]->blocks, f->blocks, 5).ok());
        f->status = SeqStatus::Running;
        sched_->add_running(f.get());
        seqs_.push_back(std::move(f));
    }
    out = sched_->step();
    EXPECT_EQ(sched_->num_running(), 8u);
    EXPECT_EQ(sched_->num_waiting(), 18u);
}

TEST_F(SchedulerTest, PartialPrefillLimitAdmitsOnePromptPerStep) {
    SchedulerConfig cfg{8, 64, true};
    cfg.max_num_partial_prefills = 1;
    init(64, 4, cfg);
    Sequence* a = add(5);
    Sequence* b = add(5, 0, 100);
    Sequence* c = add(5, 0, 200);
    SchedulerOutput out = sched_->step();
    EXPECT_EQ(n_of(out, a), 5);
    EXPECT_EQ(n_of(out, b), 0);
    EXPECT_EQ(sched_->num_waiting(), 2u);
    run(out);
    out = sched_->step();  // a decodes, b's prompt joins
    EXPECT_EQ(n_of(out, a), 1);
    EXPECT_EQ(n_of(out, b), 5);
    EXPECT_EQ(n_of(out, c), 0);
    run(out);
    out = sched_->step();
    EXPECT_EQ(n_of(out, a), 1);
    EXPECT_EQ(n_of(out, b), 1);
    EXPECT_EQ(n_of(out, c), 5);
    run(out);

    // A running chunked prompt holds the slot: the next arrival waits for its end.
    Sequence* d = add(100, 0, 300);
    out = sched_->step();
    EXPECT_EQ(n_of(out, d), 61);  // 64 - 3 decodes
    run(out);
    Sequence* e = add(5, 0, 400);
    out = sched_->step();
    EXPECT_EQ(n_of(out, d), 39);
    EXPECT_EQ(n_of(out, e), 0);
    run(out);
    out = sched_->step();
    EXPECT_EQ(n_of(out, d), 1);
    EXPECT_EQ(n_of(out, e), 5);
    for (Sequence* s : {a, b, c, d, e}) sched_->remove(s);
    EXPECT_EQ(pool_->num_used(), 0);
}

TEST_F(SchedulerTest, ShortPromptsAreBatchedPastThePartialPrefillLimit) {
    SchedulerConfig cfg{8, 64, true};
    cfg.max_num_partial_prefills = 1;
    cfg.long_prefill_tokens = 8;
    init(64, 4, cfg);
    Sequence* a = add(20);
    Sequence* b = add(5, 0, 100);
    Sequence* c = add(20, 0, 200);
    Sequence* d = add(8, 0, 300);
    SchedulerOutput out = sched_->step();
    EXPECT_EQ(n_of(out, a), 20);  // the one long prompt of the step
    EXPECT_EQ(n_of(out, b), 5);   // short: batched
    EXPECT_EQ(n_of(out, c), 0);   // long: next step; FCFS keeps d behind it
    EXPECT_EQ(n_of(out, d), 0);
    run(out);
    out = sched_->step();
    EXPECT_EQ(n_of(out, c), 20);
    EXPECT_EQ(n_of(out, d), 8);
    for (Sequence* s : {a, b, c, d}) sched_->remove(s);
    EXPECT_EQ(pool_->num_used(), 0);
}

TEST_F(SchedulerTest, DecodesFirstThenChunksUnderTheTokenBudget) {
    init(64, 4, {8, 32, true});
    Sequence* a = add(5);
    Sequence* b = add(6, 0, 100);
    run(sched_->step());  // both prefilled (11 tokens)
    ASSERT_EQ(a->num_remaining(), 1);
    Sequence* c = add(100, 0, 200);
    auto out = sched_->step();
    EXPECT_EQ(n_of(out, a), 1);
    EXPECT_EQ(n_of(out, b), 1);
    EXPECT_EQ(n_of(out, c), 30);  // the rest of the budget
    EXPECT_EQ(out.n_tokens, 32);
    EXPECT_FALSE(out.chunks.back().logits);
    run(out);
    out = sched_->step();  // c continues as a running partial prefill after the decodes
    EXPECT_EQ(out.chunks[0].seq, a);
    EXPECT_EQ(n_of(out, c), 30);
    EXPECT_EQ(c->num_computed, 30);
}

TEST_F(SchedulerTest, WithoutChunkingAPromptIsPrefilledInOneStep) {
    init(64, 4, {8, 32, false});
    Sequence* a = add(100);
    Sequence* b = add(90);
    auto out = sched_->step();
    EXPECT_EQ(n_of(out, a), 100);
    EXPECT_EQ(n_of(out, b), 0);  // one over-budget prefill per step
    EXPECT_TRUE(out.chunks[0].logits);
}

TEST_F(SchedulerTest, PreemptsTheLatestArrivalWhenBlocksRunOut) {
    init(4, 4, {8, 64, true});
    Sequence* a = add(8);
    Sequence* b = add(8, 0, 50);
    run(sched_->step());
    EXPECT_EQ(pool_->num_free(), 0);
    auto out = sched_->step();  // a's and b's 9th token need a third block each
    ASSERT_EQ(out.preempted.size(), 1u);
    EXPECT_EQ(out.preempted[0], b);
    EXPECT_EQ(b->status, SeqStatus::Waiting);
    EXPECT_EQ(b->num_computed, 0);
    EXPECT_TRUE(b->blocks.table.empty());
    EXPECT_EQ(b->tokens.size(), 9u);  // prompt + generated, recomputed later
    EXPECT_EQ(n_of(out, a), 1);
    EXPECT_EQ(sched_->preemptions(), 1u);
    EXPECT_TRUE(pool_->check().ok());
}

TEST_F(SchedulerTest, PreemptsTheLowestPriorityFirst) {
    init(4, 4, {8, 64, true});
    Sequence* batch = add(8, /*priority=*/5);
    Sequence* inter = add(8, /*priority=*/0, 50);
    run(sched_->step());
    auto out = sched_->step();
    ASSERT_EQ(out.preempted.size(), 1u);
    EXPECT_EQ(out.preempted[0], batch);
    EXPECT_EQ(n_of(out, inter), 1);
}

TEST_F(SchedulerTest, AnUrgentArrivalPreemptsLessUrgentRunningForASeat) {
    init(64, 4, {2, 64, true});
    Sequence* b1 = add(6, /*priority=*/5);
    Sequence* b2 = add(6, /*priority=*/5, 100);
    run(sched_->step());
    ASSERT_EQ(sched_->num_running(), 2u);
    Sequence* urgent = add(6, /*priority=*/0, 200);
    auto out = sched_->step();
    ASSERT_EQ(out.preempted.size(), 1u);
    EXPECT_EQ(out.preempted[0], b2);  // the later of the two
    EXPECT_EQ(n_of(out, urgent), 6);
    EXPECT_EQ(n_of(out, b1), 1);
    EXPECT_TRUE(b2->blocks.table.empty());
    run(out);
    EXPECT_TRUE(pool_->check().ok());
}

TEST_F(SchedulerTest, AnArrivalOfTheSameClassWaitsForASeat) {
    init(64, 4, {2, 64, true});
    add(6);
    add(6, 0, 100);
    run(sched_->step());
    Sequence* late = add(6, 0, 200);
    auto out = sched_->step();
    EXPECT_TRUE(out.preempted.empty());
    EXPECT_EQ(n_of(out, late), 0);
    EXPECT_EQ(sched_->num_waiting(), 1u);
}

TEST_F(SchedulerTest, AnUrgentArrivalPreemptsLessUrgentRunningForBlocks) {
    init(6, 4, {8, 64, true});
    Sequence* batch = add(20, /*priority=*/5);  // 5 blocks + 1 for its next token
    run(sched_->step());
    Sequence* urgent = add(8, /*priority=*/0, 100);
    auto out = sched_->step();
    ASSERT_EQ(out.preempted.size(), 1u);
    EXPECT_EQ(out.preempted[0], batch);
    EXPECT_EQ(n_of(out, urgent), 8);
    run(out);
    EXPECT_TRUE(pool_->check().ok());
}

TEST_F(SchedulerTest, ARequestThatCanNeverFitFails) {
    init(2, 4, {8, 64, true});
    Sequence* big = add(12);
    Sequence* ok = add(3, 0, 40);
    auto out = sched_->step();
    ASSERT_EQ(out.failed.size(), 1u);
    EXPECT_EQ(out.failed[0].seq, big);
    EXPECT_NE(out.failed[0].error.find("too small"), std::string::npos);
    EXPECT_EQ(n_of(out, ok), 3);
    run(out);
    // Alone, `ok` grows until the cache is exhausted: then it fails too.
    SchedulerOutput grow;
    for (int i = 0; i < 10 && grow.failed.empty(); ++i) {
        grow = sched_->step();
        run(grow);
    }
    ASSERT_EQ(grow.failed.size(), 1u);
    EXPECT_EQ(grow.failed[0].seq, ok);
    EXPECT_EQ(ok->tokens.size(), 9u);  // 8 fit in the cache; the 9th token's KV does not
    EXPECT_EQ(pool_->num_used(), 0);
}

TEST_F(SchedulerTest, APrefixHeldByARunningSequenceIsSharedAtOnce) {
    init(32, 4, {8, 64, true});
    Sequence* a = add(18);
    run(sched_->step());
    Sequence* b = add(18);  // same tokens
    auto out = sched_->step();
    EXPECT_EQ(b->cached_at_admission, 16);
    EXPECT_EQ(n_of(out, b), 2);
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(a->blocks.table[i], b->blocks.table[i]);
        EXPECT_EQ(pool_->refcount(a->blocks.table[i]), 2);
    }
}

TEST_F(SchedulerTest, MaxNumSeqsCapsAdmissions) {
    init(64, 4, {2, 64, true});
    add(3);
    add(3);
    Sequence* c = add(3);
    auto out = sched_->step();
    EXPECT_EQ(out.chunks.size(), 2u);
    EXPECT_EQ(c->status, SeqStatus::Waiting);
    EXPECT_EQ(sched_->num_running(), 2u);
}

TEST_F(SchedulerTest, RemoveFreesBlocksOfRunningAndWaiting) {
    init(16, 4, {1, 64, true});
    Sequence* a = add(9);
    Sequence* b = add(5);
    run(sched_->step());
    EXPECT_EQ(b->status, SeqStatus::Waiting);
    sched_->remove(a);
    sched_->remove(b);
    EXPECT_EQ(pool_->num_used(), 0);
    EXPECT_EQ(sched_->num_running() + sched_->num_waiting(), 0u);
    EXPECT_TRUE(pool_->check().ok());
}

// Issue 23 B: one request with many prompts may use every seat alone, but a
// request arriving later takes a seat from it at once (max-min fair share).
TEST_F(SchedulerTest, AFloodingRequestGivesASeatToAnotherRequest) {
    init(256, 4, {4, 64, true});
    for (int i = 0; i < 12; ++i) add(3, 0, 10 * i, /*group=*/1);
    run(sched_->step());
    ASSERT_EQ(sched_->num_running(), 4u);  // alone: every seat
    run(sched_->step());
    Sequence* victim = add(3, 0, 500, /*group=*/2);
    auto out = sched_->step();
    ASSERT_EQ(out.preempted.size(), 1u);
    EXPECT_EQ(out.preempted[0]->group, 1u);
    EXPECT_EQ(n_of(out, victim), 3);
    EXPECT_EQ(sched_->num_running(), 4u);
    run(out);
    // Stable: the flood keeps its three seats while the victim runs.
    out = sched_->step();
    EXPECT_TRUE(out.preempted.empty());
    EXPECT_EQ(n_of(out, victim), 1);
    EXPECT_TRUE(pool_->check().ok());
}

TEST_F(SchedulerTest, TwoFloodingRequestsSplitTheSeats) {
    init(256, 4, {4, 64, true});
    for (int i = 0; i < 10; ++i) add(3, 0, 10 * i, /*group=*/1);
    run(sched_->step());
    for (int i = 0; i < 10; ++i) add(3, 0, 1000 + 10 * i, /*group=*/2);
    for (int i = 0; i < 4; ++i) run(sched_->step());
    int g1 = 0, g2 = 0;
    for (const auto& s : seqs_)
        if (s->status == SeqStatus::Running) ++(s->group == 1 ? g1 : g2);
    EXPECT_EQ(g1, 2);
    EXPECT_EQ(g2, 2);
    // No seat goes back and forth between two equal shares.
    const auto out = sched_->step();
    EXPECT_TRUE(out.preempted.empty());
}

TEST_F(SchedulerTest, TheRequestHoldingFewerSeatsIsAdmittedFirst) {
    init(256, 4, {3, 64, true});
    for (int i = 0; i < 6; ++i) add(3, 0, 10 * i, /*group=*/1);
    run(sched_->step());  // group 1 holds all 3 seats
    Sequence* other = add(3, 0, 500, /*group=*/2);
    sched_->remove(seqs_[0].get());  // a seat frees: group 2 gets it, not group 1's next
    auto out = sched_->step();
    EXPECT_EQ(n_of(out, other), 3);
    EXPECT_TRUE(out.preempted.empty());
}

// Aging: a low class that has waited long enough goes before a newer urgent
// arrival; with aging off, strict priority.
TEST_F(SchedulerTest, PriorityAgingLetsALowClassThatWaitedGoFirst) {
    for (const double aging : {0.0, 1.0}) {
        SchedulerConfig c{1, 64, true};
        c.priority_aging_seconds = aging;
        init(64, 4, c);
        Sequence* low = add(3, /*priority=*/9, 0, 1);
        low->times.arrival = std::chrono::steady_clock::now() - std::chrono::seconds(20);
        Sequence* urgent = add(3, /*priority=*/0, 100, 2);
        const auto out = sched_->step();
        if (aging > 0) {
            EXPECT_EQ(n_of(out, low), 3);
            EXPECT_EQ(n_of(out, urgent), 0);
        } else {
            EXPECT_EQ(n_of(out, low), 0);
            EXPECT_EQ(n_of(out, urgent), 3);
        }
        seqs_.clear();
    }
}

TEST_F(SchedulerTest, AnAgedRunningSequenceIsNotPreemptedByANewUrgentOne) {
    SchedulerConfig c{1, 64, true};
    c.priority_aging_seconds = 1.0;
    init(64, 4, c);
    Sequence* low = add(3, /*priority=*/5, 0, 1);
    low->times.arrival = std::chrono::steady_clock::now() - std::chrono::seconds(10);
    run(sched_->step());
    Sequence* urgent = add(3, /*priority=*/0, 100, 2);
    auto out = sched_->step();
    EXPECT_TRUE(out.preempted.empty());
    EXPECT_EQ(n_of(out, low), 1);
    EXPECT_EQ(n_of(out, urgent), 0);
}

}  // namespace
}  // namespace ig
