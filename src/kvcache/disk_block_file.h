#pragma once
// On-disk format of one KV block: a fixed 96-byte header, then the block's
// bytes. Files are named <hex block hash>.kvb and written as <name>.tmp then
// renamed, so a crash mid-write leaves at most a stray temp file.
//
//   0  magic "IGKVBLK1"        8
//   8  layout version (u32)    4   kDiskLayoutVersion
//  12  header bytes (u32)      4   96
//  16  payload bytes (u64)     8   == the engine's block_bytes
//  24  fingerprint            32   SHA-256 of the model fingerprint + KV layout
//  56  block hash             32   chain hash (== the file name)
//  88  payload CRC32C (u32)    4
//  92  header CRC32C (u32)     4   over bytes [0, 92)
// All integers little-endian.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "kvcache/block_hash.h"
#include "util/expected.h"

namespace ig {

inline constexpr uint32_t kDiskLayoutVersion = 1;
inline constexpr size_t kDiskHeaderBytes = 96;

struct DiskBlockHeader {
    uint64_t payload_bytes = 0;
    BlockHash fingerprint{};
    BlockHash hash{};
    uint32_t payload_crc = 0;
};

// Serialises `h` (computing the header CRC) into 96 bytes.
void encode_disk_header(const DiskBlockHeader& h, std::span<uint8_t, kDiskHeaderBytes> out);
// Parses and checks magic, version, size field and header CRC.
Expected<DiskBlockHeader> decode_disk_header(std::span<const uint8_t, kDiskHeaderBytes> in);

std::string hash_hex(const BlockHash& h);
bool parse_hash_hex(std::string_view s, BlockHash& out);

}  // namespace ig
