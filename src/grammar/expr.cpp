#include "grammar/expr.h"

#include <map>

#include <fmt/format.h>

namespace ig::grammar {

uint32_t ExprGrammar::chars(CodeSet set) {
    ExprNode n;
    n.kind = ExprKind::Chars;
    n.chars = make_code_set(std::move(set));
    nodes.push_back(std::move(n));
    return static_cast<uint32_t>(nodes.size() - 1);
}

uint32_t ExprGrammar::literal(std::u32string_view text) {
    std::vector<uint32_t> kids;
    for (char32_t c : text) kids.push_back(chars({{c, c}}));
    return seq(std::move(kids));
}

uint32_t ExprGrammar::seq(std::vector<uint32_t> kids) {
    ExprNode n;
    n.kids = std::move(kids);
    nodes.push_back(std::move(n));
    return static_cast<uint32_t>(nodes.size() - 1);
}

uint32_t ExprGrammar::alt(std::vector<uint32_t> kids) {
    ExprNode n;
    n.kind = ExprKind::Alt;
    n.kids = std::move(kids);
    nodes.push_back(std::move(n));
    return static_cast<uint32_t>(nodes.size() - 1);
}

uint32_t ExprGrammar::repeat(uint32_t kid, uint32_t min, std::optional<uint32_t> max) {
    ExprNode n;
    n.kind = ExprKind::Repeat;
    n.kids = {kid};
    n.min = min;
    n.max = max;
    nodes.push_back(std::move(n));
    return static_cast<uint32_t>(nodes.size() - 1);
}

uint32_t ExprGrammar::ref(uint32_t rule) {
    ExprNode n;
    n.kind = ExprKind::Ref;
    n.rule = rule;
    nodes.push_back(std::move(n));
    return static_cast<uint32_t>(nodes.size() - 1);
}

namespace {

// Which nodes can match "": a worklist over parent links, linear in the size
// of the grammar however the rules refer to each other.
std::vector<bool> nullable_nodes(const ExprGrammar& g) {
    const size_t n = g.nodes.size();
    std::vector<std::vector<uint32_t>> parents(n), bodies_of(n), refs_to(g.rules.size());
    std::vector<size_t> pending(n, 0);
    std::vector<bool> nullable(n, false);
    std::vector<uint32_t> work;
    auto mark = [&](uint32_t i) {
        if (!nullable[i]) {
            nullable[i] = true;
            work.push_back(i);
        }
    };
    for (uint32_t i = 0; i < n; ++i) {
        const ExprNode& e = g.nodes[i];
        for (uint32_t k : e.kids) parents[k].push_back(i);
        if (e.kind == ExprKind::Seq) {
            pending[i] = e.kids.size();
            if (e.kids.empty()) mark(i);
        } else if (e.kind == ExprKind::Repeat) {
            if (e.min == 0 || e.max == 0u) mark(i);
        } else if (e.kind == ExprKind::Ref) {
            refs_to[e.rule].push_back(i);
        }
    }
    for (uint32_t r = 0; r < g.rules.size(); ++r) bodies_of[g.rules[r].body].push_back(r);
    while (!work.empty()) {
        uint32_t i = work.back();
        work.pop_back();
        for (uint32_t p : parents[i]) {
            if (g.nodes[p].kind != ExprKind::Seq || --pending[p] == 0) mark(p);
        }
        for (uint32_t r : bodies_of[i])
            for (uint32_t ref : refs_to[r]) mark(ref);
    }
    return nullable;
}

std::string json_escape_of(char32_t c) {
    switch (c) {
        case '"':
            return "\\\"";
        case '\\':
            return "\\\\";
        case '\b':
            return "\\b";
        case '\f':
            return "\\f";
        case '\n':
            return "\\n";
        case '\r':
            return "\\r";
        case '\t':
            return "\\t";
        default:
            return fmt::format("\\u{:04x}", static_cast<uint32_t>(c));
    }
}

class Emitter {
  public:
    Emitter(GrammarBuilder& b, const ExprGrammar& g, CharEncoding enc)
        : b_(b), g_(g), enc_(enc), nullable_(nullable_nodes(g)) {}

