#include "kvcache/host_tier.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

namespace ig {
namespace {

BlockHash hash_of(int i) {
    BlockHash h{};
    h[0] = static_cast<uint8_t>(i);
    h[1] = static_cast<uint8_t>(i >> 8);
    h[31] = 0x5A;
    return h;
}

std::vector<uint8_t> block_bytes(size_t n, int seed) {
    std::vector<uint8_t> v(n);
    std::mt19937 rng(static_cast<unsigned>(seed));
    for (auto& b : v) b = static_cast<uint8_t>(rng());
    return v;
}

TEST(HostTierTest, StoresAndReadsExactBytes) {
    auto t = HostTier::create({1 << 20, 4096, false, 2});
    ASSERT_TRUE(t.ok()) << t.error().message;
    const auto a = block_bytes(4096, 1), b = block_bytes(4096, 2);
    ASSERT_TRUE((*t)->put(hash_of(1), a));
    ASSERT_TRUE((*t)->put(hash_of(2), b));
    EXPECT_TRUE((*t)->lookup(hash_of(1)));
    EXPECT_FALSE((*t)->lookup(hash_of(3)));
    std::vector<uint8_t> out(4096);
    ASSERT_TRUE((*t)->read(hash_of(2), out).ok());
    EXPECT_EQ(out, b);
    ASSERT_TRUE((*t)->read(hash_of(1), out).ok());
    EXPECT_EQ(out, a);
    EXPECT_FALSE((*t)->read(hash_of(3), out).ok());
    std::vector<uint8_t> small(100);
    EXPECT_FALSE((*t)->read(hash_of(1), small).ok());
    EXPECT_FALSE((*t)->put(hash_of(4), small));  // wrong size: not taken
    const TierStats s = (*t)->stats();
    EXPECT_EQ(s.blocks, 2);
    EXPECT_EQ(s.bytes_used, 2 * 4096);
    EXPECT_EQ(s.puts, 2u);
    EXPECT_EQ(s.dropped, 1u);
}

TEST(HostTierTest, BudgetEvictsLeastRecentlyUsed) {
    auto t = HostTier::create({3 * 1000, 1000, false, 2});
    ASSERT_TRUE(t.ok());
    std::vector<uint8_t> out(1000);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE((*t)->put(hash_of(i), block_bytes(1000, i)));
    ASSERT_TRUE((*t)->read(hash_of(0), out).ok());  // 0 becomes most recent
    ASSERT_TRUE((*t)->put(hash_of(3), block_bytes(1000, 3)));
    EXPECT_TRUE((*t)->lookup(hash_of(0)));
    EXPECT_FALSE((*t)->lookup(hash_of(1)));  // the least recently used went
    EXPECT_TRUE((*t)->lookup(hash_of(2)));
    EXPECT_TRUE((*t)->lookup(hash_of(3)));
    EXPECT_EQ((*t)->stats().evictions, 1u);
    EXPECT_LE((*t)->stats().bytes_used, 3000);
    (*t)->evict(hash_of(3));
    EXPECT_FALSE((*t)->lookup(hash_of(3)));
    EXPECT_EQ((*t)->stats().blocks, 2);
}

TEST(HostTierTest, RejectsBadConfig) {
    EXPECT_FALSE(HostTier::create({0, 1000, false, 2}).ok());
    EXPECT_FALSE(HostTier::create({100, 1000, false, 2}).ok());
    EXPECT_FALSE(HostTier::create({1 << 20, 0, false, 2}).ok());
    EXPECT_FALSE(HostTier::create({1 << 20, 1001, true, 2}).ok());
}

// Q8: F32 and F16 values come back within half a quantisation step of
// their group's scale, and take fewer bytes.
TEST(HostTierTest, Q8RoundTripWithinOneStep) {
    std::mt19937 rng(3);
    std::normal_distribution<float> nd(0.0f, 2.0f);
    const size_t n = 16 * 40 + 5;  // a ragged last group
    std::vector<float> vals(n);
    for (auto& v : vals) v = nd(rng);
    std::vector<uint8_t> in(n * 4), out(n * 4);
    std::memcpy(in.data(), vals.data(), in.size());
    auto t = HostTier::create({1 << 20, in.size(), true, 4});
    ASSERT_TRUE(t.ok()) << t.error().message;
    EXPECT_LT((*t)->stored_block_bytes(), in.size() / 3);
    ASSERT_TRUE((*t)->put(hash_of(1), in));
    ASSERT_TRUE((*t)->read(hash_of(1), out).ok());
    std::vector<float> back(n);
    std::memcpy(back.data(), out.data(), out.size());
    for (size_t g = 0; g < n; g += 32) {
        float amax = 0;
        for (size_t i = g; i < std::min(n, g + 32); ++i) amax = std::max(amax, std::fabs(vals[i]));
        for (size_t i = g; i < std::min(n, g + 32); ++i)
            EXPECT_NEAR(back[i], vals[i], amax / 127.0f * 0.5f + 1e-6f) << i;
    }
}

TEST(HostTierTest, Q8OfF16) {
    // F16 bit patterns of small integers and halves: 1.0 = 0x3C00, -2.0 = 0xC000, 0.5 = 0x3800.
    const uint16_t src[4] = {0x3C00, 0xC000, 0x3800, 0x0000};
    std::vector<uint8_t> in(64 * 2, 0), out(64 * 2);
    for (size_t i = 0; i < 64; ++i) std::memcpy(in.data() + 2 * i, &src[i % 4], 2);
    std::vector<uint8_t> enc(q8_encoded_bytes(in.size(), 2));
    EXPECT_EQ(enc.size(), 2 * sizeof(float) + 64);
    q8_encode(in, 2, enc);
    q8_decode(enc, 2, out);
    // amax 2.0: every value is a multiple of 2/127 within half a step: -2 and 0 are exact.
    for (size_t i = 0; i < 64; ++i) {
        uint16_t h;
        std::memcpy(&h, out.data() + 2 * i, 2);
        if (i % 4 == 1) {
            EXPECT_EQ(h, 0xC000) << i;
        } else if (i % 4 == 3) {
            EXPECT_EQ(h, 0x0000) << i;
        } else if (i % 4 == 0) {
            EXPECT_TRUE(h >= 0x3BF0 && h <= 0x3C10) << std::hex << h;
        }
    }
}

}  // namespace
}  // namespace ig
