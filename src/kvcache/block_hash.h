#pragma once
// Content hashes of KV blocks for the prefix index. A block's hash chains
// over every block before it, so equal hashes mean equal prefixes (model,
// tenant salt and all tokens up to the end of the block). SHA-256 keeps
// collisions across tenants infeasible.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "util/sha256.h"

namespace ig {

using BlockId = int32_t;
using BlockHash = Sha256Digest;

// Root of every chain: SHA-256("infergrid-kv-v1" | fingerprint | salt), each
// field preceded by its length as a little-endian uint64.
BlockHash root_hash(std::string_view model_fingerprint, std::string_view cache_salt);

// Hash of one full block: SHA-256(parent | block_tokens as little-endian int32).
BlockHash chain_hash(const BlockHash& parent, std::span<const int32_t> block_tokens);

// The same hashes through one reusable digest context: for loops over many
// blocks (the free functions above set up a context per call). Not thread-safe.
class BlockHasher {
  public:
    BlockHash root(std::string_view model_fingerprint, std::string_view cache_salt);
    BlockHash chain(const BlockHash& parent, std::span<const int32_t> block_tokens);

  private:
    void update_u64(uint64_t v);
    void update_field(std::string_view s);

    Sha256 sha_;
};

// Hash-table functor: the digest is already uniform, so its first 8 bytes do.
struct BlockHashHasher {
    size_t operator()(const BlockHash& h) const noexcept {
        uint64_t v;
        std::memcpy(&v, h.data(), sizeof v);
        return static_cast<size_t>(v);
    }
};

}  // namespace ig
