#include "grammar/gbnf_parser.h"

#include <map>

#include "grammar/grammar_prune.h"

namespace ig::grammar {

namespace {

constexpr int kMaxNesting = 200;

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_hex(char c) {
    return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}
uint32_t hex_value(char c) {
    return is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
}

class GbnfParser {
  public:
    explicit GbnfParser(std::string_view s) : s_(s) {}

    Expected<ExprGrammar> parse() {
        skip_space(true);
        while (!at_end()) {
            if (Status st = parse_rule(); !st) return st.error();
            skip_space(true);
        }
        for (const auto& [name, use] : uses_) {
            if (!defined_.count(name)) {
                pos_ = use.second;
                return fail("rule '{}' is used but never defined", name);
            }
        }
        if (!defined_.count("root")) return make_error("grammar: no 'root' rule is defined");
        return std::move(g_);
    }

  private:
    template <class... Args>
    Error fail(fmt::format_string<Args...> f, Args&&... args) {
        size_t line = 1, col = 1;
        for (size_t i = 0; i < pos_ && i < s_.size(); ++i) {
            if (s_[i] == '\n') {
                ++line;
                col = 1;
            } else {
                ++col;
            }
        }
        return make_error("grammar: line {}:{}: {}", line, col,
                          fmt::format(f, std::forward<Args>(args)...));
    }

    bool at_end() const { return pos_ >= s_.size(); }
    char peek(size_t ahead = 0) const { return pos_ + ahead < s_.size() ? s_[pos_ + ahead] : '\0'; }

    // Spaces, tabs and comments; newlines too when `newlines`.
    void skip_space(bool newlines) {
        while (!at_end()) {
            char c = peek();
            if (c == ' ' || c == '\t' || (newlines && (c == '\n' || c == '\r'))) {
                ++pos_;
            } else if (c == '#') {
                while (!at_end() && peek() != '\n') ++pos_;
            } else {
                break;
            }
        }
    }

    // At a line break outside parentheses: whether the rule goes on after it
    // (the next non-blank text is not `name ::=` and not the end).
    bool continues_after_newline() {
        size_t save = pos_;
        skip_space(true);
        bool new_rule = at_end();
        if (!new_rule) {
            size_t p = pos_;
            while (p < s_.size() && is_name_char(s_[p])) ++p;
            if (p > pos_) {
                while (p < s_.size() && (s_[p] == ' ' || s_[p] == '\t')) ++p;
                new_rule = s_.substr(p, 3) == "::=";
            }
        }
        if (new_rule) pos_ = save;
        return !new_rule;
    }

    std::string_view parse_name() {
        size_t start = pos_;
        while (!at_end() && is_name_char(peek())) ++pos_;
        return s_.substr(start, pos_ - start);
    }

    Status parse_rule() {
        size_t start = pos_;
        std::string name(parse_name());
        if (name.empty()) return fail("expected a rule name");
        skip_space(false);
        if (s_.substr(pos_, 3) != "::=") return fail("expected '::=' after rule name '{}'", name);
        pos_ += 3;
        if (defined_.count(name)) {
            pos_ = start;
            return fail("rule '{}' is defined twice", name);
        }
        skip_space(true);
        auto body = parse_alternatives(0);
        if (!body) return body.error();
        uint32_t id = rule_of(name);
        defined_[name] = id;
        g_.rules[id].body = *body;
        skip_space(false);
        if (!at_end() && peek() != '\n' && peek() != '\r')
            return fail("expected the end of the line");
        return {};
    }

    // The index of a rule, created on first mention (definition or use).
    uint32_t rule_of(const std::string& name) {
        auto it = index_.find(name);
        if (it != index_.end()) return it->second;
        auto id = static_cast<uint32_t>(g_.rules.size());
        g_.rules.push_back({name, 0});
        index_[name] = id;
        return id;
    }

