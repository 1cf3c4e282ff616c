#pragma once
// What a load from a tier below the pool reports (KvTiers to KvCacheManager).
#include "kvcache/block_hash.h"
#include "kvcache/block_pool.h"

namespace ig {

enum class LoadStart {
    Done,     // copied now (host tier)
    Pending,  // a loader thread reads it; the result comes from poll_loads()
    Missed,   // no tier could supply it
};

struct LoadResult {
    BlockId block = 0;
    BlockHash hash{};
    bool ok = false;  // false: damaged or vanished, the block's bytes are garbage
};

}  // namespace ig
