#include "tokenizer/special_tokens.h"

#include <algorithm>

namespace ig {

SpecialTokenMatcher::SpecialTokenMatcher(const Vocab& v) {
    if (v.types.empty()) return;
    for (int32_t id = 0; id < v.size(); ++id) {
        const TokenType t = v.type(id);
        if (t != TokenType::Control && t != TokenType::UserDefined && t != TokenType::Unknown)
            continue;
        const std::string& s = v.tokens[static_cast<size_t>(id)];
        if (s.empty()) continue;
        by_first_[static_cast<unsigned char>(s[0])].push_back(id);
        if (t == TokenType::UserDefined) has_user_defined_ = true;
    }
    for (auto& ids : by_first_)
        std::stable_sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) {
            return v.tokens[static_cast<size_t>(a)].size() >
                   v.tokens[static_cast<size_t>(b)].size();
        });
}

std::vector<Fragment> SpecialTokenMatcher::split(const Vocab& v, std::string_view text,
                                                 const EncodeOptions& opt) const {
    std::vector<Fragment> out;
    if (text.empty()) return out;
    if (!opt.parse_special && !has_user_defined_) {
        out.push_back({0, text.size()});
        return out;
    }
    const auto& allowed = opt.special_allowed;
    auto permitted = [&](int32_t id, size_t b, size_t n) {
        // User-defined tokens are vocabulary entries for ordinary text (runs
        // of spaces, single characters): always matched, as the reference
        // tokenizers do. Control tokens need parse_special and permission.
        if (v.type(id) == TokenType::UserDefined) return true;
        if (!opt.parse_special) return false;
        if (allowed.empty()) return true;
        if (b + n > allowed.size()) return false;
        for (size_t i = b; i < b + n; ++i)
            if (allowed[i] == 0) return false;
        return true;
    };
    size_t plain = 0;  // start of the current plain run
    for (size_t i = 0; i < text.size();) {
        int32_t hit = -1;
        for (int32_t id : by_first_[static_cast<unsigned char>(text[i])]) {
            const std::string& s = v.tokens[static_cast<size_t>(id)];
            if (text.compare(i, s.size(), s) == 0 && permitted(id, i, s.size())) {
                hit = id;
                break;
            }
        }
        if (hit < 0) {
            ++i;
            continue;
        }
        if (i > plain) out.push_back({plain, i - plain});
        const size_t n = v.tokens[static_cast<size_t>(hit)].size();
        out.push_back({i, n, hit});
        i += n;
        plain = i;
    }
    if (plain < text.size()) out.push_back({plain, text.size() - plain});
    return out;
}

}  // namespace ig
