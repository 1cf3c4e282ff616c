#include "kvcache/disk_block_file.h"

#include <cstring>

#include "util/crc32c.h"

namespace ig {
namespace {

constexpr char kMagic[8] = {'I', 'G', 'K', 'V', 'B', 'L', 'K', '1'};

void put_u32(uint8_t* p, uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void put_u64(uint8_t* p, uint64_t v) {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t get_u32(const uint8_t* p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(p[i]) << (8 * i);
    return v;
}
uint64_t get_u64(const uint8_t* p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
    return v;
}

}  // namespace

void encode_disk_header(const DiskBlockHeader& h, std::span<uint8_t, kDiskHeaderBytes> out) {
    uint8_t* p = out.data();
    std::memcpy(p, kMagic, 8);
    put_u32(p + 8, kDiskLayoutVersion);
    put_u32(p + 12, static_cast<uint32_t>(kDiskHeaderBytes));
    put_u64(p + 16, h.payload_bytes);
    std::memcpy(p + 24, h.fingerprint.data(), 32);
    std::memcpy(p + 56, h.hash.data(), 32);
    put_u32(p + 88, h.payload_crc);
    put_u32(p + 92, crc32c(std::span<const uint8_t>(p, 92)));
}

Expected<DiskBlockHeader> decode_disk_header(std::span<const uint8_t, kDiskHeaderBytes> in) {
    const uint8_t* p = in.data();
    if (std::memcmp(p, kMagic, 8) != 0) return make_error("not a KV block file (bad magic)");
    if (get_u32(p + 92) != crc32c(std::span<const uint8_t>(p, 92)))
        return make_error("KV block header checksum mismatch");
    if (get_u32(p + 8) != kDiskLayoutVersion)
        return make_error("KV block layout version {} (expected {})", get_u32(p + 8),
                          kDiskLayoutVersion);
    if (get_u32(p + 12) != kDiskHeaderBytes)
        return make_error("KV block header size {} (expected {})", get_u32(p + 12),
                          kDiskHeaderBytes);
    DiskBlockHeader h;
    h.payload_bytes = get_u64(p + 16);
    std::memcpy(h.fingerprint.data(), p + 24, 32);
    std::memcpy(h.hash.data(), p + 56, 32);
    h.payload_crc = get_u32(p + 88);
    return h;
}

std::string hash_hex(const BlockHash& h) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string s(64, '0');
    for (size_t i = 0; i < 32; ++i) {
        s[2 * i] = kDigits[h[i] >> 4];
        s[2 * i + 1] = kDigits[h[i] & 15];
    }
    return s;
}

bool parse_hash_hex(std::string_view s, BlockHash& out) {
    if (s.size() != 64) return false;
    auto nib = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    for (size_t i = 0; i < 32; ++i) {
        const int hi = nib(s[2 * i]), lo = nib(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return false;
        out[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    return true;
}

}  // namespace ig
