#pragma once
// Block tables of sequences over a BlockPool (vLLM's KVCacheManager): prefix
// matching against the pool's index, growth, publishing of full blocks,
// n > 1 forks and release. Only full blocks are ever shared, so a shared
// block is never written again; the partial last block is always private.
#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kvcache/block_hash.h"
#include "kvcache/block_pool.h"
#include "kvcache/tier_load.h"
#include "util/expected.h"

namespace ig {

struct SeqBlocks {
    std::vector<BlockId> table;     // covers positions [0, table.size() * block_tokens)
    std::vector<BlockHash> hashes;  // hashes of the first hashes.size() full blocks (chain prefix)
    int64_t num_cached_tokens = 0;  // tokens re-used from the prefix cache at admission
};

struct PrefixCacheStats {
    uint64_t queries_tokens = 0, hits_tokens = 0;
    uint64_t tier_hits_tokens = 0;  // tokens loaded from a tier below the pool
};

class KvTiers;

class KvCacheManager {
  public:
    KvCacheManager(BlockPool& pool, int32_t block_tokens, bool enable_prefix_cache = true);

    int32_t block_tokens() const { return block_tokens_; }
    bool prefix_cache_enabled() const { return enable_prefix_cache_; }

    // Longest chain of cached full blocks of `tokens`, capped so at least one
    // token is left to compute. Retains those blocks into seq.table (seq must
    // be empty) and returns the number of cached tokens. Waits for blocks
    // loaded from the disk tier (the scheduler uses the steps below instead).
    int64_t match_prefix(SeqBlocks& seq, const BlockHash& root, std::span<const int32_t> tokens);

    // The same walk without waiting: blocks found in the pool are retained,
    // blocks found below are loaded into fresh pool blocks (host: now; disk:
    // in the background; a block another walk is already loading is shared).
    // True: settled (seq.num_cached_tokens is final). False: loads are in
    // flight; once loads_done(seq), settle(seq) ends the match.
    bool begin_match(SeqBlocks& seq, const BlockHash& root, std::span<const int32_t> tokens);
    bool loads_done(const SeqBlocks& seq) const;
    // Keeps the chain up to the first block whose load failed, releases the
    // rest, and returns the number of cached tokens.
    int64_t settle(SeqBlocks& seq);
    // Publishes finished loads (engine thread, once per step). A load whose
    // sequences were all freed meanwhile leaves its block in the prefix cache.
    void poll_loads();
    void wait_loads();  // until no load is in flight (then polls)
    size_t loads_in_flight() const { return loading_.size(); }
    // Extra blocks to cover n_tokens.
    int32_t blocks_needed(const SeqBlocks& seq, int64_t n_tokens) const;
    // All-or-nothing; false if the pool is short.
    bool ensure(SeqBlocks& seq, int64_t n_tokens);
    // KV of tokens[0, n_computed) is now written: hash and publish every newly
    // completed full block.
    void publish_full(SeqBlocks& seq, const BlockHash& root, std::span<const int32_t> tokens,
                      int64_t n_computed);
    // n > 1: dst (empty) shares src's full blocks covering n_tokens (retained);
    // the partial last block (if any) is copied: returns {src_block, dst_block}
    // whose bytes the caller must copy (KvArena::copy_block), or nullopt.
    // Fails when the pool is short or the arguments are inconsistent.
    Expected<std::optional<std::pair<BlockId, BlockId>>> fork(const SeqBlocks& src, SeqBlocks& dst,
                                                              int64_t n_tokens);
    // Releases tail first so that the chain's tail is evicted before its head.
    void free(SeqBlocks& seq);

    // Tiers below the pool (not owned; null: none): match_prefix continues
    // its walk there and loads found blocks into the pool.
    void set_tiers(KvTiers* tiers) { tiers_ = tiers; }
    bool has_tiers() const { return tiers_ != nullptr; }

    PrefixCacheStats stats() const { return stats_; }
    BlockPool& pool() { return pool_; }
    const BlockPool& pool() const { return pool_; }

  private:
    BlockPool& pool_;
    int32_t block_tokens_;
    bool enable_prefix_cache_;
    PrefixCacheStats stats_;
    BlockHasher hasher_;
    KvTiers* tiers_ = nullptr;
    // Loads in flight: each holds a reference on its block until polled.
    std::unordered_map<BlockHash, BlockId, BlockHashHasher> loading_;
    std::vector<LoadResult> finished_;
};

}  // namespace ig
