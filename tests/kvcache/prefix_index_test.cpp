// The prefix index alone: one block per content hash, both directions agree.
#include "kvcache/prefix_index.h"

#include <gtest/gtest.h>

#include <vector>

namespace ig {
namespace {

BlockHash h(uint8_t b) {
    BlockHash x{};
    x[0] = b;
    return x;
}

TEST(PrefixIndex, InsertFindErase) {
    PrefixIndex idx(4);
    EXPECT_EQ(idx.size(), 0);
    EXPECT_FALSE(idx.find(h(1)));
    EXPECT_TRUE(idx.insert(2, h(1)));
    EXPECT_TRUE(idx.hashed(2));
    EXPECT_EQ(idx.hash_of(2), h(1));
    EXPECT_EQ(idx.find(h(1)), 2);
    EXPECT_EQ(idx.size(), 1);
    idx.erase(2);
    EXPECT_FALSE(idx.hashed(2));
    EXPECT_FALSE(idx.find(h(1)));
    idx.erase(2);  // erasing an unhashed block is a no-op
    EXPECT_EQ(idx.size(), 0);
    EXPECT_TRUE(idx.check().ok());
}

TEST(PrefixIndex, OneBlockPerContent) {
    PrefixIndex idx(4);
    ASSERT_TRUE(idx.insert(0, h(7)));
    EXPECT_FALSE(idx.insert(1, h(7)));  // another block already holds it
    EXPECT_FALSE(idx.hashed(1));
    EXPECT_TRUE(idx.insert(0, h(7)));   // re-publishing the same content
    EXPECT_FALSE(idx.insert(0, h(8)));  // a hashed block keeps its hash
    EXPECT_EQ(idx.find(h(7)), 0);
    EXPECT_FALSE(idx.find(h(8)));
    std::vector<BlockId> seen;
    idx.for_each([&](BlockId id, const BlockHash& hh) {
        seen.push_back(id);
        EXPECT_EQ(hh, h(7));
    });
    EXPECT_EQ(seen, std::vector<BlockId>{0});
    EXPECT_TRUE(idx.check().ok());
}

}  // namespace
}  // namespace ig
