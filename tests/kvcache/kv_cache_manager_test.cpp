#include "kvcache/kv_cache_manager.h"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

namespace ig {
namespace {

constexpr int32_t kBt = 4;

std::vector<int32_t> iota_tokens(int n, int start = 100) {
    std::vector<int32_t> v(static_cast<size_t>(n));
    std::iota(v.begin(), v.end(), start);
    return v;
}

void expect_ok(const BlockPool& p) {
    const Status s = p.check();
    ASSERT_TRUE(s.ok()) << s.error().message;
}

// Admits, allocates and "computes" a whole prompt, publishing its full blocks.
SeqBlocks run_prompt(KvCacheManager& m, const BlockHash& root, const std::vector<int32_t>& t) {
    SeqBlocks s;
    m.match_prefix(s, root, t);
    EXPECT_TRUE(m.ensure(s, static_cast<int64_t>(t.size())));
    m.publish_full(s, root, t, static_cast<int64_t>(t.size()));
    return s;
}

struct ManagerTest : ::testing::Test {
    BlockPool pool{16};
    KvCacheManager m{pool, kBt};
    BlockHash root = root_hash("model", "tenant");
};

TEST_F(ManagerTest, BlocksNeededAndEnsureAreAllOrNothing) {
    SeqBlocks s;
    EXPECT_EQ(m.blocks_needed(s, 0), 0);
    EXPECT_EQ(m.blocks_needed(s, 1), 1);
    EXPECT_EQ(m.blocks_needed(s, 4), 1);
    EXPECT_EQ(m.blocks_needed(s, 5), 2);
    EXPECT_EQ(m.blocks_needed(s, -3), 0);
    EXPECT_EQ(m.blocks_needed(s, INT64_MAX), INT32_MAX);  // saturates, no overflow
    EXPECT_FALSE(m.ensure(s, INT64_MAX));
    ASSERT_TRUE(m.ensure(s, 5));
    EXPECT_EQ(s.table.size(), 2u);
    EXPECT_EQ(m.blocks_needed(s, 8), 0);
    EXPECT_EQ(m.blocks_needed(s, 9), 1);
    EXPECT_TRUE(m.ensure(s, 8));  // nothing to do
    EXPECT_EQ(s.table.size(), 2u);
    EXPECT_FALSE(m.ensure(s, 17 * kBt));  // 15 more needed, 14 free: nothing taken
    EXPECT_EQ(s.table.size(), 2u);
    EXPECT_EQ(pool.num_free(), 14);
    EXPECT_TRUE(m.ensure(s, 16 * kBt));
    EXPECT_EQ(pool.num_free(), 0);
    m.free(s);
    EXPECT_TRUE(s.table.empty());
    EXPECT_EQ(pool.num_free(), 16);
    expect_ok(pool);
}

TEST_F(ManagerTest, PublishesOnlyFullBlocksAsTheyComplete) {
    const auto t = iota_tokens(11);  // 2 full blocks + 3 tokens
    SeqBlocks s;
    EXPECT_EQ(m.match_prefix(s, root, t), 0);
    ASSERT_TRUE(m.ensure(s, 11));
    m.publish_full(s, root, t, 3);
    EXPECT_EQ(pool.num_cached(), 0);
    EXPECT_TRUE(s.hashes.empty());
    m.publish_full(s, root, t, 6);
    EXPECT_EQ(pool.num_cached(), 1);
    m.publish_full(s, root, t, 11);
    EXPECT_EQ(pool.num_cached(), 2);  // the partial third block is never published
    ASSERT_EQ(s.hashes.size(), 2u);
    const BlockHash h0 = chain_hash(root, std::span(t).first(4));
    EXPECT_EQ(s.hashes[0], h0);
    EXPECT_EQ(s.hashes[1], chain_hash(h0, std::span(t).subspan(4, 4)));
    EXPECT_EQ(pool.lookup(s.hashes[1]), s.table[1]);
    expect_ok(pool);
}

TEST_F(ManagerTest, ReusesAFinishedPrefixAndCapsAtKMinusOne) {
    const auto t = iota_tokens(12);  // exactly 3 full blocks
    SeqBlocks a = run_prompt(m, root, t);
    const std::vector<BlockId> a_table = a.table;
    m.free(a);
    expect_ok(pool);

    // Same 12 tokens: one token must be computed, so only 2 blocks are re-used.
    SeqBlocks b;
    EXPECT_EQ(m.match_prefix(b, root, t), 8);
    EXPECT_EQ(b.num_cached_tokens, 8);
    EXPECT_EQ(b.table, std::vector<BlockId>(a_table.begin(), a_table.begin() + 2));
    EXPECT_EQ(b.hashes.size(), 2u);
    EXPECT_EQ(pool.refcount(a_table[0]), 1);
    expect_ok(pool);

    // One more token: all 3 blocks.
    auto t13 = t;
    t13.push_back(7);
    SeqBlocks c;
    EXPECT_EQ(m.match_prefix(c, root, t13), 12);
    EXPECT_EQ(c.table, a_table);
    EXPECT_EQ(pool.refcount(a_table[0]), 2);

    // A prompt of one block's length (or less) never matches.
    SeqBlocks d, e;
    EXPECT_EQ(m.match_prefix(d, root, std::span(t).first(4)), 0);
    EXPECT_EQ(m.match_prefix(e, root, std::span(t).first(0)), 0);

    const PrefixCacheStats st = m.stats();
    EXPECT_EQ(st.queries_tokens, 12u + 12u + 13u + 4u);
    EXPECT_EQ(st.hits_tokens, 8u + 12u);
    m.free(b);
    m.free(c);
    expect_ok(pool);
}

TEST_F(ManagerTest, MatchStopsAtTheFirstDifferenceAndAtAnotherSalt) {
    const auto t = iota_tokens(13);
    SeqBlocks a = run_prompt(m, root, t);
    auto u = t;
    u[5] = -1;  // second block differs
    SeqBlocks b;
    EXPECT_EQ(m.match_prefix(b, root, u), 4);
    SeqBlocks c;
    EXPECT_EQ(m.match_prefix(c, root_hash("model", "other-tenant"), t), 0);
    SeqBlocks d;
    EXPECT_EQ(m.match_prefix(d, root_hash("other-model", "tenant"), t), 0);
    m.free(a);
    m.free(b);
    expect_ok(pool);
}

TEST_F(ManagerTest, RunningSequenceSharesItsPrefixAtOnce) {
    const auto t = iota_tokens(10);
    SeqBlocks a = run_prompt(m, root, t);  // still running
    const int used = pool.num_used();
    SeqBlocks b;
    EXPECT_EQ(m.match_prefix(b, root, t), 8);
    EXPECT_EQ(b.table[0], a.table[0]);
    EXPECT_EQ(b.table[1], a.table[1]);
    EXPECT_EQ(pool.refcount(a.table[0]), 2);
    EXPECT_EQ(pool.num_used(), used);  // shared, not copied
    ASSERT_TRUE(m.ensure(b, 10));
    EXPECT_NE(b.table[2], a.table[2]);  // the partial block is private
    m.free(a);
    EXPECT_EQ(pool.refcount(b.table[0]), 1);
    m.free(b);
    EXPECT_EQ(pool.num_used(), 0);
    EXPECT_EQ(pool.num_cached(), 2);
    expect_ok(pool);
}

TEST_F(ManagerTest, ConcurrentDuplicatePrefixStaysPrivate) {
    const auto t = iota_tokens(9);
    SeqBlocks a, b;
    // Both admitted before either computed anything: neither matches.
    EXPECT_EQ(m.match_prefix(a, root, t), 0);
    EXPECT_EQ(m.match_prefix(b, root, t), 0);
    ASSERT_TRUE(m.ensure(a, 9));
    ASSERT_TRUE(m.ensure(b, 9));
    m.publish_full(a, root, t, 9);
    m.publish_full(b, root, t, 9);
    EXPECT_EQ(pool.num_cached(), 2);  // a's two blocks only
    EXPECT_EQ(a.hashes, b.hashes);    // same content, same chain
    EXPECT_EQ(pool.lookup(b.hashes[0]), a.table[0]);
    const int free_before = pool.num_free();
    m.free(b);  // b's blocks were never published: back to the free stack
    EXPECT_EQ(pool.num_free(), free_before + 3);
    EXPECT_EQ(pool.num_cached(), 2);
    expect_ok(pool);
    m.free(a);
    expect_ok(pool);
}

TEST_F(ManagerTest, ChainContinuesPastADuplicateBlock) {
    // a and b share block 0's content but differ in block 1; b's block 0 is a
    // duplicate, yet b's block 1 is published and reachable through a's block 0.
    auto ta = iota_tokens(9), tb = ta;
    tb[6] = -5;
    SeqBlocks a, b;
    m.match_prefix(a, root, ta);
    m.match_prefix(b, root, tb);
    ASSERT_TRUE(m.ensure(a, 9) && m.ensure(b, 9));
    m.publish_full(a, root, ta, 9);
    m.publish_full(b, root, tb, 9);
    EXPECT_EQ(pool.num_cached(), 3);
    SeqBlocks c;
    EXPECT_EQ(m.match_prefix(c, root, tb), 8);
    EXPECT_EQ(c.table[0], a.table[0]);
    EXPECT_EQ(c.table[1], b.table[1]);
    m.free(a);
    m.free(b);
    m.free(c);
    expect_ok(pool);
}

TEST_F(ManagerTest, FreeReleasesTailFirstSoTailsAreEvictedFirst) {
    const auto t = iota_tokens(12);
    SeqBlocks a = run_prompt(m, root, t);
    const std::vector<BlockId> chain = a.table;
    SeqBlocks filler;
    ASSERT_TRUE(m.ensure(filler, (16 - 3) * kBt));  // takes every never-used block
    m.free(a);
    EXPECT_EQ(pool.num_free(), 3);
    EXPECT_EQ(pool.allocate(), chain[2]);
    EXPECT_EQ(pool.allocate(), chain[1]);
    // The head survives longest and still matches on its own.
    auto t5 = std::vector<int32_t>(t.begin(), t.begin() + 5);
    SeqBlocks b;
    EXPECT_EQ(m.match_prefix(b, root, t5), 4);
    EXPECT_EQ(b.table[0], chain[0]);
    EXPECT_EQ(pool.evictions(), 2u);
    pool.release(chain[2]);
    pool.release(chain[1]);
    m.free(b);
    m.free(filler);
    expect_ok(pool);
}

TEST_F(ManagerTest, ForkSharesFullBlocksAndCopiesThePartialOne) {
    const auto t = iota_tokens(10);
    SeqBlocks a = run_prompt(m, root, t);
    SeqBlocks b;
    auto r = m.fork(a, b, 10);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ((*r)->first, a.table[2]);
    EXPECT_EQ((*r)->second, b.table[2]);
    EXPECT_NE(b.table[2], a.table[2]);
    EXPECT_EQ(b.table[0], a.table[0]);
    EXPECT_EQ(b.table[1], a.table[1]);
    EXPECT_EQ(pool.refcount(a.table[1]), 2);
    EXPECT_EQ(pool.refcount(a.table[2]), 1);
    EXPECT_EQ(b.hashes, a.hashes);
    expect_ok(pool);

    // A block-aligned fork copies nothing.
    SeqBlocks c;
    auto r2 = m.fork(a, c, 8);
    ASSERT_TRUE(r2.ok());
    EXPECT_FALSE(r2->has_value());
    EXPECT_EQ(c.table.size(), 2u);
    EXPECT_EQ(pool.refcount(a.table[0]), 3);

    // dst must be empty; n_tokens must be covered by src.
    EXPECT_FALSE(m.fork(a, c, 8).ok());
    SeqBlocks d;
    EXPECT_FALSE(m.fork(a, d, 13).ok());
    EXPECT_FALSE(m.fork(a, d, -1).ok());
    EXPECT_TRUE(d.table.empty());
    m.free(a);
    m.free(b);
    m.free(c);
    EXPECT_EQ(pool.num_used(), 0);
    expect_ok(pool);
}

TEST_F(ManagerTest, ForkFailsCleanlyWhenThePoolIsShort) {
    const auto t = iota_tokens(6);
    SeqBlocks a = run_prompt(m, root, t);
    SeqBlocks filler;
    ASSERT_TRUE(m.ensure(filler, 14 * kBt));
    ASSERT_EQ(pool.num_free(), 0);
    SeqBlocks b;
    EXPECT_FALSE(m.fork(a, b, 6).ok());
    EXPECT_TRUE(b.table.empty());
    EXPECT_EQ(pool.refcount(a.table[0]), 1);  // nothing retained on failure
    m.free(a);
    m.free(filler);
    expect_ok(pool);
}

TEST(KvCacheManagerDisabled, NeverMatchesNorPublishes) {
    BlockPool pool(8);
    KvCacheManager m(pool, kBt, /*enable_prefix_cache=*/false);
    const BlockHash root = root_hash("model", "");
    const auto t = iota_tokens(13);
    SeqBlocks a = run_prompt(m, root, t);
    EXPECT_EQ(pool.num_cached(), 0);
    EXPECT_TRUE(a.hashes.empty());
    SeqBlocks b;
    EXPECT_EQ(m.match_prefix(b, root, t), 0);
    EXPECT_TRUE(b.table.empty());
    EXPECT_EQ(m.stats().hits_tokens, 0u);
    m.free(a);
    EXPECT_EQ(pool.num_cached(), 0);
    EXPECT_EQ(pool.num_free(), 8);
    expect_ok(pool);
}

}  // namespace
}  // namespace ig
