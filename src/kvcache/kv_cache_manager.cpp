#include "kvcache/kv_cache_manager.h"

#include <algorithm>
#include <cassert>
#include <cstdint>

#include "kvcache/kv_tiers.h"

namespace ig {

KvCacheManager::KvCacheManager(BlockPool& pool, int32_t block_tokens, bool enable_prefix_cache)
    : pool_(pool),
      block_tokens_(std::max(block_tokens, 1)),
      enable_prefix_cache_(enable_prefix_cache) {
    assert(block_tokens > 0);
}

int64_t KvCacheManager::match_prefix(SeqBlocks& seq, const BlockHash& root,
                                     std::span<const int32_t> tokens) {
    if (!begin_match(seq, root, tokens)) {
        wait_loads();
        return settle(seq);
    }
    return seq.num_cached_tokens;
}

bool KvCacheManager::begin_match(SeqBlocks& seq, const BlockHash& root,
                                 std::span<const int32_t> tokens) {
    assert(seq.table.empty());
    seq.num_cached_tokens = 0;
    if (!seq.table.empty()) return true;
    stats_.queries_tokens += tokens.size();
    seq.hashes.clear();
    if (!enable_prefix_cache_ || tokens.empty()) return true;

    // At least one token must be computed to produce logits, so a prompt of
    // exactly k full blocks re-uses at most k - 1.
    const size_t max_blocks = (tokens.size() - 1) / block_tokens_;
    const BlockHash* parent = &root;
    bool pending = false;
    for (size_t b = 0; b < max_blocks; ++b) {
        const BlockHash h =
            hasher_.chain(*parent, tokens.subspan(b * block_tokens_, block_tokens_));
        if (const auto id = pool_.lookup(h)) {
            // Shared as is, whether a running sequence holds it or it waits in the LRU.
            pool_.retain(*id);
            seq.table.push_back(*id);
        } else if (const auto it = loading_.find(h); it != loading_.end()) {
            pool_.retain(it->second);
            seq.table.push_back(it->second);
            pending = true;
        } else {
            if (!tiers_ || !tiers_->contains(h)) break;
            // Found below: load it into a fresh block (which may evict, and
            // so write down, an unreferenced cached block).
            const auto fresh = pool_.allocate();
            if (!fresh) break;
            const LoadStart st = tiers_->begin_load(h, *fresh);
            if (st == LoadStart::Pending) {
                pool_.retain(*fresh);  // the load's own reference
                loading_.emplace(h, *fresh);
                pending = true;
            } else if (st == LoadStart::Missed || !pool_.publish(*fresh, h)) {
                pool_.release(*fresh);
                break;
            } else {
                stats_.tier_hits_tokens += static_cast<uint64_t>(block_tokens_);
            }
            seq.table.push_back(*fresh);
        }
        seq.hashes.push_back(h);
        parent = &seq.hashes.back();
    }
    if (pending) return false;
    settle(seq);
    return true;
}

bool KvCacheManager::loads_done(const SeqBlocks& seq) const {
    if (loading_.empty()) return true;
    for (size_t b = 0; b < seq.hashes.size() && b < seq.table.size(); ++b)
        if (const auto it = loading_.find(seq.hashes[b]);
            it != loading_.end() && it->second == seq.table[b])
            return false;
    return true;
}

int64_t KvCacheManager::settle(SeqBlocks& seq) {
    assert(loads_done(seq));
    // A block is good when the prefix index holds it under its hash: pool
    // hits trivially, loads once published. A failed load was never published.
    size_t good = 0;
    while (good < seq.table.size() && good < seq.hashes.size() &&
           pool_.lookup(seq.hashes[good]) == seq.table[good])
        ++good;
    for (size_t b = seq.table.size(); b-- > good;) pool_.release(seq.table[b]);
    seq.table.resize(good);
    seq.hashes.resize(good);
    seq.num_cached_tokens = static_cast<int64_t>(good) * block_tokens_;
    stats_.hits_tokens += static_cast<uint64_t>(seq.num_cached_tokens);
    return seq.num_cached_tokens;
}

void KvCacheManager::poll_loads() {
    if (!tiers_ || loading_.empty()) return;
    tiers_->poll_loads(finished_);
    for (const LoadResult& r : finished_) {
        loading_.erase(r.hash);
        // publish() fails when a sequence computed the same block meanwhile:
        // this copy then stays private and its walkers recompute from here.
        if (r.ok && pool_.publish(r.block, r.hash))
            stats_.tier_hits_tokens += static_cast<uint64_t>(block_tokens_);
        pool_.release(r.block);
    }
}

void KvCacheManager::wait_loads() {
    if (!tiers_ || loading_.empty()) return;
    tiers_->wait_loads();
    poll_loads();
}

int32_t KvCacheManager::blocks_needed(const SeqBlocks& seq, int64_t n_tokens) const {
    const int64_t n = std::max<int64_t>(n_tokens, 0);
    const int64_t blocks = n / block_tokens_ + (n % block_tokens_ != 0);
    const int64_t extra = blocks - static_cast<int64_t>(seq.table.size());
    // Saturates: no pool holds more than INT32_MAX blocks, so ensure() still fails.
    return static_cast<int32_t>(std::clamp<int64_t>(extra, 0, INT32_MAX));
}

bool KvCacheManager::ensure(SeqBlocks& seq, int64_t n_tokens) {
    const int32_t need = blocks_needed(seq, n_tokens);
    if (need > pool_.num_free()) return false;
    for (int32_t i = 0; i < need; ++i) {
        const auto id = pool_.allocate();  // cannot fail: num_free counts evictable blocks
        assert(id);
        seq.table.push_back(*id);
    }
    return true;
}

void KvCacheManager::publish_full(SeqBlocks& seq, const BlockHash& root,
                                  std::span<const int32_t> tokens, int64_t n_computed) {
    if (!enable_prefix_cache_) return;
    const int64_t computed =
        std::clamp<int64_t>(n_computed, 0, static_cast<int64_t>(tokens.size()));
    const size_t n_full = std::min(static_cast<size_t>(computed / block_tokens_), seq.table.size());
    seq.hashes.reserve(n_full);
    for (size_t b = seq.hashes.size(); b < n_full; ++b) {
        const BlockHash& parent = b == 0 ? root : seq.hashes[b - 1];
        seq.hashes.push_back(
            hasher_.chain(parent, tokens.subspan(b * block_tokens_, block_tokens_)));
        // false: another block already holds this content (computed concurrently);
        // ours stays private and is freed normally. The chain still continues:
        // later blocks hash the content, not the block that holds it.
        if (pool_.publish(seq.table[b], seq.hashes.back()) && tiers_)
            tiers_->on_full(seq.table[b], seq.hashes.back());  // written behind
    }
}

Expected<std::optional<std::pair<BlockId, BlockId>>> KvCacheManager::fork(const SeqBlocks& src,
                                                                          SeqBlocks& dst,
                                                                          int64_t n_tokens) {
    if (&src == &dst || !dst.table.empty())
        return make_error(ErrorCode::Internal, "KV fork: the destination sequence is not empty");
    const int64_t capacity = static_cast<int64_t>(src.table.size()) * block_tokens_;
    if (n_tokens < 0 || n_tokens > capacity)
        return make_error(ErrorCode::Internal,
                          "KV fork: {} tokens requested, the source holds blocks for {}", n_tokens,
                          capacity);
    const size_t n_full = static_cast<size_t>(n_tokens / block_tokens_);
    const bool partial = n_tokens % block_tokens_ != 0;
    if (partial && pool_.num_free() < 1)
        return make_error(ErrorCode::QueueFull, "KV fork: no free block for the partial block");

    dst.table.assign(src.table.begin(), src.table.begin() + static_cast<ptrdiff_t>(n_full));
    for (const BlockId id : dst.table) pool_.retain(id);
    const size_t n_hashes = std::min(src.hashes.size(), n_full);
    dst.hashes.assign(src.hashes.begin(), src.hashes.begin() + static_cast<ptrdiff_t>(n_hashes));
    dst.num_cached_tokens = src.num_cached_tokens;
    if (!partial) return std::optional<std::pair<BlockId, BlockId>>{};

    const auto id = pool_.allocate();
    assert(id);
    dst.table.push_back(*id);
    return std::optional<std::pair<BlockId, BlockId>>{std::pair{src.table[n_full], *id}};
}

void KvCacheManager::free(SeqBlocks& seq) {
    // Tail first: the LRU then evicts a chain's tail before its head. Evicting
    // a head first would strand its tail anyway (lookups walk from the root).
    for (auto it = seq.table.rbegin(); it != seq.table.rend(); ++it) pool_.release(*it);
    seq.table.clear();
    seq.hashes.clear();
    seq.num_cached_tokens = 0;
}

}  // namespace ig
