#pragma once
// SHA-256 through OpenSSL's EVP interface: one-shot, or incremental through
// a reusable context (a loop over many small messages should not set up a
// context per message).
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX, kept out of this header

namespace ig {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest sha256(std::span<const uint8_t> bytes);

// begin(), any number of update()s, finish(); then begin() again. Not
// thread-safe. EVP failures (allocation, a missing default provider) abort:
// callers key shared state by these digests, and a wrong one is worse.
class Sha256 {
  public:
    Sha256();
    ~Sha256();
    Sha256(Sha256&& o) noexcept;
    Sha256& operator=(Sha256&& o) noexcept;
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    void begin();
    void update(const void* p, size_t n);
    Sha256Digest finish();

  private:
    ::evp_md_ctx_st* ctx_;
};

}  // namespace ig
