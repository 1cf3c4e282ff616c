#include "chat/jinja_strings.h"

#include <algorithm>

namespace ig::jinja {

size_t space_at(std::string_view s, size_t pos) {
    if (pos >= s.size()) return 0;
    unsigned char c = static_cast<unsigned char>(s[pos]);
    if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f)) return 1;
    auto b = [&](size_t k) {
        return pos + k < s.size() ? static_cast<unsigned char>(s[pos + k]) : 0;
    };
    if (c == 0xC2 && (b(1) == 0x85 || b(1) == 0xA0)) return 2;
    if (c == 0xE1 && b(1) == 0x9A && b(2) == 0x80) return 3;  // U+1680
    if (c == 0xE2 && b(1) == 0x80 &&
        ((b(2) >= 0x80 && b(2) <= 0x8A) || b(2) == 0xA8 || b(2) == 0xA9 || b(2) == 0xAF))
        return 3;
    if (c == 0xE2 && b(1) == 0x81 && b(2) == 0x9F) return 3;  // U+205F
    if (c == 0xE3 && b(1) == 0x80 && b(2) == 0x80) return 3;  // U+3000
    return 0;
}

size_t space_before(std::string_view s, size_t end) {
    for (size_t len = 1; len <= 3 && len <= end; ++len)
        if (space_at(s, end - len) == len) return len;
    return 0;
}

static size_t cp_len_at(std::string_view s, size_t pos) {
    auto off = codepoint_offsets(s.substr(pos, std::min<size_t>(4, s.size() - pos)));
    return off.size() > 1 ? off[1] : 1;
}

PStr py_strip(const PStr& s, const PStr* chars, bool left, bool right) {
    std::vector<std::string> set;
    if (chars) {
        auto off = codepoint_offsets(chars->s);
        for (size_t k = 0; k + 1 < off.size(); ++k)
            set.push_back(chars->s.substr(off[k], off[k + 1] - off[k]));
    }
    auto strip_len_at = [&](size_t pos) -> size_t {
        if (!chars) return space_at(s.s, pos);
        for (const auto& c : set)
            if (s.s.compare(pos, c.size(), c) == 0) return c.size();
        return 0;
    };
    auto strip_len_before = [&](size_t end) -> size_t {
        if (!chars) return space_before(s.s, end);
        for (const auto& c : set)
            if (c.size() <= end && s.s.compare(end - c.size(), c.size(), c) == 0) return c.size();
        return 0;
    };
    size_t b = 0, e = s.size();
    if (left)
        while (b < e) {
            size_t n = strip_len_at(b);
            if (!n) break;
            b += n;
        }
    if (right)
        while (e > b) {
            size_t n = strip_len_before(e);
            if (!n) break;
            e -= n;
        }
    return s.substr(b, e - b);
}

std::vector<PStr> py_split(const PStr& s, const PStr* sep, int64_t maxsplit) {
    std::vector<PStr> out;
    if (sep) {
        if (sep->s.empty()) return out;  // caller reports "empty separator"
        size_t start = 0;
        while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
            size_t p = s.s.find(sep->s, start);
            if (p == std::string::npos) break;
            out.push_back(s.substr(start, p - start));
            start = p + sep->s.size();
        }
        out.push_back(s.substr(start));
        return out;
    }
    size_t pos = 0;
    const size_t n = s.size();
    while (true) {
        while (pos < n && space_at(s.s, pos)) pos += space_at(s.s, pos);
        if (pos >= n) break;
        if (maxsplit >= 0 && static_cast<int64_t>(out.size()) >= maxsplit) {
            // Remainder, with trailing whitespace stripped.
            PStr rest = s.substr(pos);
            out.push_back(py_strip(rest, nullptr, false, true));
            break;
        }
        size_t e = pos;
        while (e < n && !space_at(s.s, e)) e += cp_len_at(s.s, e);
        out.push_back(s.substr(pos, e - pos));
        pos = e;
    }
    return out;
}

