#include "hub/file_digest.h"

#include <openssl/evp.h>

#include <cctype>
#include <cstdlib>
#include <string>

namespace ig::hub {

namespace {

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace

std::string to_hex(const uint8_t* p, size_t n) {
    static const char* hex = "0123456789abcdef";
    std::string s;
    s.reserve(n * 2);
    for (size_t i = 0; i < n; ++i) {
        s += hex[p[i] >> 4];
        s += hex[p[i] & 15];
    }
    return s;
}

FileDigest::FileDigest(const RemoteFile& f)
    : lfs_(!f.sha256.empty()), size_(f.size), expected_(lower(lfs_ ? f.sha256 : f.git_oid)) {
    if (!lfs_) {
        sha1_ = EVP_MD_CTX_new();
        if (!sha1_) std::abort();  // as util's Sha256: no context, no checksum
    }
    restart();
}

FileDigest::~FileDigest() {
    EVP_MD_CTX_free(sha1_);
}

void FileDigest::restart() {
    if (lfs_) {
        sha256_.begin();
        return;
    }
    if (EVP_DigestInit_ex(sha1_, EVP_sha1(), nullptr) != 1) std::abort();
    const std::string head = "blob " + std::to_string(size_);
    EVP_DigestUpdate(sha1_, head.data(), head.size() + 1);  // with its '\0'
}

void FileDigest::update(const void* p, size_t n) {
    if (lfs_)
        sha256_.update(p, n);
    else
        EVP_DigestUpdate(sha1_, p, n);
}

std::string FileDigest::finish() {
    if (lfs_) {
        const Sha256Digest d = sha256_.finish();
        return to_hex(d.data(), d.size());
    }
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(sha1_, d, &n);
    return to_hex(d, n);
}

}  // namespace ig::hub
