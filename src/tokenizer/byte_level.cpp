#include "tokenizer/byte_level.h"

#include <array>

#include "util/utf8.h"

namespace ig::byte_level {
namespace {

// Printable Latin-1 bytes map to themselves; the other 68 bytes take the
// code points from U+0100 upward, in byte order.
struct Tables {
    std::array<uint32_t, 256> to_cp{};
    std::array<int16_t, 324> from_cp{};  // code point -> byte, -1 if none
    Tables() {
        from_cp.fill(-1);
        uint32_t next = 256;
        for (uint32_t b = 0; b < 256; ++b) {
            const bool printable =
                (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
            to_cp[b] = printable ? b : next++;
            from_cp[to_cp[b]] = static_cast<int16_t>(b);
        }
    }
};

const Tables& tables() {
    static const Tables t;
    return t;
}

}  // namespace

uint32_t byte_to_codepoint(uint8_t b) {
    return tables().to_cp[b];
}

std::string byte_to_utf8(uint8_t b) {
    std::string s;
    utf8::append(s, byte_to_codepoint(b));
    return s;
}

std::string decode(std::string_view piece) {
    const Tables& t = tables();
    std::string out;
    out.reserve(piece.size());
    for (size_t i = 0; i < piece.size();) {
        const auto c = static_cast<unsigned char>(piece[i]);
        const size_t n = std::min(utf8::seq_len(c), piece.size() - i);
        uint32_t cp = 0x110000;
        if (n == 1 && c < 0x80)
            cp = c;
        else if (n == 2 && (static_cast<unsigned char>(piece[i + 1]) & 0xC0) == 0x80)
            cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(piece[i + 1]) & 0x3Fu);
        if (cp < t.from_cp.size() && t.from_cp[cp] >= 0)
            out += static_cast<char>(t.from_cp[cp]);
        else
            out.append(piece.substr(i, n));
        i += n;
    }
    return out;
}

std::string encode(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (char ch : bytes) utf8::append(out, byte_to_codepoint(static_cast<uint8_t>(ch)));
    return out;
}

}  // namespace ig::byte_level