    std::vector<uint32_t> run() {
        for (const ExprRule& r : g_.rules) ids_.push_back(b_.declare(r.name));
        nonempty_ids_.assign(g_.rules.size(), std::nullopt);
        for (uint32_t r = 0; r < g_.rules.size() && !b_.over_limit(); ++r) {
            name_ = g_.rules[r].name;
            b_.define(ids_[r], alternatives(g_.rules[r].body, false));
        }
        // Non-empty variants of nullable rules, asked for by repetitions;
        // defined here rather than recursively so a chain of rules costs no stack.
        while (!pending_.empty() && !b_.over_limit()) {
            uint32_t r = pending_.back();
            pending_.pop_back();
            name_ = g_.rules[r].name;
            b_.define(*nonempty_ids_[r], alternatives(g_.rules[r].body, true));
        }
        return ids_;
    }

  private:
    std::vector<Sequence> alternatives(uint32_t body, bool nonempty) {
        const ExprNode& e = g_.nodes[body];
        std::vector<Sequence> alts;
        if (e.kind == ExprKind::Alt && e.kids.size() != 1) {
            for (uint32_t k : e.kids) {
                if (!nonempty) {
                    alts.push_back(emit(k));
                } else if (auto s = emit_nonempty(k)) {
                    alts.push_back(std::move(*s));
                }
            }
        } else if (!nonempty) {
            alts.push_back(emit(body));
        } else if (auto s = emit_nonempty(body)) {
            alts.push_back(std::move(*s));
        }
        return alts;
    }

    Sequence emit(uint32_t i) {
        const ExprNode& e = g_.nodes[i];
        switch (e.kind) {
            case ExprKind::Chars:
                return emit_chars(e.chars);
            case ExprKind::Seq: {
                Sequence out;
                for (uint32_t k : e.kids) {
                    if (b_.over_limit()) break;
                    Sequence s = emit(k);
                    out.insert(out.end(), s.begin(), s.end());
                }
                return out;
            }
            case ExprKind::Alt:
                if (e.kids.size() == 1) return emit(e.kids[0]);
                return {GrammarBuilder::ref(b_.add_rule(name_ + "-alt", alternatives(i, false)))};
            case ExprKind::Repeat:
                return emit_repeat(e);
            case ExprKind::Ref:
                return {GrammarBuilder::ref(ids_[e.rule])};
        }
        return {};
    }

    Sequence emit_repeat(const ExprNode& e) {
        if (e.max == 0u) return {};
        uint32_t kid = e.kids[0];
        uint32_t min = e.min;
        Sequence item;
        if (nullable_[kid]) {
            // (x)* where x matches "" is (x without "")*; the lower bound
            // then costs nothing, as each copy may be "".
            auto s = emit_nonempty(kid);
            if (!s) return {};
            item = std::move(*s);
            min = 0;
        } else {
            item = emit(kid);
        }
        return {GrammarBuilder::ref(b_.repeat(item, min, e.max, name_ + "-rep"))};
    }

    // The non-empty strings of node i; nullopt when it has none.
    std::optional<Sequence> emit_nonempty(uint32_t i) {
        if (!nullable_[i]) return emit(i);
        const ExprNode& e = g_.nodes[i];
        switch (e.kind) {
            case ExprKind::Chars:
                return emit(i);
            case ExprKind::Seq:
                return emit_seq_nonempty(e);
            case ExprKind::Alt: {
                auto alts = alternatives(i, true);
                if (alts.empty()) return std::nullopt;
                if (alts.size() == 1) return alts[0];
                return Sequence{GrammarBuilder::ref(b_.add_rule(name_ + "-alt", std::move(alts)))};
            }
            case ExprKind::Repeat: {
                if (e.max == 0u) return std::nullopt;
                auto item = nullable_[e.kids[0]] ? emit_nonempty(e.kids[0])
                                                 : std::optional<Sequence>(emit(e.kids[0]));
                if (!item) return std::nullopt;
                return Sequence{GrammarBuilder::ref(b_.repeat(*item, 1, e.max, name_ + "-rep"))};
            }
            case ExprKind::Ref: {
                auto& id = nonempty_ids_[e.rule];
                if (!id) {
                    id = b_.declare(g_.rules[e.rule].name + "-nonempty");
                    pending_.push_back(e.rule);
                }
                return Sequence{GrammarBuilder::ref(*id)};
            }
        }
        return std::nullopt;
    }