    Expected<uint32_t> parse_alternatives(int depth) {
        std::vector<uint32_t> alts;
        while (true) {
            auto seq = parse_sequence(depth);
            if (!seq) return seq.error();
            alts.push_back(*seq);
            if (peek() != '|') break;
            ++pos_;
            skip_space(true);
        }
        return alts.size() == 1 ? alts[0] : g_.alt(std::move(alts));
    }

    Expected<uint32_t> parse_sequence(int depth) {
        std::vector<uint32_t> items;
        while (true) {
            skip_space(depth > 0);
            if (at_end()) break;
            char c = peek();
            if (c == '\n' || c == '\r') {
                if (!continues_after_newline()) break;
                continue;
            }
            if (c == '|' || c == ')') break;
            if (c == '*' || c == '+' || c == '?' || c == '{')
                return fail("'{}' has nothing before it to repeat", c);
            auto item = parse_element(depth);
            if (!item) return item.error();
            auto rep = parse_quantifier(*item);
            if (!rep) return rep.error();
            items.push_back(*rep);
        }
        return items.size() == 1 ? items[0] : g_.seq(std::move(items));
    }

    Expected<uint32_t> parse_element(int depth) {
        char c = peek();
        if (c == '"') return parse_literal();
        if (c == '[') return parse_class();
        if (c == '.') {
            ++pos_;
            return g_.chars({{0, kMaxCodePoint}});
        }
        if (c == '(') {
            if (depth >= kMaxNesting) return fail("groups nested deeper than {}", kMaxNesting);
            ++pos_;
            skip_space(true);
            auto inner = parse_alternatives(depth + 1);
            if (!inner) return inner.error();
            skip_space(true);
            if (peek() != ')') return fail("expected ')'");
            ++pos_;
            return *inner;
        }
        if (c == '<' || c == '!') return fail("token references are not supported");
        if (is_name_char(c)) {
            size_t at = pos_;
            std::string name(parse_name());
            uses_.emplace(name, std::pair<uint32_t, size_t>{0, at});
            return g_.ref(rule_of(name));
        }
        return fail("unexpected character '{}'",
                    c >= 0x20 && c < 0x7F ? std::string(1, c)
                                          : fmt::format("\\x{:02X}", static_cast<uint8_t>(c)));
    }

    Expected<uint32_t> parse_quantifier(uint32_t item) {
        skip_space(false);
        char c = peek();
        uint32_t min = 0;
        std::optional<uint32_t> max;
        if (c == '*') {
            ++pos_;
        } else if (c == '+') {
            ++pos_;
            min = 1;
        } else if (c == '?') {
            ++pos_;
            max = 1;
        } else if (c == '{') {
            ++pos_;
            skip_space(false);
            if (peek() != ',') {
                auto lo = parse_count();
                if (!lo) return lo.error();
                min = *lo;
                max = min;
            }
            skip_space(false);
            if (peek() == ',') {
                ++pos_;
                skip_space(false);
                max.reset();
                if (peek() != '}') {
                    auto hi = parse_count();
                    if (!hi) return hi.error();
                    max = *hi;
                }
            }
            skip_space(false);
            if (peek() != '}') return fail("expected '}}' to close the repetition");
            ++pos_;
            if (max && *max < min) return fail("repetition {{{},{}}} has max below min", min, *max);
        } else {
            return item;
        }
        skip_space(false);
        c = peek();
        if (c == '*' || c == '+' || c == '?' || c == '{')
            return fail("'{}' follows another repetition", c);
        return g_.repeat(item, min, max);
    }

    Expected<uint32_t> parse_count() {
        if (!is_digit(peek())) return fail("expected a number in the repetition");
        uint64_t v = 0;
        while (is_digit(peek())) {
            v = v * 10 + (peek() - '0');
            ++pos_;
            if (v > kMaxRepeatBound)
                return fail("repetition bound over the supported {}", kMaxRepeatBound);
        }
        return static_cast<uint32_t>(v);
    }

