// KV cache bookkeeping micro-benchmarks: pool allocate/release (free stack
// and LRU eviction), the SHA-256 block hash, and prefix matching.
//
//   ./build/release/bench/kvcache_bench [--benchmark_filter=Match]
#include <benchmark/benchmark.h>

#include <cstdint>
#include <numeric>
#include <vector>

#include "kvcache/block_hash.h"
#include "kvcache/block_pool.h"
#include "kvcache/kv_cache_manager.h"

namespace ig {
namespace {

std::vector<BlockHash> distinct_hashes(size_t n) {
    std::vector<BlockHash> v(n);
    BlockHash h = root_hash("bench", "");
    for (size_t i = 0; i < n; ++i) {
        const auto t = static_cast<int32_t>(i);
        v[i] = h = chain_hash(h, std::span(&t, 1));
    }
    return v;
}

// One allocate + one release of an unhashed block (free stack only).
void BM_AllocateRelease(benchmark::State& st) {
    BlockPool pool(4096);
    for (auto _ : st) {
        const auto id = pool.allocate();
        benchmark::DoNotOptimize(id);
        pool.release(*id);
    }
    st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_AllocateRelease);

// Every block cached and unreferenced: allocate evicts the LRU head (index
// erase), publish indexes a new hash, release puts it back on the LRU tail.
void BM_AllocateEvictPublishRelease(benchmark::State& st) {
    const int32_t n = static_cast<int32_t>(st.range(0));
    BlockPool pool(n);
    const auto hashes = distinct_hashes(static_cast<size_t>(2 * n));
    std::vector<BlockId> ids;
    for (int32_t i = 0; i < n; ++i) {
        ids.push_back(*pool.allocate());
        pool.publish(ids.back(), hashes[static_cast<size_t>(i)]);
    }
    for (BlockId id : ids) pool.release(id);
    size_t next = static_cast<size_t>(n);
    for (auto _ : st) {
        const auto id = pool.allocate();
        pool.publish(*id, hashes[next]);
        pool.release(*id);
        if (++next == hashes.size()) next = 0;  // hashes[next] was evicted n rounds ago
    }
    st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_AllocateEvictPublishRelease)->Arg(1024)->Arg(65536);

void BM_ChainHash(benchmark::State& st) {
    std::vector<int32_t> toks(static_cast<size_t>(st.range(0)));
    std::iota(toks.begin(), toks.end(), 1);
    BlockHash h = root_hash("bench", "");
    for (auto _ : st) {
        h = chain_hash(h, toks);
        benchmark::DoNotOptimize(h);
    }
    st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_ChainHash)->Arg(16)->Arg(64);

// Prompt of range(0) tokens whose blocks are all cached (hit) or whose first
// block is not (miss); one iteration = match_prefix + free of the sequence.
void match_bench(benchmark::State& st, bool hit) {
    constexpr int32_t kBt = 16;
    const auto n_tokens = static_cast<size_t>(st.range(0));
    BlockPool pool(static_cast<int32_t>(n_tokens / kBt + 8));
    KvCacheManager m(pool, kBt);
    const BlockHash root = root_hash("bench", "tenant");
    std::vector<int32_t> prompt(n_tokens + 1);
    std::iota(prompt.begin(), prompt.end(), 7);
    {
        SeqBlocks s;
        m.match_prefix(s, root, prompt);
        m.ensure(s, static_cast<int64_t>(prompt.size()));
        m.publish_full(s, root, prompt, static_cast<int64_t>(prompt.size()));
        m.free(s);
    }
    if (!hit) prompt[0] = -1;
    int64_t blocks = 0;
    for (auto _ : st) {
        SeqBlocks s;
        m.match_prefix(s, root, prompt);
        blocks += static_cast<int64_t>(s.table.size());
        m.free(s);
    }
    st.counters["blocks/op"] = static_cast<double>(blocks) / static_cast<double>(st.iterations());
    st.SetItemsProcessed(st.iterations());
}
void BM_MatchPrefixHit(benchmark::State& st) {
    match_bench(st, true);
}
void BM_MatchPrefixMiss(benchmark::State& st) {
    match_bench(st, false);
}
BENCHMARK(BM_MatchPrefixHit)->Arg(512)->Arg(4096);
BENCHMARK(BM_MatchPrefixMiss)->Arg(512);

}  // namespace
}  // namespace ig

BENCHMARK_MAIN();
