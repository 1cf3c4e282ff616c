#include "grammar/vocab_trie.h"

#include <algorithm>
#include <limits>
#include <numeric>

namespace ig::grammar {

VocabTrie::VocabTrie(const TokenVocab& vocab)
    : end_tokens_(vocab.end_tokens), pieces_(vocab.pieces), control_(vocab.control) {
    const size_t n = pieces_.size();
    control_.resize(n, 0);
    is_end_.assign(n, 0);
    for (int32_t t : end_tokens_)
        if (t >= 0 && static_cast<size_t>(t) < n) is_end_[static_cast<size_t>(t)] = 1;

    // End tokens are decided by the grammar's end, and a token that adds no
    // bytes would let a sequence loop without progress: neither joins the trie.
    // Over-long pieces (no real vocabulary has them) are left out, not truncated.
    std::vector<int32_t> order;
    for (size_t i = 0; i < n; ++i)
        if (!is_end_[i] && !pieces_[i].empty() &&
            pieces_[i].size() < std::numeric_limits<uint16_t>::max())
            order.push_back(static_cast<int32_t>(i));
    std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
        const std::string& x = pieces_[static_cast<size_t>(a)];
        const std::string& y = pieces_[static_cast<size_t>(b)];
        return x != y ? x < y : a < b;
    });

    std::vector<uint32_t> path;  // node index per depth of the current prefix
    const std::string* prev = nullptr;
    for (int32_t id : order) {
        const std::string& s = pieces_[static_cast<size_t>(id)];
        size_t lcp = 0;
        if (prev)
            while (lcp < prev->size() && lcp < s.size() && (*prev)[lcp] == s[lcp]) ++lcp;
        while (path.size() > lcp) {
            nodes_[path.back()].end = static_cast<uint32_t>(nodes_.size());
            path.pop_back();
        }
        for (size_t d = path.size(); d < s.size(); ++d) {
            Node node;
            node.depth = static_cast<uint16_t>(d + 1);
            node.byte = static_cast<uint8_t>(s[d]);
            path.push_back(static_cast<uint32_t>(nodes_.size()));
            nodes_.push_back(node);
        }
        Node& last = nodes_[path.back()];
        if (last.n_tokens == 0) last.first_token = static_cast<uint32_t>(token_ids_.size());
        ++last.n_tokens;
        token_ids_.push_back(id);
        max_depth_ = std::max(max_depth_, static_cast<int>(s.size()));
        prev = &s;
    }
    while (!path.empty()) {
        nodes_[path.back()].end = static_cast<uint32_t>(nodes_.size());
        path.pop_back();
    }
}

}  // namespace ig::grammar
