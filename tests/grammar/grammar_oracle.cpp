#include "grammar_oracle.h"

#include <limits>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace ig::grammar::test {

namespace {

struct Item {
    uint32_t rule, alt, dot, origin;
    bool operator==(const Item&) const = default;
};

struct ItemHash {
    size_t operator()(const Item& i) const {
        uint64_t h = i.rule * 0x9E3779B97F4A7C15ULL;
        h ^= (uint64_t{i.alt} << 20) ^ (uint64_t{i.dot} << 40) ^
             (uint64_t{i.origin} * 0xC2B2AE3D27D4EB4FULL);
        return static_cast<size_t>(h ^ (h >> 29));
    }
};

std::vector<bool> nullable_rules(const Grammar& g) {
    std::vector<bool> nullable(g.rules.size(), false);
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t r = 0; r < g.rules.size(); ++r) {
            if (nullable[r]) continue;
            for (const Sequence& a : g.rules[r].alternatives) {
                bool all = true;
                for (const Element& e : a)
                    all = all && e.kind == Element::Kind::Rule && nullable[e.index];
                if (all) {
                    nullable[r] = changed = true;
                    break;
                }
            }
        }
    }
    return nullable;
}

}  // namespace

bool grammar_accepts(const Grammar& g, std::string_view text) {
    if (text.size() > 65536 || g.root >= g.rules.size()) return false;
    const auto nullable = nullable_rules(g);
    const size_t n = text.size();
    std::vector<std::vector<Item>> chart(n + 1);
    std::vector<std::unordered_set<Item, ItemHash>> seen(n + 1);
    // waiting[pos][rule]: items in chart[pos] whose next element is `rule`.
    std::vector<std::unordered_map<uint32_t, std::vector<Item>>> waiting(n + 1);
    auto add = [&](size_t pos, Item it) {
        if (!seen[pos].insert(it).second) return;
        chart[pos].push_back(it);
        const Sequence& seq = g.rules[it.rule].alternatives[it.alt];
        if (it.dot < seq.size() && seq[it.dot].kind == Element::Kind::Rule)
            waiting[pos][seq[it.dot].index].push_back(it);
    };
    for (uint32_t a = 0; a < g.rules[g.root].alternatives.size(); ++a) add(0, {g.root, a, 0, 0});
    for (size_t i = 0; i <= n; ++i) {
        for (size_t k = 0; k < chart[i].size(); ++k) {
            const Item it = chart[i][k];
            const Sequence& seq = g.rules[it.rule].alternatives[it.alt];
            if (it.dot == seq.size()) {
                auto w = waiting[it.origin].find(it.rule);
                if (w == waiting[it.origin].end()) continue;
                for (size_t j = 0; j < w->second.size(); ++j) {
                    Item up = w->second[j];
                    ++up.dot;
                    add(i, up);
                    w = waiting[it.origin].find(it.rule);  // add may rehash the map
                }
                continue;
            }
            const Element& e = seq[it.dot];
            if (e.kind == Element::Kind::Bytes) {
                if (i < n && g.byte_sets[e.index].has(static_cast<uint8_t>(text[i])))
                    add(i + 1, {it.rule, it.alt, it.dot + 1, it.origin});
                continue;
            }
            for (uint32_t a = 0; a < g.rules[e.index].alternatives.size(); ++a)
                add(i, {e.index, a, 0, static_cast<uint32_t>(i)});
            if (nullable[e.index]) add(i, {it.rule, it.alt, it.dot + 1, it.origin});
        }
    }
    for (const Item& it : chart[n])
        if (it.rule == g.root && it.origin == 0 &&
            it.dot == g.rules[it.rule].alternatives[it.alt].size())
            return true;
    return false;
}

std::optional<std::string> grammar_sample(const Grammar& g, std::mt19937& rng, size_t soft_limit) {
    constexpr size_t kInf = std::numeric_limits<size_t>::max() / 4;
    // Shortest expansion of each rule, and the alternative giving it.
    std::vector<size_t> shortest(g.rules.size(), kInf);
    std::vector<uint32_t> best(g.rules.size(), 0);
    auto seq_len = [&](const Sequence& s) {
        size_t total = 0;
        for (const Element& e : s) {
            size_t l = e.kind == Element::Kind::Bytes ? 1 : shortest[e.index];
            if (l >= kInf) return kInf;
            total += l;
        }
        return total;
    };
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t r = 0; r < g.rules.size(); ++r)
            for (uint32_t a = 0; a < g.rules[r].alternatives.size(); ++a) {
                size_t l = seq_len(g.rules[r].alternatives[a]);
                if (l < shortest[r]) {
                    shortest[r] = l;
                    best[r] = a;
                    changed = true;
                }
            }
    }
    if (shortest[g.root] >= kInf) return std::nullopt;
    std::string out;
    std::vector<Element> stack{GrammarBuilder::ref(g.root)};
    size_t pending = shortest[g.root];  // shortest length of what is on the stack
    for (size_t steps = 0; !stack.empty(); ++steps) {
        if (steps > 10'000'000) return std::nullopt;
        Element e = stack.back();
        stack.pop_back();
        if (e.kind == Element::Kind::Bytes) {
            const ByteSet& set = g.byte_sets[e.index];
            std::vector<uint8_t> bytes;
            for (unsigned b = 0; b < 256; ++b)
                if (set.has(static_cast<uint8_t>(b))) bytes.push_back(static_cast<uint8_t>(b));
            if (bytes.empty()) return std::nullopt;
            out += static_cast<char>(bytes[rng() % bytes.size()]);
            --pending;
            continue;
        }
        const Rule& rule = g.rules[e.index];
        pending -= shortest[e.index];
        uint32_t pick = best[e.index];
        if (out.size() + pending < soft_limit) {
            std::vector<uint32_t> live;
            for (uint32_t a = 0; a < rule.alternatives.size(); ++a)
                if (seq_len(rule.alternatives[a]) < kInf) live.push_back(a);
            pick = live[rng() % live.size()];
        }
        const Sequence& seq = rule.alternatives[pick];
        pending += seq_len(seq);
        for (size_t k = seq.size(); k-- > 0;) stack.push_back(seq[k]);
    }
    return out;
}

}  // namespace ig::grammar::test
