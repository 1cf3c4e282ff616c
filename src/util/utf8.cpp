#include "util/utf8.h"

namespace ig::utf8 {

void append(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}
namespace {

bool is_cont(unsigned char c) {
    return (c & 0xC0) == 0x80;
}

}  // namespace

size_t valid_at(std::string_view s, size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) return 1;
    const size_t n = seq_len(c);
    if (n == 1 || i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k)
        if (!is_cont(static_cast<unsigned char>(s[i + k]))) return 0;
    // Reject overlong forms, surrogates and values above U+10FFFF.
    const auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (n == 2 && c < 0xC2) return 0;
    if (n == 3 && c == 0xE0 && c1 < 0xA0) return 0;
    if (n == 3 && c == 0xED && c1 >= 0xA0) return 0;
    if (n == 4 && (c > 0xF4 || (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 >= 0x90))) return 0;
    return n;
}

size_t incomplete_tail(std::string_view s) {
    // Look back at most 3 bytes for a lead byte whose sequence is cut off.
    for (size_t back = 1; back <= 3 && back <= s.size(); ++back) {
        const auto c = static_cast<unsigned char>(s[s.size() - back]);
        if (is_cont(c)) continue;
        const size_t n = seq_len(c);
        return (n > back) ? back : 0;
    }
    return 0;
}

std::string sanitize(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        const size_t n = valid_at(s, i);
        if (n == 0) {
            out += "\xEF\xBF\xBD";
            ++i;
        } else {
            out.append(s.substr(i, n));
            i += n;
        }
    }
    return out;
}

}  // namespace ig::utf8
