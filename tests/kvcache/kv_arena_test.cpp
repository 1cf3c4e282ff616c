#include "kvcache/kv_arena.h"

#include <gtest/gtest.h>

#include <cstring>

namespace ig {
namespace {

TEST(KvArena, ZeroedAlignedAndCopiesBlocks) {
    auto a = KvArena::create(3, 100);
    ASSERT_TRUE(a.ok()) << a.error().message;
    EXPECT_EQ(a->num_blocks(), 3);
    EXPECT_EQ(a->block_bytes(), 100u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(a->base()) % 64, 0u);
    for (size_t i = 0; i < 300; ++i) ASSERT_EQ(a->base()[i], 0);
    for (size_t i = 0; i < 100; ++i) a->block(1)[i] = static_cast<uint8_t>(i + 1);
    a->copy_block(2, 1);
    EXPECT_EQ(std::memcmp(a->block(2), a->block(1), 100), 0);
    EXPECT_EQ(a->block(0)[0], 0);

    KvArena moved = std::move(*a);
    EXPECT_EQ(moved.num_blocks(), 3);
    EXPECT_EQ(moved.block(2)[99], 100);
    EXPECT_EQ(a->base(), nullptr);
}

TEST(KvArena, RejectsEmptyBudgets) {
    EXPECT_FALSE(KvArena::create(0, 64).ok());
    EXPECT_FALSE(KvArena::create(-1, 64).ok());
    EXPECT_FALSE(KvArena::create(4, 0).ok());
    EXPECT_FALSE(KvArena::create(int64_t{1} << 40, size_t{1} << 40).ok());
    const auto e = KvArena::for_budget(1000, 4096);
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.error().message.find("1000"), std::string::npos) << e.error().message;
    EXPECT_FALSE(KvArena::for_budget(-5, 64).ok());
}

TEST(KvArena, BudgetGivesWholeBlocks) {
    const auto a = KvArena::for_budget(10000, 4096);
    ASSERT_TRUE(a.ok()) << a.error().message;
    EXPECT_EQ(a->num_blocks(), 2);
}

TEST(KvArena, DefaultBudgetIsAShareOfAvailableMemory) {
    const int64_t b = default_kv_budget_bytes(0);
    EXPECT_GT(b, 0);  // Linux always reports available memory
    // MemAvailable moves between calls, so only a reserve beyond any machine is exact.
    EXPECT_EQ(default_kv_budget_bytes(int64_t{1} << 60), 0);
}

}  // namespace
}  // namespace ig
