#include "kvcache/prefix_index.h"

#include <algorithm>

namespace ig {

PrefixIndex::PrefixIndex(int32_t num_blocks) {
    const auto n = static_cast<size_t>(std::max<int32_t>(num_blocks, 0));
    hashed_.assign(n, 0);
    hash_.resize(n);
    index_.reserve(n);
}

bool PrefixIndex::insert(BlockId id, const BlockHash& h) {
    const auto i = static_cast<size_t>(id);
    if (hashed_[i]) return hash_[i] == h;  // re-publishing the same content is a no-op
    const auto [it, inserted] = index_.try_emplace(h, id);
    if (!inserted) return false;  // another block already holds this content
    hash_[i] = h;
    hashed_[i] = 1;
    return true;
}

void PrefixIndex::erase(BlockId id) {
    const auto i = static_cast<size_t>(id);
    if (!hashed_[i]) return;
    index_.erase(hash_[i]);
    hashed_[i] = 0;
}

std::optional<BlockId> PrefixIndex::find(const BlockHash& h) const {
    const auto it = index_.find(h);
    if (it == index_.end()) return std::nullopt;
    return it->second;
}

Status PrefixIndex::check() const {
    const auto n = static_cast<BlockId>(hashed_.size());
    int32_t n_hashed = 0;
    for (BlockId id = 0; id < n; ++id) {
        if (!hashed(id)) continue;
        ++n_hashed;
        const auto it = index_.find(hash_of(id));
        if (it == index_.end() || it->second != id)
            return make_error(ErrorCode::Internal, "block {}'s hash is not indexed to it", id);
    }
    if (size() != n_hashed)
        return make_error(ErrorCode::Internal, "index has {} entries, {} blocks are hashed",
                          index_.size(), n_hashed);
    for (const auto& [h, id] : index_) {
        if (id < 0 || id >= n || !hashed(id) || hash_of(id) != h)
            return make_error(ErrorCode::Internal, "index entry for block {} is stale", id);
    }
    return {};
}

}  // namespace ig
