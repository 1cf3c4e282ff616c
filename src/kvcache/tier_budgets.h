#pragma once
// The byte budgets of the KV tiers below the pool when the operator names
// none, and the check of those the operator names, from what the machine
// has. Pure: the probes (tier_budget_probe) are separate, so that every case
// is unit-tested.
//
//   host: min(25 % of physical RAM, 8 GiB) - weights - hot pool, 0 when that
//         does not fit; an explicit budget above physical RAM is refused.
//   disk: only with a directory; min(10 % of the file system's free space,
//         50 GiB); an explicit budget above free space + what the directory
//         already holds is refused.
#include <cstdint>
#include <optional>
#include <string>

#include "util/expected.h"

namespace ig {

inline constexpr int64_t kHostTierDefaultCap = int64_t{8} << 30;
inline constexpr int64_t kDiskTierDefaultCap = int64_t{50} << 30;

struct TierBudgetInputs {
    int64_t physical_ram = 0;           // bytes; <= 0: unknown (no default host tier)
    int64_t weights_bytes = 0;          // the model's weights in RAM
    int64_t pool_bytes = 0;             // the hot KV pool
    bool prefix_cache = true;           // tiers need it: off means no default tier
    std::optional<int64_t> host_bytes;  // the operator's budget, if any
    bool disk_dir_set = false;
    std::optional<int64_t> disk_bytes;  // the operator's budget, if any
    int64_t fs_free_bytes = -1;         // the disk directory's file system; < 0: unknown
    int64_t dir_used_bytes = 0;         // block files already in the directory
};

struct TierBudgets {
    int64_t host_bytes = 0;
    int64_t disk_bytes = 0;
    std::string host_reason, disk_reason;  // how each was chosen (for the log)
};

// Errors: a named budget larger than the machine, with the numbers.
Expected<TierBudgets> plan_tier_budgets(const TierBudgetInputs& in);

// The machine's side of the inputs: physical RAM, and for `disk_dir` (empty:
// none) the free bytes of its file system (of its nearest existing parent
// when it does not exist yet) and the bytes of block files in it.
void probe_tier_budget_inputs(const std::string& disk_dir, TierBudgetInputs& in);

}  // namespace ig
