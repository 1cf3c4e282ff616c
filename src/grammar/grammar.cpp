#include "grammar/grammar.h"

#include "grammar/code_points.h"

#include <algorithm>

#include <fmt/format.h>

namespace ig::grammar {

namespace {

int utf8_length(char32_t c) {
    return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
}

void encode(char32_t c, int n, uint8_t* out) {
    if (n == 1) {
        out[0] = static_cast<uint8_t>(c);
        return;
    }
    static constexpr uint8_t lead[] = {0, 0, 0xC0, 0xE0, 0xF0};
    for (int i = n - 1; i > 0; --i) {
        out[i] = static_cast<uint8_t>(0x80 | (c & 0x3F));
        c >>= 6;
    }
    out[0] = static_cast<uint8_t>(lead[n] | c);
}

// Splits [lo, hi] (one encoded length) into pieces whose UTF-8 encodings are
// a product of byte ranges (the method RE2 and Go's regexp/syntax use).
void split_utf8(char32_t lo, char32_t hi,
                std::vector<std::vector<std::pair<uint8_t, uint8_t>>>& out) {
    int n = utf8_length(lo);
    if (utf8_length(hi) != n) {
        char32_t edge = n == 1 ? 0x7F : n == 2 ? 0x7FF : 0xFFFF;
        split_utf8(lo, edge, out);
        split_utf8(edge + 1, hi, out);
        return;
    }
    for (int i = 1; i < n; ++i) {
        char32_t m = (char32_t{1} << (6 * i)) - 1;
        if ((lo & ~m) != (hi & ~m)) {
            if ((lo & m) != 0) {
                split_utf8(lo, lo | m, out);
                split_utf8((lo | m) + 1, hi, out);
                return;
            }
            if ((hi & m) != m) {
                split_utf8(lo, (hi & ~m) - 1, out);
                split_utf8(hi & ~m, hi, out);
                return;
            }
        }
    }
    uint8_t a[4], b[4];
    encode(lo, n, a);
    encode(hi, n, b);
    std::vector<std::pair<uint8_t, uint8_t>> seq;
    for (int i = 0; i < n; ++i) seq.push_back({a[i], b[i]});
    out.push_back(std::move(seq));
}

std::string byte_set_text(const ByteSet& s) {
    std::string out = "[";
    auto put = [&](unsigned b) {
        if (b >= 0x21 && b < 0x7F && b != ']' && b != '\\' && b != '-' && b != '^')
            out += static_cast<char>(b);
        else
            out += fmt::format("\\x{:02X}", b);
    };
    for (unsigned b = 0; b < 256;) {
        if (!s.has(static_cast<uint8_t>(b))) {
            ++b;
            continue;
        }
        unsigned e = b;
        while (e + 1 < 256 && s.has(static_cast<uint8_t>(e + 1))) ++e;
        put(b);
        if (e > b) {
            out += '-';
            put(e);
        }
        b = e + 1;
    }
    return out + "]";
}

}  // namespace

size_t Grammar::element_count() const {
    size_t n = 0;
    for (const auto& r : rules)
        for (const auto& a : r.alternatives) n += a.size() + 1;
    return n;
}

std::string Grammar::to_string() const {
    std::string out;
    for (size_t i = 0; i < rules.size(); ++i) {
        out += fmt::format("{}{}#{} ::=", i == root ? "root=" : "", rules[i].name, i);
        for (size_t a = 0; a < rules[i].alternatives.size(); ++a) {
            if (a) out += " |";
            if (rules[i].alternatives[a].empty()) out += " \"\"";
            for (const Element& e : rules[i].alternatives[a]) {
                out += ' ';
                if (e.kind == Element::Kind::Bytes)
                    out += byte_set_text(byte_sets[e.index]);
                else
                    out += fmt::format("{}#{}", rules[e.index].name, e.index);
            }
        }
        out += '\n';
    }
    return out;
}

uint32_t GrammarBuilder::declare(std::string name) {
    g_.rules.push_back(Rule{std::move(name), {}});
    defined_.push_back(false);
    if (g_.rules.size() > limits_.max_rules) over_limit_ = true;
    return static_cast<uint32_t>(g_.rules.size() - 1);
}

void GrammarBuilder::define(uint32_t rule, std::vector<Sequence> alternatives) {
    for (const auto& a : alternatives) elements_ += a.size() + 1;
    if (elements_ > limits_.max_elements) over_limit_ = true;
    g_.rules[rule].alternatives = std::move(alternatives);
    defined_[rule] = true;
}

uint32_t GrammarBuilder::add_rule(std::string name, std::vector<Sequence> alternatives) {
    uint32_t r = declare(std::move(name));
    define(r, std::move(alternatives));
    return r;
}

Element GrammarBuilder::bytes(const ByteSet& set) {
    auto it = std::find(g_.byte_sets.begin(), g_.byte_sets.end(), set);
    if (it != g_.byte_sets.end())
        return Element{Element::Kind::Bytes, static_cast<uint32_t>(it - g_.byte_sets.begin())};
    g_.byte_sets.push_back(set);
    return Element{Element::Kind::Bytes, static_cast<uint32_t>(g_.byte_sets.size() - 1)};
}

Element GrammarBuilder::byte(uint8_t b) {
    ByteSet s;
    s.set(b);
    return bytes(s);
}

Sequence GrammarBuilder::literal(std::string_view text) {
    Sequence seq;
    seq.reserve(text.size());
    for (char c : text) seq.push_back(byte(static_cast<uint8_t>(c)));
    return seq;
}

uint32_t GrammarBuilder::char_class(std::vector<std::pair<char32_t, char32_t>> ranges, bool negated,
                                    std::string name) {
    // UTF-8 has no encoding for surrogates: they are never matched.
    CodeSet set = make_code_set(std::move(ranges));
    if (negated) set = complement(set);
    set = intersect(set, {{0, 0xD7FF}, {0xE000, kMaxCodePoint}});
    std::vector<std::vector<std::pair<uint8_t, uint8_t>>> pieces;
    for (auto [lo, hi] : set) split_utf8(lo, hi, pieces);
    // Pieces of one byte merge into a single byte set (ASCII classes stay one element).
    ByteSet single;
    bool any_single = false;
    std::vector<Sequence> alts;
    for (const auto& p : pieces) {
        if (p.size() == 1) {
            single.set_range(p[0].first, p[0].second);
            any_single = true;
            continue;
        }
        Sequence seq;
        for (auto [a, b] : p) {
            ByteSet s;
            s.set_range(a, b);
            seq.push_back(bytes(s));
        }
        alts.push_back(std::move(seq));
    }
    if (any_single) alts.insert(alts.begin(), Sequence{bytes(single)});
    // An empty class matches nothing: a rule with no alternatives.
    return add_rule(std::move(name), std::move(alts));
}

uint32_t GrammarBuilder::repeat(const Sequence& item_in, uint32_t min, std::optional<uint32_t> max,
                                std::string name) {
    Sequence item = item_in;
    if (item.size() > 1) item = Sequence{ref(add_rule(name + "-item", {item_in}))};
    Sequence head;
    for (uint32_t i = 0; i < min && !over_limit_; ++i)
        head.insert(head.end(), item.begin(), item.end());
    if (!max) {
        uint32_t star = declare(name + "-star");
        Sequence more = item;
        more.push_back(ref(star));
        define(star, {more, {}});
        head.push_back(ref(star));
        return add_rule(std::move(name), {head});
    }
    // At most max - min more: opt_k ::= "" | item opt_{k-1}.
    uint32_t extra = *max > min ? *max - min : 0;
    std::optional<uint32_t> tail;
    for (uint32_t k = 0; k < extra && !over_limit_; ++k) {
        Sequence more = item;
        if (tail) more.push_back(ref(*tail));
        tail = add_rule(name + "-opt", {{}, more});
    }
    if (tail) head.push_back(ref(*tail));
    return add_rule(std::move(name), {head});
}

Expected<Grammar> GrammarBuilder::finish(uint32_t root, bool match_control_tokens) {
    if (over_limit_)
        return make_error("grammar too large: over {} rules or {} elements", limits_.max_rules,
                          limits_.max_elements);
    for (size_t i = 0; i < defined_.size(); ++i)
        if (!defined_[i])
            return make_error("grammar rule '{}' is used but never defined", g_.rules[i].name);
    g_.root = root;
    g_.match_control_tokens = match_control_tokens;
    if (Status s = validate_grammar(g_, limits_); !s) return s.error();
    return std::move(g_);
}

Status validate_grammar(const Grammar& g, const GrammarLimits& limits) {
    if (g.rules.empty() || g.root >= g.rules.size()) return make_error("grammar has no root rule");
    if (g.rules.size() > limits.max_rules || g.element_count() > limits.max_elements)
        return make_error("grammar too large: over {} rules or {} elements", limits.max_rules,
                          limits.max_elements);
    for (const Rule& r : g.rules)
        for (const Sequence& a : r.alternatives)
            for (const Element& e : a) {
                size_t bound = e.kind == Element::Kind::Bytes ? g.byte_sets.size() : g.rules.size();
                if (e.index >= bound)
                    return make_error("grammar rule '{}' refers past the grammar", r.name);
            }
    // Nullable rules (fixpoint), then the "reaches before consuming a byte"
    // graph; a cycle there is left recursion, which a top-down matcher
    // would expand forever.
    std::vector<bool> nullable(g.rules.size(), false);
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t i = 0; i < g.rules.size(); ++i) {
            if (nullable[i]) continue;
            for (const Sequence& a : g.rules[i].alternatives) {
                bool all = std::all_of(a.begin(), a.end(), [&](const Element& e) {
                    return e.kind == Element::Kind::Rule && nullable[e.index];
                });
                if (all) {
                    nullable[i] = changed = true;
                    break;
                }
            }
        }
    }
    std::vector<std::vector<uint32_t>> first(g.rules.size());
    for (size_t i = 0; i < g.rules.size(); ++i)
        for (const Sequence& a : g.rules[i].alternatives)
            for (const Element& e : a) {
                if (e.kind == Element::Kind::Bytes) break;
                first[i].push_back(e.index);
                if (!nullable[e.index]) break;
            }
    // Iterative DFS (grammars from schemas can be deep): 0 new, 1 on stack, 2 done.
    std::vector<uint8_t> mark(g.rules.size(), 0);
    for (size_t s = 0; s < g.rules.size(); ++s) {
        if (mark[s]) continue;
        std::vector<std::pair<uint32_t, size_t>> stack{{static_cast<uint32_t>(s), 0}};
        mark[s] = 1;
        while (!stack.empty()) {
            auto& [r, k] = stack.back();
            if (k == first[r].size()) {
                mark[r] = 2;
                stack.pop_back();
                continue;
            }
            uint32_t next = first[r][k++];
            if (mark[next] == 1)
                return make_error(
                    "grammar rule '{}' is left-recursive (it can reach itself "
                    "before matching any text)",
                    g.rules[next].name);
            if (mark[next] == 0) {
                mark[next] = 1;
                stack.push_back({next, 0});
            }
        }
    }
    return {};
}

}  // namespace ig::grammar
