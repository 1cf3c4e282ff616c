// Fairness between tenants: TokenCounters on its own, then the scheduler
// serving backlogged tenants in proportion to their weights (the test plays
// the model's part, as in scheduler_test.cpp).
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <numeric>

#include "engine/scheduler.h"
#include "engine/token_counters.h"

namespace ig {
namespace {

TEST(TokenCounters, ChargesAreDividedByTheWeight) {
    TokenCounters c;
    c.arrive(1, 1.0, "a");
    c.arrive(2, 4.0, "b");
    c.charge(1, 100);
    c.charge(2, 100);
    EXPECT_DOUBLE_EQ(c.counter(1), 100.0);
    EXPECT_DOUBLE_EQ(c.counter(2), 25.0);
    EXPECT_EQ(c.active(), 2u);
}

TEST(TokenCounters, ANewlyActiveTenantIsLiftedToTheActiveMinimum) {
    TokenCounters c;
    c.arrive(1, 1.0, "a");
    c.arrive(2, 1.0, "b");
    c.charge(1, 500);
    c.charge(2, 300);
    // Tenant 3 was idle: it starts level with the least served active tenant.
    c.arrive(3, 1.0, "c");
    EXPECT_DOUBLE_EQ(c.counter(3), 300.0);
    // Leaving and coming back banks nothing either.
    c.leave(3);
    c.charge(2, 1000);  // b: 1300, a: 500 is now the minimum
    c.arrive(3, 1.0, "c");
    EXPECT_DOUBLE_EQ(c.counter(3), 500.0);
    // A tenant ahead of the others keeps its lead when it returns.
    c.charge(3, 2000);  // 2500
    c.leave(3);
    c.arrive(3, 1.0, "c");
    EXPECT_DOUBLE_EQ(c.counter(3), 2500.0);
    // Several sequences of one tenant: active until the last leaves.
    c.arrive(3, 1.0, "c");
    c.leave(3);
    EXPECT_EQ(c.active(), 3u);
    c.leave(3);
    EXPECT_EQ(c.active(), 2u);
}

TEST(TokenCounters, TimeAloneBanksNoDebt) {
    TokenCounters c;
    c.arrive(1, 1.0, "a");
    c.charge(1, 5000);  // a had the engine to itself
    c.leave(1);
    // b arrives into an idle engine, then a comes back: they start level.
    c.arrive(2, 1.0, "b");
    EXPECT_DOUBLE_EQ(c.counter(2), 5000.0);
    c.arrive(1, 1.0, "a");
    EXPECT_DOUBLE_EQ(c.counter(1), 5000.0);
}

TEST(TokenCounters, LagsAreCountedFromTheLeastServedActiveTenant) {
    TokenCounters c;
    c.arrive(1, 1.0, "a");
    c.arrive(2, 2.0, "b");
    c.charge(1, 100);
    c.charge(2, 400);  // 200 weighted
    std::vector<TenantLag> lags;
    c.lags(lags);
    ASSERT_EQ(lags.size(), 2u);
    std::map<std::string, double> by;
    for (const TenantLag& l : lags) by[l.tenant] = l.tokens;
    EXPECT_DOUBLE_EQ(by["a"], 0.0);
    EXPECT_DOUBLE_EQ(by["b"], 100.0);
    c.leave(1);
    c.lags(lags);
    ASSERT_EQ(lags.size(), 1u);
    EXPECT_DOUBLE_EQ(lags[0].tokens, 0.0);
}

// Two tenants keep `backlog` requests waiting each; every request generates
// `gen` tokens and is replaced when it ends. Returns generated tokens per tenant.
class TenantSchedulerTest : public ::testing::Test {
  protected:
    void init(SchedulerConfig cfg) {
        pool_ = std::make_unique<BlockPool>(512);
        kv_ = std::make_unique<KvCacheManager>(*pool_, 4, true);
        sched_ = std::make_unique<Scheduler>(cfg, *kv_);
    }
    Sequence* add(uint64_t tenant, double weight, int64_t prompt_len) {
        auto s = std::make_unique<Sequence>();
        s->tenant = tenant;
        s->tenant_weight = weight;
        s->group = next_ + 1000;  // every request its own group
        s->tokens.resize(static_cast<size_t>(prompt_len));
        std::iota(s->tokens.begin(), s->tokens.end(), static_cast<int32_t>(next_ * 1000));
        s->prompt_len = prompt_len;
        s->arrival_seq = next_++;
        s->root = root_hash("test-model", std::to_string(tenant));
        sched_->add_waiting(s.get());
        seqs_.push_back(std::move(s));
        return seqs_.back().get();
    }
    // Runs `steps` steps; returns tokens generated per tenant.
    std::map<uint64_t, int64_t> run_backlogged(const std::map<uint64_t, double>& weights,
                                               int backlog, int64_t prompt, int64_t gen,
                                               int steps) {
        for (const auto& [t, w] : weights)
            for (int i = 0; i < backlog; ++i) add(t, w, prompt);
        std::map<uint64_t, int64_t> generated;
        for (int i = 0; i < steps; ++i) {
            const SchedulerOutput out = sched_->step();
            EXPECT_TRUE(out.failed.empty());
            for (const ScheduledChunk& c : out.chunks) {
                c.seq->num_computed += c.n;
                if (!c.logits) continue;
                c.seq->tokens.push_back(7);
                ++generated[c.seq->tenant];
            }
            for (auto& s : seqs_) {
                if (s->status != SeqStatus::Running || s->num_generated() < gen) continue;
                sched_->remove(s.get());
                add(s->tenant, s->tenant_weight, prompt);
            }
        }
        return generated;
    }
    double share(const std::map<uint64_t, int64_t>& g, uint64_t t) {
        int64_t total = 0;
        for (const auto& [k, v] : g) total += v;
        return static_cast<double>(g.at(t)) / static_cast<double>(total);
    }

