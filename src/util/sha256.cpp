#include "util/sha256.h"

#include <cstdlib>
#include <utility>

#include <openssl/evp.h>

namespace ig {
namespace {

// Fetched once: EVP_sha256() makes every DigestInit fetch the algorithm
// again, which costs more than hashing a KV block. Immutable after first use.
const EVP_MD* sha256_md() {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
    return md;
#else
    return EVP_sha256();
#endif
}

}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_) std::abort();
}
Sha256::~Sha256() {
    EVP_MD_CTX_free(ctx_);
}
Sha256::Sha256(Sha256&& o) noexcept : ctx_(std::exchange(o.ctx_, nullptr)) {}
Sha256& Sha256::operator=(Sha256&& o) noexcept {
    std::swap(ctx_, o.ctx_);
    return *this;
}

void Sha256::begin() {
    if (!ctx_) ctx_ = EVP_MD_CTX_new();  // moved-from contexts stay usable
    const EVP_MD* md = sha256_md();
    if (!ctx_ || !md || EVP_DigestInit_ex(ctx_, md, nullptr) != 1) std::abort();
}

void Sha256::update(const void* p, size_t n) {
    if (n && EVP_DigestUpdate(ctx_, p, n) != 1) std::abort();
}

Sha256Digest Sha256::finish() {
    Sha256Digest h{};
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx_, h.data(), &len) != 1 || len != h.size()) std::abort();
    return h;
}

Sha256Digest sha256(std::span<const uint8_t> bytes) {
    Sha256 s;
    s.begin();
    s.update(bytes.data(), bytes.size());
    return s.finish();
}

}  // namespace ig
