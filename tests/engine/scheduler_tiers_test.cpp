// Scheduler over a pool with a disk tier below it: a request whose prefix is
// on disk waits in the loading state while its blocks are read, and the
// running sequences keep being scheduled meanwhile (the loads overlap their
// steps). No model: the test advances num_computed itself.
#include <gtest/gtest.h>

#include <memory>
#include <numeric>

#include "engine/scheduler.h"
#include "kvcache/kv_tiers.h"
#include "support/test_support.h"

namespace ig {
namespace {

constexpr int32_t kBlocks = 32, kBlockTokens = 4;

class SchedulerTiersTest : public ::testing::Test {
  protected:
    void SetUp() override {
        KvTiersConfig c;
        c.disk_dir = dir_.path().string();
        c.disk_bytes = 1 << 20;
        c.layout_key = "fp|test";
        c.block_tokens = kBlockTokens;
        auto t = KvTiers::create(c, arena_);
        ASSERT_TRUE(t.ok()) << t.error().message;
        tiers_ = std::move(t).value();
        pool_.set_evict_hook([this](BlockId id, const BlockHash& h) { tiers_->on_evict(id, h); });
        kv_.set_tiers(tiers_.get());
    }
    Sequence* add(std::vector<int32_t> tokens) {
        auto s = std::make_unique<Sequence>();
        s->prompt_len = static_cast<int64_t>(tokens.size());
        s->tokens = std::move(tokens);
        s->arrival_seq = next_++;
        s->root = root_hash("test-model", "");
        sched_.add_waiting(s.get());
        seqs_.push_back(std::move(s));
        return seqs_.back().get();
    }
    void run(const SchedulerOutput& out) {
        for (const ScheduledChunk& c : out.chunks) {
            ASSERT_EQ(c.start, c.seq->num_computed);
            c.seq->num_computed += c.n;
            kv_.publish_full(c.seq->blocks, c.seq->root, c.seq->tokens, c.seq->num_computed);
            if (c.logits) c.seq->tokens.push_back(7);
        }
    }
    static int64_t n_of(const SchedulerOutput& out, const Sequence* s) {
        for (const ScheduledChunk& c : out.chunks)
            if (c.seq == s) return c.n;
        return 0;
    }
    static std::vector<int32_t> tokens(int32_t first, int32_t n) {
        std::vector<int32_t> v(static_cast<size_t>(n));
        std::iota(v.begin(), v.end(), first);
        return v;
    }
    // Prefills `prompt` to the end, finishes it, then pushes its blocks out of
    // the pool onto disk with a prompt that needs every block.
    void spill(const std::vector<int32_t>& prompt) {
        Sequence* p = add(prompt);
        while (p->num_remaining() > 1) run(sched_.step());
        sched_.remove(p);
        Sequence* filler = add(tokens(5000, kBlocks * kBlockTokens - 1));
        while (filler->num_remaining() > 1) run(sched_.step());
        sched_.remove(filler);
        tiers_->flush();
    }