PStr py_replace(const PStr& s, const PStr& old, const PStr& repl, int64_t count) {
    PStr out;
    if (old.s.empty()) {
        // Python inserts `repl` between every code point (and at both ends).
        auto off = codepoint_offsets(s.s);
        int64_t done = 0;
        for (size_t k = 0; k + 1 < off.size(); ++k) {
            if (count < 0 || done < count) {
                out.append(repl);
                ++done;
            }
            out.append(s.substr(off[k], off[k + 1] - off[k]));
        }
        if (count < 0 || done < count) out.append(repl);
        return out;
    }
    size_t start = 0;
    int64_t done = 0;
    while (count < 0 || done < count) {
        size_t p = s.s.find(old.s, start);
        if (p == std::string::npos) break;
        out.append(s.substr(start, p - start));
        out.append(repl);
        start = p + old.s.size();
        ++done;
    }
    out.append(s.substr(start));
    return out;
}

PStr py_upper(const PStr& s) {
    PStr r = s;
    for (char& c : r.s)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    return r;
}

PStr py_lower(const PStr& s) {
    PStr r = s;
    for (char& c : r.s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    return r;
}

PStr py_capitalize(const PStr& s) {
    PStr r = py_lower(s);
    if (!r.s.empty() && r.s[0] >= 'a' && r.s[0] <= 'z') r.s[0] = static_cast<char>(r.s[0] - 32);
    return r;
}

PStr jinja_title(const PStr& s) {
    // re.split(r"([-\s({\[<]+)") then item[0].upper() + item[1:].lower() for each piece.
    PStr r = py_lower(s);
    bool start = true;
    for (size_t k = 0; k < r.s.size();) {
        size_t sp = space_at(r.s, k);
        char c = r.s[k];
        if (sp || c == '-' || c == '(' || c == '{' || c == '[' || c == '<') {
            start = true;
            k += sp ? sp : 1;
            continue;
        }
        if (start && c >= 'a' && c <= 'z') r.s[k] = static_cast<char>(c - 32);
        start = false;
        k += cp_len_at(r.s, k);
    }
    return r;
}

PStr html_escape(const PStr& s) {
    PStr out;
    for (size_t k = 0; k < s.size(); ++k) {
        char c = s.s[k];
        uint8_t m = s.m[k];
        switch (c) {
            case '&':
                out.append("&amp;", m);
                break;
            case '<':
                out.append("&lt;", m);
                break;
            case '>':
                out.append("&gt;", m);
                break;
            case '"':
                out.append("&#34;", m);
                break;
            case '\'':
                out.append("&#39;", m);
                break;
            default:
                out.append(std::string_view(&c, 1), m);
        }
    }
    return out;
}

std::vector<PStr> py_splitlines(const PStr& s) {
    std::vector<PStr> out;
    size_t start = 0, k = 0;
    const std::string& t = s.s;
    while (k < t.size()) {
        unsigned char c = static_cast<unsigned char>(t[k]);
        size_t brk = 0;
        if (c == '\r' && k + 1 < t.size() && t[k + 1] == '\n')
            brk = 2;
        else if (c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || (c >= 0x1c && c <= 0x1e))
            brk = 1;
        else if (c == 0xC2 && k + 1 < t.size() && static_cast<unsigned char>(t[k + 1]) == 0x85)
            brk = 2;
        else if (c == 0xE2 && k + 2 < t.size() && static_cast<unsigned char>(t[k + 1]) == 0x80 &&
                 (static_cast<unsigned char>(t[k + 2]) == 0xA8 ||
                  static_cast<unsigned char>(t[k + 2]) == 0xA9))
            brk = 3;
        if (brk) {
            out.push_back(s.substr(start, k - start));
            k += brk;
            start = k;
        } else {
            ++k;
        }
    }
    if (start < t.size()) out.push_back(s.substr(start));
    return out;
}

}  // namespace ig::jinja
