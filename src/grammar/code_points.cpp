#include "grammar/code_points.h"

#include <algorithm>

#include "util/utf8.h"

namespace ig::grammar {

CodeSet make_code_set(CodeSet in) {
    CodeSet cut;
    for (auto [lo, hi] : in) {
        hi = std::min(hi, kMaxCodePoint);
        if (lo <= hi) cut.push_back({lo, hi});
    }
    std::sort(cut.begin(), cut.end());
    CodeSet out;
    for (auto r : cut) {
        if (!out.empty() && r.first <= out.back().second + 1)
            out.back().second = std::max(out.back().second, r.second);
        else
            out.push_back(r);
    }
    return out;
}

CodeSet complement(const CodeSet& s) {
    CodeSet out;
    char32_t next = 0;
    for (auto [lo, hi] : s) {
        if (lo > next) out.push_back({next, lo - 1});
        next = hi + 1;
    }
    if (next <= kMaxCodePoint) out.push_back({next, kMaxCodePoint});
    return out;
}

CodeSet intersect(const CodeSet& a, const CodeSet& b) {
    CodeSet out;
    size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        char32_t lo = std::max(a[i].first, b[j].first);
        char32_t hi = std::min(a[i].second, b[j].second);
        if (lo <= hi) out.push_back({lo, hi});
        if (a[i].second < b[j].second)
            ++i;
        else
            ++j;
    }
    return out;
}

CodeSet unite(const CodeSet& a, const CodeSet& b) {
    CodeSet all = a;
    all.insert(all.end(), b.begin(), b.end());
    return make_code_set(std::move(all));
}

bool contains(const CodeSet& s, char32_t c) {
    auto it = std::upper_bound(s.begin(), s.end(), c,
                               [](char32_t v, const CodeRange& r) { return v < r.first; });
    return it != s.begin() && std::prev(it)->second >= c;
}

size_t decode_utf8(std::string_view s, size_t i, char32_t& cp) {
    if (i >= s.size()) return 0;
    size_t n = utf8::valid_at(s, i);
    if (n == 0) return 0;
    auto c = static_cast<unsigned char>(s[i]);
    char32_t v = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < n; ++k) v = (v << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    cp = v;
    return n;
}

std::string encode_utf8(char32_t cp) {
    std::string out;
    utf8::append(out, cp);
    return out;
}

}  // namespace ig::grammar
