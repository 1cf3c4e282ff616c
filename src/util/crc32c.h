#pragma once
// CRC32C (Castagnoli) of byte ranges: the checksum of disk-tier block files.
// SSE4.2's crc32 instruction where the CPU has it (checked at run time),
// else a table; both give the same value.
#include <cstddef>
#include <cstdint>
#include <span>

namespace ig {

// Extends `crc` (0 for a fresh checksum) over `bytes`.
uint32_t crc32c(std::span<const uint8_t> bytes, uint32_t crc = 0);

}  // namespace ig
