#include "kvcache/block_pool.h"

#include <algorithm>
#include <cassert>

namespace ig {

BlockPool::BlockPool(int32_t num_blocks) : index_(num_blocks) {
    const auto n = static_cast<size_t>(std::max<int32_t>(num_blocks, 0));
    refcount_.assign(n, 0);
    state_.assign(n, State::Free);
    prev_.assign(n, kNone);
    next_.assign(n, kNone);
    // Stack top is block 0, so a fresh pool hands out ids 0, 1, 2, ...
    free_.reserve(n);
    for (size_t i = n; i-- > 0;) free_.push_back(static_cast<BlockId>(i));
}

void BlockPool::lru_push_back(BlockId id) {
    prev_[id] = lru_tail_;
    next_[id] = kNone;
    if (lru_tail_ != kNone) {
        next_[lru_tail_] = id;
    } else {
        lru_head_ = id;
    }
    lru_tail_ = id;
    ++num_lru_;
}

void BlockPool::lru_unlink(BlockId id) {
    const BlockId p = prev_[id], n = next_[id];
    if (p != kNone) {
        next_[p] = n;
    } else {
        lru_head_ = n;
    }
    if (n != kNone) {
        prev_[n] = p;
    } else {
        lru_tail_ = p;
    }
    prev_[id] = next_[id] = kNone;
    --num_lru_;
}

std::optional<BlockId> BlockPool::allocate() {
    BlockId id;
    if (!free_.empty()) {
        id = free_.back();
        free_.pop_back();
    } else if (lru_head_ != kNone) {
        id = lru_head_;
        lru_unlink(id);
        if (evict_hook_) evict_hook_(id, index_.hash_of(id));
        index_.erase(id);
        ++evictions_;
    } else {
        return std::nullopt;
    }
    state_[id] = State::InUse;
    refcount_[id] = 1;
    ++num_used_;
    return id;
}

void BlockPool::retain(BlockId id) {
    // Retaining a free block would put it on two lists at once; a caller bug.
    assert(valid(id) && state_[id] != State::Free);
    if (!valid(id) || state_[id] == State::Free) return;
    if (state_[id] == State::Cached) {
        lru_unlink(id);
        state_[id] = State::InUse;
        ++num_used_;
    }
    ++refcount_[id];
}

void BlockPool::release(BlockId id) {
    assert(valid(id) && state_[id] == State::InUse);
    if (!valid(id) || state_[id] != State::InUse) return;
    if (--refcount_[id] > 0) return;
    --num_used_;
    if (index_.hashed(id)) {
        state_[id] = State::Cached;
        lru_push_back(id);
    } else {
        state_[id] = State::Free;
        free_.push_back(id);
    }
}

bool BlockPool::publish(BlockId id, const BlockHash& h) {
    if (!valid(id) || state_[id] != State::InUse) return false;
    return index_.insert(id, h);
}

int32_t BlockPool::refcount(BlockId id) const {
    return valid(id) ? refcount_[id] : 0;
}

Status BlockPool::check() const {
    const int32_t n = num_blocks();
    int32_t n_free = 0, n_cached = 0, n_used = 0;
    for (BlockId id = 0; id < n; ++id) {
        switch (state_[id]) {
            case State::Free:
                ++n_free;
                if (refcount_[id] != 0 || index_.hashed(id))
                    return make_error(ErrorCode::Internal,
                                      "free block {} has refcount {} hashed {}", id, refcount_[id],
                                      index_.hashed(id));
                break;
            case State::Cached:
                ++n_cached;
                if (refcount_[id] != 0 || !index_.hashed(id))
                    return make_error(ErrorCode::Internal,
                                      "cached block {} has refcount {} hashed {}", id,
                                      refcount_[id], index_.hashed(id));
                break;
            case State::InUse:
                ++n_used;
                if (refcount_[id] <= 0)
                    return make_error(ErrorCode::Internal, "in-use block {} has refcount {}", id,
                                      refcount_[id]);
                break;
        }
    }
    if (auto st = index_.check(); !st.ok()) return st;
    if (n_used != num_used_)
        return make_error(ErrorCode::Internal, "{} blocks in use, counter says {}", n_used,
                          num_used_);

    // Free stack: exactly the free blocks, each once.
    if (static_cast<int32_t>(free_.size()) != n_free)
        return make_error(ErrorCode::Internal, "free stack holds {}, {} blocks are free",
                          free_.size(), n_free);
    std::vector<uint8_t> seen(static_cast<size_t>(n), 0);
    for (const BlockId id : free_) {
        if (!valid(id) || state_[id] != State::Free || seen[id]++)
            return make_error(ErrorCode::Internal, "free stack entry {} is wrong or repeated", id);
    }

    // LRU list: exactly the cached blocks, links consistent both ways.
    int32_t walked = 0;
    BlockId prev = kNone;
    for (BlockId id = lru_head_; id != kNone; id = next_[id]) {
        if (!valid(id) || state_[id] != State::Cached || prev_[id] != prev || ++walked > n)
            return make_error(ErrorCode::Internal, "LRU list broken at block {}", id);
        prev = id;
    }
    if (prev != lru_tail_ || walked != n_cached || walked != num_lru_)
        return make_error(ErrorCode::Internal, "LRU list has {} blocks, {} cached, counter {}",
                          walked, n_cached, num_lru_);
    if (n_free + n_cached + n_used != n)
        return make_error(ErrorCode::Internal, "states do not add up to {} blocks", n);
    return {};
}

}  // namespace ig