    test::TempDir dir_;
    KvArena arena_ = KvArena::create(kBlocks, 64).value();
    BlockPool pool_{kBlocks};
    KvCacheManager kv_{pool_, kBlockTokens};
    std::unique_ptr<KvTiers> tiers_;
    Scheduler sched_{{8, 64, true}, kv_};
    std::vector<std::unique_ptr<Sequence>> seqs_;
    uint64_t next_ = 0;
};

TEST_F(SchedulerTiersTest, DiskLoadsOverlapRunningDecodes) {
    const auto prompt = tokens(100, 17);  // 4 full blocks + 1 token
    spill(prompt);

    Sequence* a = add(tokens(900, 5));
    run(sched_.step());
    ASSERT_EQ(a->num_remaining(), 1);  // decoding from now on

    tiers_->set_loads_paused(true);
    auto b_prompt = prompt;
    b_prompt.push_back(55);
    Sequence* b = add(b_prompt);
    for (int i = 0; i < 3; ++i) {
        const SchedulerOutput out = sched_.step();
        EXPECT_EQ(n_of(out, a), 1) << "step " << i << ": the decode must not wait for the disk";
        EXPECT_EQ(n_of(out, b), 0);
        EXPECT_EQ(b->status, SeqStatus::Loading);
        run(out);
    }
    EXPECT_EQ(sched_.num_loading(), 1u);
    EXPECT_EQ(sched_.num_waiting(), 1u);

    tiers_->set_loads_paused(false);
    tiers_->wait_loads();
    const SchedulerOutput out = sched_.step();
    EXPECT_EQ(n_of(out, a), 1);
    EXPECT_EQ(b->status, SeqStatus::Running);
    EXPECT_EQ(b->cached_at_admission, 16);
    EXPECT_EQ(n_of(out, b), 2);  // only what the disk did not hold
    EXPECT_EQ(kv_.stats().tier_hits_tokens, 16u);
    run(out);
    sched_.remove(a);
    sched_.remove(b);
    EXPECT_EQ(pool_.num_used(), 0);
    EXPECT_TRUE(pool_.check().ok());
}

TEST_F(SchedulerTiersTest, CancelWhileLoadingFreesEverything) {
    const auto prompt = tokens(100, 17);
    spill(prompt);
    tiers_->set_loads_paused(true);
    Sequence* b = add(prompt);
    Sequence* c = add(prompt);  // same prefix: shares b's loads
    run(sched_.step());
    EXPECT_EQ(b->status, SeqStatus::Loading);
    EXPECT_EQ(c->status, SeqStatus::Loading);
    EXPECT_EQ(b->blocks.table, c->blocks.table);
    sched_.remove(b);
    EXPECT_EQ(sched_.num_waiting(), 1u);

    tiers_->set_loads_paused(false);
    tiers_->wait_loads();
    const SchedulerOutput out = sched_.step();
    EXPECT_EQ(c->status, SeqStatus::Running);
    EXPECT_EQ(n_of(out, c), 1);
    run(out);
    sched_.remove(c);
    EXPECT_EQ(pool_.num_used(), 0);
    EXPECT_TRUE(pool_.check().ok());
}

TEST_F(SchedulerTiersTest, HeadPrefetchesWhenTheBudgetIsSpent) {
    const auto prompt = tokens(100, 17);
    spill(prompt);
    Sequence* big = add(tokens(3000, 40));   // more than the 64-token budget after...
    Sequence* big2 = add(tokens(4000, 40));  // ...this one: 80 tokens in all
    tiers_->set_loads_paused(true);
    Sequence* b = add(prompt);
    const SchedulerOutput out = sched_.step();
    EXPECT_EQ(n_of(out, big), 40);
    EXPECT_EQ(n_of(out, big2), 24);
    // No budget left for b, but its disk loads have started.
    EXPECT_EQ(b->status, SeqStatus::Loading);
    EXPECT_EQ(kv_.loads_in_flight(), 4u);
    run(out);
    tiers_->set_loads_paused(false);
    tiers_->wait_loads();
    run(sched_.step());
    EXPECT_EQ(b->cached_at_admission, 16);
    for (Sequence* s : {big, big2, b}) sched_.remove(s);
    EXPECT_EQ(pool_.num_used(), 0);
    EXPECT_TRUE(pool_.check().ok());
}

// Issue 23 A: blocks held by tier loads in flight are not "the cache is too
// small". A request that fits waits for them, never fails.
TEST_F(SchedulerTiersTest, AnArrivalWaitsWhileTierLoadsHoldTheBlocks) {
    const auto prompt = tokens(100, 27 * kBlockTokens + 1);  // 27 full blocks on disk
    spill(prompt);
    tiers_->set_loads_paused(true);
    Sequence* l = add(prompt);
    run(sched_.step());
    ASSERT_EQ(l->status, SeqStatus::Loading);
    Sequence* s = add(tokens(7000, 30));  // 8 blocks; 5 are free
    for (int i = 0; i < 3; ++i) {
        const SchedulerOutput out = sched_.step();
        EXPECT_TRUE(out.failed.empty()) << out.failed[0].error;
        EXPECT_EQ(s->status, SeqStatus::Waiting);
    }
    tiers_->set_loads_paused(false);
    tiers_->wait_loads();
    for (int i = 0; i < 200 && s->status != SeqStatus::Finished; ++i) {
        const SchedulerOutput out = sched_.step();
        ASSERT_TRUE(out.failed.empty()) << out.failed[0].error;
        run(out);
        for (Sequence* q : {l, s})
            if (q->status == SeqStatus::Running && q->num_generated() >= 2) sched_.remove(q);
    }
    EXPECT_EQ(l->status, SeqStatus::Finished);
    EXPECT_EQ(s->status, SeqStatus::Finished);
    EXPECT_EQ(l->cached_at_admission, 27 * kBlockTokens);
    EXPECT_EQ(pool_.num_used(), 0);
    EXPECT_TRUE(pool_.check().ok());
}

// A running sequence alone needing a block while loads hold the rest waits
// (keeping its blocks) instead of failing.
TEST_F(SchedulerTiersTest, ARunningSequenceWaitsWhileTierLoadsHoldTheBlocks) {
    const auto prompt = tokens(100, 17);  // 4 full blocks on disk
    spill(prompt);
    Sequence* r = add(tokens(9000, 111));  // 28 blocks
    while (r->num_remaining() > 1) run(sched_.step());
    tiers_->set_loads_paused(true);
    Sequence* l = add(prompt);
    run(sched_.step());  // r: position 111 fits its 28 blocks; l: loading 4
    ASSERT_EQ(l->status, SeqStatus::Loading);
    ASSERT_EQ(pool_.num_free(), 0);
    for (int i = 0; i < 3; ++i) {
        const SchedulerOutput out = sched_.step();  // r needs a 29th block
        ASSERT_TRUE(out.failed.empty()) << out.failed[0].error;
        EXPECT_EQ(n_of(out, r), 0);
        EXPECT_EQ(r->status, SeqStatus::Running);
    }
    tiers_->set_loads_paused(false);
    tiers_->wait_loads();
    SchedulerOutput out = sched_.step();
    ASSERT_TRUE(out.failed.empty()) << out.failed[0].error;
    EXPECT_EQ(n_of(out, r), 1);
    run(out);
    sched_.remove(r);
    // l lost its released prefix's tail to r's block: it reloads it from disk.
    for (int i = 0; i < 50 && l->status != SeqStatus::Running; ++i) {
        tiers_->wait_loads();
        out = sched_.step();
        ASSERT_TRUE(out.failed.empty()) << out.failed[0].error;
    }
    EXPECT_EQ(l->status, SeqStatus::Running);
    EXPECT_EQ(l->cached_at_admission, 16);
    run(out);
    sched_.remove(l);
    EXPECT_EQ(pool_.num_used(), 0);
    EXPECT_TRUE(pool_.check().ok());
}

}  // namespace
}  // namespace ig
