#include "kvcache/block_hash.h"

#include <bit>
#include <cstdlib>
#include <utility>
#include <vector>

#include <openssl/evp.h>

namespace ig {
namespace {

// Fetched once: EVP_sha256() makes every DigestInit fetch the algorithm
// again, which costs more than hashing a block. Immutable after first use.
const EVP_MD* sha256_md() {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
    return md;
#else
    return EVP_sha256();
#endif
}

}  // namespace

// EVP_Digest* only fail on allocation failure or a missing default provider;
// neither is recoverable here, and a wrong hash would silently share KV
// between different prefixes, so those failures abort.
BlockHasher::BlockHasher() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_) std::abort();
}
BlockHasher::~BlockHasher() {
    EVP_MD_CTX_free(ctx_);
}
BlockHasher::BlockHasher(BlockHasher&& o) noexcept : ctx_(std::exchange(o.ctx_, nullptr)) {}
BlockHasher& BlockHasher::operator=(BlockHasher&& o) noexcept {
    std::swap(ctx_, o.ctx_);
    return *this;
}

void BlockHasher::begin() {
    if (!ctx_) ctx_ = EVP_MD_CTX_new();  // moved-from hashers stay usable
    const EVP_MD* md = sha256_md();
    if (!ctx_ || !md || EVP_DigestInit_ex(ctx_, md, nullptr) != 1) std::abort();
}

void BlockHasher::update(const void* p, size_t n) {
    if (n && EVP_DigestUpdate(ctx_, p, n) != 1) std::abort();
}

void BlockHasher::update_u64(uint64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
    update(b, sizeof b);
}

void BlockHasher::update_field(std::string_view s) {
    update_u64(s.size());
    update(s.data(), s.size());
}

BlockHash BlockHasher::finish() {
    BlockHash h{};
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx_, h.data(), &len) != 1 || len != h.size()) std::abort();
    return h;
}

BlockHash BlockHasher::sha256(std::span<const uint8_t> bytes) {
    begin();
    update(bytes.data(), bytes.size());
    return finish();
}

BlockHash BlockHasher::root(std::string_view model_fingerprint, std::string_view cache_salt) {
    begin();
    update_field("infergrid-kv-v1");
    update_field(model_fingerprint);
    update_field(cache_salt);
    return finish();
}

BlockHash BlockHasher::chain(const BlockHash& parent, std::span<const int32_t> block_tokens) {
    begin();
    update(parent.data(), parent.size());
    if constexpr (std::endian::native == std::endian::little) {
        update(block_tokens.data(), block_tokens.size_bytes());
    } else {
        std::vector<uint8_t> le(block_tokens.size_bytes());
        for (size_t i = 0; i < block_tokens.size(); ++i) {
            const auto v = static_cast<uint32_t>(block_tokens[i]);
            for (int b = 0; b < 4; ++b) le[4 * i + b] = static_cast<uint8_t>(v >> (8 * b));
        }
        update(le.data(), le.size());
    }
    return finish();
}

BlockHash sha256(std::span<const uint8_t> bytes) {
    return BlockHasher().sha256(bytes);
}

BlockHash root_hash(std::string_view model_fingerprint, std::string_view cache_salt) {
    return BlockHasher().root(model_fingerprint, cache_salt);
}

BlockHash chain_hash(const BlockHash& parent, std::span<const int32_t> block_tokens) {
    return BlockHasher().chain(parent, block_tokens);
}

}  // namespace ig