    // x1 .. xk, every xi nullable, less "": some xi is non-empty and is the
    // first to be: nonempty(xi) x(i+1) .. xk, with the suffixes as shared rules.
    std::optional<Sequence> emit_seq_nonempty(const ExprNode& e) {
        std::vector<Sequence> alts;
        std::optional<uint32_t> suffix;  // x(i+1) .. xk
        for (size_t i = e.kids.size(); i-- > 0 && !b_.over_limit();) {
            if (auto head = emit_nonempty(e.kids[i])) {
                if (suffix) head->push_back(GrammarBuilder::ref(*suffix));
                alts.push_back(std::move(*head));
            }
            if (i == 0) break;
            Sequence s = emit(e.kids[i]);
            if (suffix) s.push_back(GrammarBuilder::ref(*suffix));
            suffix = b_.add_rule(name_ + "-suffix", {std::move(s)});
        }
        if (alts.empty()) return std::nullopt;
        if (alts.size() == 1) return alts[0];
        return Sequence{GrammarBuilder::ref(b_.add_rule(name_ + "-nonempty", std::move(alts)))};
    }

    Sequence emit_chars(const CodeSet& set) {
        auto it = chars_.find(set);
        if (it != chars_.end()) return it->second;
        Sequence out;
        if (enc_ == CharEncoding::Utf8) {
            out = emit_utf8(set);
        } else {
            static const CodeSet raw = {{0x20, 0x21}, {0x23, 0x5B}, {0x5D, kMaxCodePoint}};
            CodeSet plain = intersect(set, raw);
            CodeSet escaped = intersect(set, complement(raw));
            if (escaped.empty()) {
                out = emit_utf8(plain);
            } else {
                std::vector<Sequence> alts;
                if (!plain.empty()) alts.push_back(emit_utf8(plain));
                for (auto [lo, hi] : escaped)
                    for (char32_t c = lo; c <= hi; ++c)
                        alts.push_back(b_.literal(json_escape_of(c)));
                out = alts.size() == 1 ? alts[0]
                                       : Sequence{GrammarBuilder::ref(
                                             b_.add_rule(name_ + "-char", std::move(alts)))};
            }
        }
        chars_.emplace(set, out);
        return out;
    }

    Sequence emit_utf8(const CodeSet& set) {
        if (set.empty()) {
            if (!nothing_) nothing_ = b_.add_rule("nothing", {});
            return {GrammarBuilder::ref(*nothing_)};
        }
        if (set.size() == 1 && set[0].first == set[0].second)
            return b_.literal(encode_utf8(set[0].first));
        if (set.back().second < 0x80) {
            ByteSet bytes;
            for (auto [lo, hi] : set)
                bytes.set_range(static_cast<uint8_t>(lo), static_cast<uint8_t>(hi));
            return {b_.bytes(bytes)};
        }
        return {GrammarBuilder::ref(b_.char_class(set, false, name_ + "-char"))};
    }

    GrammarBuilder& b_;
    const ExprGrammar& g_;
    CharEncoding enc_;
    std::vector<bool> nullable_;
    std::vector<uint32_t> ids_;
    std::vector<std::optional<uint32_t>> nonempty_ids_;
    std::vector<uint32_t> pending_;
    std::map<CodeSet, Sequence> chars_;
    std::optional<uint32_t> nothing_;
    std::string name_;
};

}  // namespace

std::vector<uint32_t> emit_expr_grammar(GrammarBuilder& b, const ExprGrammar& g, CharEncoding enc) {
    return Emitter(b, g, enc).run();
}

}  // namespace ig::grammar
