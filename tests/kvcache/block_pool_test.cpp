#include "kvcache/block_pool.h"

#include <gtest/gtest.h>

#include <set>

namespace ig {
namespace {

BlockHash hash_of(int i) {
    const int32_t t = i;
    return chain_hash(root_hash("pool-test", ""), std::span(&t, 1));
}

void expect_ok(const BlockPool& p) {
    const Status s = p.check();
    ASSERT_TRUE(s.ok()) << s.error().message;
}

TEST(BlockPool, AllocatesEveryBlockOnceThenRunsOut) {
    BlockPool p(4);
    EXPECT_EQ(p.num_blocks(), 4);
    EXPECT_EQ(p.num_free(), 4);
    std::set<BlockId> ids;
    for (int i = 0; i < 4; ++i) {
        const auto id = p.allocate();
        ASSERT_TRUE(id);
        EXPECT_TRUE(ids.insert(*id).second);
        EXPECT_EQ(p.refcount(*id), 1);
        expect_ok(p);
    }
    EXPECT_EQ(*ids.begin(), 0);
    EXPECT_EQ(*ids.rbegin(), 3);
    EXPECT_EQ(p.num_free(), 0);
    EXPECT_EQ(p.num_used(), 4);
    EXPECT_FALSE(p.allocate());
    p.release(2);
    EXPECT_EQ(p.num_free(), 1);
    EXPECT_EQ(p.allocate(), 2);
    EXPECT_EQ(p.evictions(), 0u);
    expect_ok(p);
}

TEST(BlockPool, EmptyPoolAllocatesNothing) {
    BlockPool p(0);
    EXPECT_FALSE(p.allocate());
    expect_ok(p);
}

TEST(BlockPool, RefcountsAndUnhashedRelease) {
    BlockPool p(2);
    const BlockId a = *p.allocate();
    p.retain(a);
    EXPECT_EQ(p.refcount(a), 2);
    p.release(a);
    EXPECT_EQ(p.refcount(a), 1);
    EXPECT_EQ(p.num_used(), 1);
    p.release(a);
    EXPECT_EQ(p.refcount(a), 0);
    EXPECT_EQ(p.num_used(), 0);
    EXPECT_EQ(p.num_free(), 2);
    EXPECT_EQ(p.num_cached(), 0);
    expect_ok(p);
}

TEST(BlockPool, HashedBlockStaysFindableAfterReleaseUntilEvicted) {
    BlockPool p(2);
    const BlockId a = *p.allocate();
    EXPECT_TRUE(p.publish(a, hash_of(1)));
    EXPECT_EQ(p.lookup(hash_of(1)), a);
    EXPECT_EQ(p.num_cached(), 1);
    p.release(a);
    expect_ok(p);
    EXPECT_EQ(p.num_free(), 2);  // cached but evictable counts as free
    EXPECT_EQ(p.num_cached(), 1);
    EXPECT_EQ(p.lookup(hash_of(1)), a);

    // Re-use by lookup + retain takes it off the LRU.
    p.retain(a);
    EXPECT_EQ(p.refcount(a), 1);
    EXPECT_EQ(p.num_free(), 1);
    expect_ok(p);
    p.release(a);

    // The never-used block goes first, then the cached one is evicted.
    const BlockId b = *p.allocate();
    EXPECT_NE(b, a);
    EXPECT_EQ(p.evictions(), 0u);
    EXPECT_EQ(p.allocate(), a);
    EXPECT_EQ(p.evictions(), 1u);
    EXPECT_FALSE(p.lookup(hash_of(1)));
    EXPECT_EQ(p.num_cached(), 0);
    expect_ok(p);
    // Evicted and unhashed again: a plain release frees it.
    p.release(a);
    EXPECT_EQ(p.num_cached(), 0);
    expect_ok(p);
}

TEST(BlockPool, EvictsLeastRecentlyReleasedFirst) {
    BlockPool p(4);
    BlockId ids[4];
    for (int i = 0; i < 4; ++i) {
        ids[i] = *p.allocate();
        ASSERT_TRUE(p.publish(ids[i], hash_of(i)));
    }
    // Release order 2, 0, 3, 1; then 0 is touched again (retain + release) → order 2, 3, 1, 0.
    for (int i : {2, 0, 3, 1}) p.release(ids[i]);
    p.retain(ids[0]);
    p.release(ids[0]);
    expect_ok(p);
    for (int i : {2, 3, 1, 0}) {
        EXPECT_EQ(p.allocate(), ids[i]);
        EXPECT_FALSE(p.lookup(hash_of(i)));
        expect_ok(p);
    }
    EXPECT_EQ(p.evictions(), 4u);
    EXPECT_FALSE(p.allocate());
}

TEST(BlockPool, DuplicateHashStaysPrivate) {
    BlockPool p(3);
    const BlockId a = *p.allocate(), b = *p.allocate();
    EXPECT_TRUE(p.publish(a, hash_of(7)));
    EXPECT_FALSE(p.publish(b, hash_of(7)));  // same content computed twice
    EXPECT_EQ(p.lookup(hash_of(7)), a);
    EXPECT_EQ(p.num_cached(), 1);
    EXPECT_TRUE(p.publish(a, hash_of(7)));   // re-publishing the holder is a no-op
    EXPECT_FALSE(p.publish(a, hash_of(8)));  // a block's content never changes
    expect_ok(p);
    p.release(b);  // private: straight back to the free stack
    p.release(a);  // cached
    EXPECT_EQ(p.num_free(), 3);
    EXPECT_EQ(p.num_cached(), 1);
    EXPECT_EQ(p.lookup(hash_of(7)), a);
    expect_ok(p);
    // Only in-use blocks can be published.
    const BlockId c = *p.allocate();
    p.release(c);
    EXPECT_FALSE(p.publish(c, hash_of(9)));
    EXPECT_FALSE(p.publish(-1, hash_of(9)));
    EXPECT_FALSE(p.publish(3, hash_of(9)));
    expect_ok(p);
}

TEST(BlockPool, HashFreedByEvictionCanBeRepublished) {
    BlockPool p(1);
    const BlockId a = *p.allocate();
    ASSERT_TRUE(p.publish(a, hash_of(1)));
    p.release(a);
    const BlockId b = *p.allocate();  // evicts a (same id), hash dropped
    EXPECT_EQ(b, a);
    EXPECT_TRUE(p.publish(b, hash_of(2)));
    EXPECT_EQ(p.lookup(hash_of(2)), b);
    EXPECT_FALSE(p.lookup(hash_of(1)));
    expect_ok(p);
}

}  // namespace
}  // namespace ig
