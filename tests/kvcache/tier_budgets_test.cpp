// The KV tiers' default budgets and the refusal of budgets larger than the machine.
#include "kvcache/tier_budgets.h"

#include <gtest/gtest.h>

#include "support/test_support.h"

namespace ig {
namespace {

constexpr int64_t GiB = int64_t{1} << 30;

TierBudgetInputs machine(int64_t ram, int64_t weights, int64_t pool) {
    TierBudgetInputs in;
    in.physical_ram = ram;
    in.weights_bytes = weights;
    in.pool_bytes = pool;
    return in;
}

TEST(TierBudgetsTest, HostDefaultIsAQuarterOfRamLessWeightsAndPool) {
    auto b = plan_tier_budgets(machine(16 * GiB, GiB, GiB));
    ASSERT_TRUE(b.ok()) << b.error().message;
    EXPECT_EQ(b->host_bytes, 2 * GiB);  // 4 GiB - 1 - 1
    EXPECT_NE(b->host_reason.find("default"), std::string::npos) << b->host_reason;
    EXPECT_EQ(b->disk_bytes, 0);
}

TEST(TierBudgetsTest, HostDefaultIsCappedAt8GiB) {
    auto b = plan_tier_budgets(machine(256 * GiB, 2 * GiB, GiB));
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->host_bytes, 5 * GiB);  // 8 GiB - 2 - 1
}

TEST(TierBudgetsTest, HostDefaultIsOffWhenWeightsAndPoolTakeTheShare) {
    auto b = plan_tier_budgets(machine(8 * GiB, GiB, GiB));  // share 2 GiB, all taken
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->host_bytes, 0);
    EXPECT_NE(b->host_reason.find("does not fit"), std::string::npos) << b->host_reason;
    b = plan_tier_budgets(machine(8 * GiB, 3 * GiB, 0));
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->host_bytes, 0);
}

TEST(TierBudgetsTest, HostDefaultIsOffWithoutThePrefixCache) {
    auto in = machine(64 * GiB, GiB, GiB);
    in.prefix_cache = false;
    auto b = plan_tier_budgets(in);
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->host_bytes, 0);
}

TEST(TierBudgetsTest, ExplicitHostBudgetWinsAndIsChecked) {
    auto in = machine(16 * GiB, GiB, GiB);
    in.host_bytes = 0;  // off, on purpose
    ASSERT_EQ(plan_tier_budgets(in)->host_bytes, 0);
    in.host_bytes = 10 * GiB;  // above the default, below RAM
    ASSERT_EQ(plan_tier_budgets(in)->host_bytes, 10 * GiB);
    in.host_bytes = 17 * GiB;
    auto b = plan_tier_budgets(in);
    ASSERT_FALSE(b.ok());
    EXPECT_NE(b.error().message.find(std::to_string(17 * GiB)), std::string::npos)
        << b.error().message;
    EXPECT_NE(b.error().message.find(std::to_string(16 * GiB)), std::string::npos)
        << b.error().message;
}

TEST(TierBudgetsTest, DiskDirAloneGetsTenPercentOfFreeSpace) {
    auto in = machine(16 * GiB, GiB, GiB);
    in.disk_dir_set = true;
    in.fs_free_bytes = 100 * GiB;
    auto b = plan_tier_budgets(in);
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->disk_bytes, 10 * GiB);
    in.fs_free_bytes = 2000 * GiB;
    EXPECT_EQ(plan_tier_budgets(in)->disk_bytes, 50 * GiB);  // capped
    // What the directory already holds is room too (its blocks are kept).
    in.fs_free_bytes = 90 * GiB;
    in.dir_used_bytes = 10 * GiB;
    EXPECT_EQ(plan_tier_budgets(in)->disk_bytes, 10 * GiB);
}

TEST(TierBudgetsTest, ExplicitDiskBudgetIsCheckedAgainstFreeSpacePlusHeld) {
    auto in = machine(16 * GiB, GiB, GiB);
    in.disk_dir_set = true;
    in.fs_free_bytes = 10 * GiB;
    in.dir_used_bytes = 2 * GiB;
    in.disk_bytes = 12 * GiB;
    ASSERT_EQ(plan_tier_budgets(in)->disk_bytes, 12 * GiB);
    in.disk_bytes = 12 * GiB + 1;
    auto b = plan_tier_budgets(in);
    ASSERT_FALSE(b.ok());
    EXPECT_NE(b.error().message.find(std::to_string(10 * GiB)), std::string::npos)
        << b.error().message;
    EXPECT_NE(b.error().message.find(std::to_string(12 * GiB)), std::string::npos)
        << b.error().message;
}

TEST(TierBudgetsTest, DiskBudgetWithoutDirectoryIsRefused) {
    auto in = machine(16 * GiB, GiB, GiB);
    in.disk_bytes = GiB;
    EXPECT_FALSE(plan_tier_budgets(in).ok());
}

TEST(TierBudgetsTest, UnknownFreeSpaceNeedsAnExplicitBudget) {
    auto in = machine(16 * GiB, GiB, GiB);
    in.disk_dir_set = true;
    in.fs_free_bytes = -1;
    EXPECT_FALSE(plan_tier_budgets(in).ok());
    in.disk_bytes = GiB;
    EXPECT_EQ(plan_tier_budgets(in)->disk_bytes, GiB);
}

TEST(TierBudgetsTest, ProbeReadsThisMachine) {
    test::TempDir dir;
    TierBudgetInputs in;
    probe_tier_budget_inputs((dir.path() / "not-yet" / "kv").string(), in);
    EXPECT_GT(in.physical_ram, 0);
    EXPECT_TRUE(in.disk_dir_set);
    EXPECT_GT(in.fs_free_bytes, 0);  // of the nearest existing parent
    EXPECT_EQ(in.dir_used_bytes, 0);
}

}  // namespace
}  // namespace ig
