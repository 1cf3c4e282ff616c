#include "kvcache/block_hash.h"

#include <bit>
#include <cstdlib>
#include <vector>

#include <openssl/evp.h>

namespace ig {
namespace {

// One digest over a list of byte ranges. EVP_Digest* only fails on
// allocation failure or a missing default provider; neither is recoverable
// here and a wrong hash would silently share KV across prefixes, so abort.
class Sha256 {
  public:
    Sha256() : ctx_(EVP_MD_CTX_new()) {
        if (!ctx_ || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) std::abort();
    }
    ~Sha256() { EVP_MD_CTX_free(ctx_); }
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    void update(const void* p, size_t n) {
        if (n && EVP_DigestUpdate(ctx_, p, n) != 1) std::abort();
    }
    void update_u64(uint64_t v) {
        uint8_t b[8];
        for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
        update(b, sizeof b);
    }
    void update_field(std::string_view s) {
        update_u64(s.size());
        update(s.data(), s.size());
    }
    BlockHash finish() {
        BlockHash h{};
        unsigned int len = 0;
        if (EVP_DigestFinal_ex(ctx_, h.data(), &len) != 1 || len != h.size()) std::abort();
        return h;
    }

  private:
    EVP_MD_CTX* ctx_;
};

}  // namespace

BlockHash sha256(std::span<const uint8_t> bytes) {
    Sha256 s;
    s.update(bytes.data(), bytes.size());
    return s.finish();
}

BlockHash root_hash(std::string_view model_fingerprint, std::string_view cache_salt) {
    Sha256 s;
    s.update_field("infergrid-kv-v1");
    s.update_field(model_fingerprint);
    s.update_field(cache_salt);
    return s.finish();
}

BlockHash chain_hash(const BlockHash& parent, std::span<const int32_t> block_tokens) {
    Sha256 s;
    s.update(parent.data(), parent.size());
    if constexpr (std::endian::native == std::endian::little) {
        s.update(block_tokens.data(), block_tokens.size_bytes());
    } else {
        std::vector<uint8_t> le(block_tokens.size_bytes());
        for (size_t i = 0; i < block_tokens.size(); ++i) {
            const auto v = static_cast<uint32_t>(block_tokens[i]);
            for (int b = 0; b < 4; ++b) le[4 * i + b] = static_cast<uint8_t>(v >> (8 * b));
        }
        s.update(le.data(), le.size());
    }
    return s.finish();
}

}  // namespace ig
