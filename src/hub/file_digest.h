#pragma once
// The checksum the hub lists for a file, computed over bytes as they
// arrive: SHA-256 of the content for LFS files, and for plain git files
// the git blob id, SHA-1("blob <size>\0" + content).
#include <cstddef>
#include <cstdint>
#include <string>

#include "hub/hub_client.h"
#include "util/sha256.h"

struct evp_md_ctx_st;

namespace ig::hub {

class FileDigest {
  public:
    // Checks `f` against its LFS SHA-256 when it has one, else its git blob id.
    explicit FileDigest(const RemoteFile& f);
    ~FileDigest();
    FileDigest(const FileDigest&) = delete;
    FileDigest& operator=(const FileDigest&) = delete;

    void restart();  // forget the bytes so far
    void update(const void* p, size_t n);
    // Lower-case hex of the digest of the bytes given since restart().
    std::string finish();
    const std::string& expected() const { return expected_; }
    // "sha256" or "git blob sha1"
    const char* kind() const { return lfs_ ? "sha256" : "git blob sha1"; }

  private:
    bool lfs_;
    int64_t size_;
    std::string expected_;
    Sha256 sha256_;
    ::evp_md_ctx_st* sha1_ = nullptr;
};

std::string to_hex(const uint8_t* p, size_t n);

}  // namespace ig::hub