    // One code point of a literal or class, escapes decoded.
    Expected<char32_t> parse_char() {
        char c = peek();
        if (c == '\\') {
            ++pos_;
            char e = peek();
            ++pos_;
            switch (e) {
                case 'n':
                    return U'\n';
                case 'r':
                    return U'\r';
                case 't':
                    return U'\t';
                case '\\':
                case '"':
                case '[':
                case ']':
                case '-':
                case '^':
                    return static_cast<char32_t>(e);
                case 'x':
                    return parse_hex(2);
                case 'u':
                    return parse_hex(4);
                case 'U':
                    return parse_hex(8);
                default:
                    pos_ -= 2;
                    return fail("unknown escape '\\{}'", e >= 0x20 && e < 0x7F ? e : '?');
            }
        }
        char32_t cp = 0;
        size_t n = decode_utf8(s_, pos_, cp);
        if (n == 0) return fail("text is not valid UTF-8");
        pos_ += n;
        return cp;
    }

    Expected<char32_t> parse_hex(int digits) {
        uint32_t v = 0;
        for (int i = 0; i < digits; ++i) {
            if (!is_hex(peek())) return fail("expected {} hex digits", digits);
            v = v * 16 + hex_value(peek());
            ++pos_;
        }
        if (v > kMaxCodePoint || (v >= 0xD800 && v <= 0xDFFF))
            return fail("U+{:X} is not a character", v);
        return static_cast<char32_t>(v);
    }

    Expected<uint32_t> parse_literal() {
        size_t start = pos_;
        ++pos_;
        std::u32string text;
        while (true) {
            if (at_end() || peek() == '\n' || peek() == '\r') {
                pos_ = start;
                return fail("unterminated literal");
            }
            if (peek() == '"') break;
            auto c = parse_char();
            if (!c) return c.error();
            text.push_back(*c);
        }
        ++pos_;
        return g_.literal(text);
    }

    Expected<uint32_t> parse_class() {
        size_t start = pos_;
        ++pos_;
        bool negated = peek() == '^';
        if (negated) ++pos_;
        CodeSet set;
        while (true) {
            if (at_end()) {
                pos_ = start;
                return fail("unterminated character class");
            }
            if (peek() == ']') break;
            auto lo = parse_char();
            if (!lo) return lo.error();
            char32_t hi = *lo;
            if (peek() == '-' && peek(1) != ']' && pos_ + 1 < s_.size()) {
                ++pos_;
                auto h = parse_char();
                if (!h) return h.error();
                if (*h < *lo) return fail("range out of order in class");
                hi = *h;
            }
            set.push_back({*lo, hi});
        }
        ++pos_;
        set = make_code_set(std::move(set));
        return g_.chars(negated ? complement(set) : set);
    }

    std::string_view s_;
    size_t pos_ = 0;
    ExprGrammar g_;
    std::map<std::string, uint32_t> index_;                    // name -> rule
    std::map<std::string, uint32_t> defined_;                  // names with a definition
    std::map<std::string, std::pair<uint32_t, size_t>> uses_;  // first use's offset
};

}  // namespace

Expected<ExprGrammar> parse_gbnf_rules(std::string_view text) {
    if (text.size() > kMaxGbnfBytes)
        return make_error("grammar: longer than {} bytes", kMaxGbnfBytes);
    return GbnfParser(text).parse();
}

Expected<Grammar> parse_gbnf(std::string_view text) {
    auto rules = parse_gbnf_rules(text);
    if (!rules) return rules.error();
    uint32_t root = 0;
    for (uint32_t r = 0; r < rules->rules.size(); ++r)
        if (rules->rules[r].name == "root") root = r;
    GrammarBuilder b;
    auto ids = emit_expr_grammar(b, *rules, CharEncoding::Utf8);
    auto g = b.finish(ids[root]);
    if (!g) return make_error("grammar: {}", g.error().message);
    if (Status s = prune_unproductive(*g); !s)
        return make_error("grammar: rule 'root' matches no finite text");
    return g;
}

}  // namespace ig::grammar
