#include "kvcache/block_hash.h"

#include <bit>
#include <vector>

namespace ig {

void BlockHasher::update_u64(uint64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
    sha_.update(b, sizeof b);
}

void BlockHasher::update_field(std::string_view s) {
    update_u64(s.size());
    sha_.update(s.data(), s.size());
}

BlockHash BlockHasher::root(std::string_view model_fingerprint, std::string_view cache_salt) {
    sha_.begin();
    update_field("infergrid-kv-v1");
    update_field(model_fingerprint);
    update_field(cache_salt);
    return sha_.finish();
}

BlockHash BlockHasher::chain(const BlockHash& parent, std::span<const int32_t> block_tokens) {
    sha_.begin();
    sha_.update(parent.data(), parent.size());
    if constexpr (std::endian::native == std::endian::little) {
        sha_.update(block_tokens.data(), block_tokens.size_bytes());
    } else {
        std::vector<uint8_t> le(block_tokens.size_bytes());
        for (size_t i = 0; i < block_tokens.size(); ++i) {
            const auto v = static_cast<uint32_t>(block_tokens[i]);
            for (int b = 0; b < 4; ++b) le[4 * i + b] = static_cast<uint8_t>(v >> (8 * b));
        }
        sha_.update(le.data(), le.size());
    }
    return sha_.finish();
}

BlockHash root_hash(std::string_view model_fingerprint, std::string_view cache_salt) {
    return BlockHasher().root(model_fingerprint, cache_salt);
}

BlockHash chain_hash(const BlockHash& parent, std::span<const int32_t> block_tokens) {
    return BlockHasher().chain(parent, block_tokens);
}

}  // namespace ig