    std::unique_ptr<BlockPool> pool_;
    std::unique_ptr<KvCacheManager> kv_;
    std::unique_ptr<Scheduler> sched_;
    std::vector<std::unique_ptr<Sequence>> seqs_;
    uint64_t next_ = 0;
};

TEST_F(TenantSchedulerTest, BackloggedTenantsGetTokensInProportionToTheirWeights) {
    for (const double wa : {1.0, 3.0}) {
        init({8, 64, true});
        // Tenant 1 floods with four times the requests of tenant 2.
        std::map<uint64_t, double> weights{{1, wa}, {2, 1.0}};
        seqs_.clear();
        for (int i = 0; i < 24; ++i) add(1, wa, 6);
        const auto g = run_backlogged(weights, 6, 6, 12, 3000);
        const double want = wa / (wa + 1.0);
        EXPECT_NEAR(share(g, 1), want, 0.1 * want) << "weights " << wa << ":1";
        EXPECT_NEAR(share(g, 2), 1 - want, 0.1 * (1 - want)) << "weights " << wa << ":1";
    }
}

TEST_F(TenantSchedulerTest, WithoutFairShareTheFloodingTenantTakesMore) {
    SchedulerConfig cfg{8, 64, true};
    cfg.tenant_fair_share = false;
    init(cfg);
    for (int i = 0; i < 24; ++i) add(1, 1.0, 6);
    const auto g = run_backlogged({{1, 1.0}, {2, 1.0}}, 6, 6, 12, 3000);
    EXPECT_GT(share(g, 1), 0.7);  // its share of the queue, not of the weights
}

TEST_F(TenantSchedulerTest, ATenantFarBehindTakesASeatFromOneFarAhead) {
    init({4, 64, true});
    for (int i = 0; i < 8; ++i) add(1, 1.0, 6);
    for (int i = 0; i < 10; ++i) {
        const SchedulerOutput out = sched_->step();
        for (const ScheduledChunk& c : out.chunks) {
            c.seq->num_computed += c.n;
            if (c.logits) c.seq->tokens.push_back(7);
        }
    }
    ASSERT_EQ(sched_->num_running(), 4u);
    // Tenant 2 arrives, lifted to tenant 1's counter: once tenant 1 is ahead
    // (its next decodes), tenant 2 takes a seat.
    Sequence* b = add(2, 1.0, 6);
    int waited = 0;
    while (b->status == SeqStatus::Waiting && waited < 100) {
        const SchedulerOutput out = sched_->step();
        for (const ScheduledChunk& c : out.chunks) {
            c.seq->num_computed += c.n;
            if (c.logits) c.seq->tokens.push_back(7);
        }
        for (const Sequence* p : out.preempted) EXPECT_EQ(p->tenant, 1u);
        ++waited;
    }
    EXPECT_EQ(b->status, SeqStatus::Running);
    EXPECT_LE(waited, 2);
    // Then no seat goes back and forth: tenant 1 (3 seats) does not take it back.
    for (int i = 0; i < 20; ++i) {
        const SchedulerOutput out = sched_->step();
        EXPECT_TRUE(out.preempted.empty());
        for (const ScheduledChunk& c : out.chunks) {
            c.seq->num_computed += c.n;
            if (c.logits) c.seq->tokens.push_back(7);
        }
    }
    EXPECT_EQ(b->status, SeqStatus::Running);
    EXPECT_TRUE(pool_->check().ok());
}

}  // namespace
}  // namespace ig
