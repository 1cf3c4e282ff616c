#pragma once
// GPT-2's reversible byte <-> Unicode mapping: byte-level BPE vocabularies
// store every byte as a printable character (space is "Ġ", newline "Ċ").
#include <cstdint>
#include <string>
#include <string_view>

namespace ig::byte_level {

// The code point that stands for byte b.
uint32_t byte_to_codepoint(uint8_t b);
// UTF-8 of byte_to_codepoint(b).
std::string byte_to_utf8(uint8_t b);
// Raw bytes of a stored piece; characters outside the mapping are kept as
// their own UTF-8 (added tokens are often stored as plain text).
std::string decode(std::string_view piece);
// Stored form of raw bytes.
std::string encode(std::string_view bytes);

}  // namespace ig::byte_level
