#include "kvcache/block_hash.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ig {
namespace {

void put_u64(std::vector<uint8_t>& out, uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

TEST(BlockHash, RootIsLengthPrefixedFields) {
    std::vector<uint8_t> msg;
    for (std::string_view f : {std::string_view("infergrid-kv-v1"), std::string_view("model-x"),
                               std::string_view("tenant")}) {
        put_u64(msg, f.size());
        msg.insert(msg.end(), f.begin(), f.end());
    }
    EXPECT_EQ(root_hash("model-x", "tenant"), sha256(msg));
}

TEST(BlockHash, ChainIsParentThenLittleEndianTokens) {
    const BlockHash parent = root_hash("m", "s");
    const std::vector<int32_t> toks = {1, -2, 0x01020304};
    std::vector<uint8_t> msg(parent.begin(), parent.end());
    for (int32_t t : toks) {
        const auto u = static_cast<uint32_t>(t);
        for (int i = 0; i < 4; ++i) msg.push_back(static_cast<uint8_t>(u >> (8 * i)));
    }
    EXPECT_EQ(chain_hash(parent, toks), sha256(msg));
}

TEST(BlockHash, EveryInputChangesTheHash) {
    const BlockHash r = root_hash("model", "salt");
    EXPECT_EQ(r, root_hash("model", "salt"));
    EXPECT_NE(r, root_hash("model2", "salt"));
    EXPECT_NE(r, root_hash("model", "salt2"));
    EXPECT_NE(r, root_hash("model", ""));
    // Field boundaries are part of the input: moving a byte across them changes the hash.
    EXPECT_NE(root_hash("ab", "c"), root_hash("a", "bc"));
    EXPECT_NE(root_hash("", "x"), root_hash("x", ""));

    const std::vector<int32_t> a = {1, 2, 3, 4}, b = {1, 2, 3, 5}, c = {2, 1, 3, 4};
    const BlockHash h = chain_hash(r, a);
    EXPECT_EQ(h, chain_hash(r, a));
    EXPECT_NE(h, chain_hash(r, b));
    EXPECT_NE(h, chain_hash(r, c));
    EXPECT_NE(h, chain_hash(root_hash("model", "other"), a));  // salt isolates tenants
    EXPECT_NE(h, chain_hash(root_hash("other", "salt"), a));   // fingerprint isolates models
    // The parent carries the whole prefix: the same block after different prefixes differs.
    EXPECT_NE(chain_hash(chain_hash(r, a), a), chain_hash(chain_hash(r, b), a));
    EXPECT_NE(chain_hash(r, std::span(a).first(3)), h);
}

TEST(BlockHash, ReusedHasherMatchesTheFreeFunctions) {
    BlockHasher h;
    const std::vector<int32_t> toks = {5, 6, 7, 8};
    for (int i = 0; i < 3; ++i) {  // the context is reset between digests
        EXPECT_EQ(h.root("m", "s"), root_hash("m", "s"));
        EXPECT_EQ(h.chain(root_hash("m", "s"), toks), chain_hash(root_hash("m", "s"), toks));
    }
    BlockHasher moved = std::move(h);
    EXPECT_EQ(moved.root("m", "s"), root_hash("m", "s"));
    EXPECT_EQ(h.root("m", "s"), root_hash("m", "s"));  // a moved-from hasher still works
}

TEST(BlockHash, HasherUsesTheFirstEightBytes) {
    BlockHash a{}, b{};
    a[0] = 1;
    b[0] = 1;
    b[31] = 7;  // outside the first 8 bytes
    EXPECT_EQ(BlockHashHasher{}(a), BlockHashHasher{}(b));
    b[7] = 9;
    EXPECT_NE(BlockHashHasher{}(a), BlockHashHasher{}(b));
}

}  // namespace
}  // namespace ig
