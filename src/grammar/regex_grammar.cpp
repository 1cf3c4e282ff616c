#include "grammar/regex_grammar.h"

#include "grammar/grammar_prune.h"

namespace ig::grammar {

namespace {

constexpr size_t kMaxPatternBytes = 100'000;
constexpr int kMaxGroupDepth = 200;

const CodeSet kDigit = {{'0', '9'}};
const CodeSet kWord = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
// \s is ECMAScript's WhiteSpace and LineTerminator less U+FEFF, and \S
// leaves out what Python's re counts as space too (U+001C..U+001F, U+0085,
// U+FEFF): what either validator accepts, whichever checks the output.
const CodeSet kSpace = {{'\t', '\r'},     {' ', ' '},       {0xA0, 0xA0},
                        {0x1680, 0x1680}, {0x2000, 0x200A}, {0x2028, 0x2029},
                        {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000}};
const CodeSet kNotSpace = complement(unite(kSpace, {{0x1C, 0x1F}, {0x85, 0x85}, {0xFEFF, 0xFEFF}}));
// \D and \W keep to ASCII: Python's re counts letters and digits of every
// script as \w and \d, so only ASCII is non-digit/non-word to both.
const CodeSet kNotDigit = intersect(complement(kDigit), {{0, 0x7F}});
const CodeSet kNotWord = intersect(complement(kWord), {{0, 0x7F}});
const CodeSet kLineTerminators = {{'\n', '\n'}, {'\r', '\r'}, {0x2028, 0x2029}};

bool is_hex(char32_t c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
uint32_t hex_value(char32_t c) {
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
bool is_digit(char32_t c) {
    return c >= '0' && c <= '9';
}

class RegexParser {
  public:
    RegexParser(std::u32string text, std::string_view path) : s_(std::move(text)), path_(path) {}

    Expected<ExprGrammar> parse() {
        auto root = parse_alt(0);
        if (!root) return root.error();
        if (pos_ < s_.size()) return fail("unmatched ')'");
        g_.rules.push_back({"regex", *root});
        return std::move(g_);
    }

  private:
    template <class... Args>
    Error fail(fmt::format_string<Args...> f, Args&&... args) {
        return make_error("{}: {} (at character {})", path_,
                          fmt::format(f, std::forward<Args>(args)...), pos_ + 1);
    }

    bool at_end() const { return pos_ >= s_.size(); }
    char32_t peek(size_t ahead = 0) const {
        return pos_ + ahead < s_.size() ? s_[pos_ + ahead] : 0;
    }

    Expected<uint32_t> parse_alt(int depth) {
        std::vector<uint32_t> alts;
        while (true) {
            auto seq = parse_seq(depth);
            if (!seq) return seq.error();
            alts.push_back(*seq);
            if (peek() != '|' || at_end()) break;
            ++pos_;
        }
        return alts.size() == 1 ? alts[0] : g_.alt(std::move(alts));
    }

    Expected<uint32_t> parse_seq(int depth) {
        std::vector<uint32_t> items;
        size_t start = pos_;
        while (!at_end() && peek() != '|' && peek() != ')') {
            char32_t c = peek();
            if (c == '^') {
                if (depth != 0 || pos_ != start) return fail("'^' is only supported at the start");
                ++pos_;
                if (is_quantifier_start()) return fail("nothing to repeat");
                continue;
            }
            if (c == '$') {
                ++pos_;
                if (depth != 0 || !(at_end() || peek() == '|'))
                    return fail("'$' is only supported at the end");
                continue;
            }
            auto atom = parse_atom(depth);
            if (!atom) return atom.error();
            auto rep = parse_quantifiers(*atom);
            if (!rep) return rep.error();
            items.push_back(*rep);
        }
        return items.size() == 1 ? items[0] : g_.seq(std::move(items));
    }

    bool is_quantifier_start() const {
        char32_t c = peek();
        return c == '*' || c == '+' || c == '?' || (c == '{' && is_digit(peek(1)));
    }

    Expected<uint32_t> parse_quantifiers(uint32_t atom) {
        if (!is_quantifier_start()) return atom;
        uint32_t min = 0;
        std::optional<uint32_t> max;
        char32_t c = peek();
        ++pos_;
        if (c == '+') {
            min = 1;
        } else if (c == '?') {
            max = 1;
        } else if (c == '{') {
            auto lo = parse_count();
            if (!lo) return lo.error();
            min = *lo;
            max = min;
            if (peek() == ',') {
                ++pos_;
                max.reset();
                if (peek() != '}') {
                    auto hi = parse_count();
                    if (!hi) return hi.error();
                    max = *hi;
                }
            }
            if (peek() != '}') return fail("malformed repetition {{m,n}}");
            ++pos_;
            if (max && *max < min) return fail("repetition {{{},{}}} has max below min", min, *max);
        }
        if (peek() == '?') ++pos_;  // lazy: the same set of strings
        if (is_quantifier_start()) return fail("nothing to repeat");
        return g_.repeat(atom, min, max);
    }

    Expected<uint32_t> parse_count() {
        if (!is_digit(peek())) return fail("expected a number in {{m,n}}");
        uint64_t v = 0;
        while (is_digit(peek())) {
            v = v * 10 + (peek() - '0');
            ++pos_;
            if (v > kMaxRepeatBound)
                return fail("repetition bound over the supported {}", kMaxRepeatBound);
        }
        return static_cast<uint32_t>(v);
    }

    Expected<uint32_t> parse_atom(int depth) {
        char32_t c = peek();
        switch (c) {
            case '(':
                return parse_group(depth);
            case '[':
                return parse_class();
            case '.':
                ++pos_;
                return g_.chars(complement(kLineTerminators));
            case '\\': {
                auto set = parse_escape(false);
                if (!set) return set.error();
                return g_.chars(*set);
            }
            case '*':
            case '+':
            case '?':
                return fail("nothing to repeat");
            case '{':
                if (is_digit(peek(1))) return fail("nothing to repeat");
                break;
            default:
                break;
        }
        ++pos_;
        return g_.chars({{c, c}});
    }

    Expected<uint32_t> parse_group(int depth) {
        if (depth >= kMaxGroupDepth) return fail("groups nested deeper than {}", kMaxGroupDepth);
        ++pos_;
        if (peek() == '?') {
            char32_t k = peek(1);
            if (k == ':') {
                pos_ += 2;
            } else if (k == '=' || k == '!') {
                return fail("lookahead (?{} is not supported", static_cast<char>(k));
            } else if (k == '<' && (peek(2) == '=' || peek(2) == '!')) {
                return fail("lookbehind is not supported");
            } else if (k == '<' || (k == 'P' && peek(2) == '<')) {
                pos_ += k == 'P' ? 3 : 2;
                while (!at_end() && peek() != '>') ++pos_;
                if (at_end()) return fail("unterminated group name");
                ++pos_;
            } else {
                return fail("group flags (?{}...) are not supported",
                            k < 0x80 && k >= 0x20 ? static_cast<char>(k) : '?');
            }
        }
        auto inner = parse_alt(depth + 1);
        if (!inner) return inner.error();
        if (peek() != ')' || at_end()) return fail("missing ')'");
        ++pos_;
        return *inner;
    }

    Expected<uint32_t> parse_class() {
        ++pos_;
        bool negated = false;
        if (peek() == '^') {
            negated = true;
            ++pos_;
        }
        CodeSet set;
        while (true) {
            if (at_end()) return fail("unterminated character class");
            if (peek() == ']') break;
            if (peek() == '[' && peek(1) == ':')
                return fail("POSIX classes [:name:] are not supported");
            auto lo = parse_class_atom();
            if (!lo) return lo.error();
            if (peek() == '-' && peek(1) != ']' && pos_ + 1 < s_.size()) {
                ++pos_;
                auto hi = parse_class_atom();
                if (!hi) return hi.error();
                if (!single(*lo) || !single(*hi))
                    return fail("a class escape cannot bound a range");
                if ((*lo)[0].first > (*hi)[0].first) return fail("range out of order in class");
                set.push_back({(*lo)[0].first, (*hi)[0].first});
            } else {
                set.insert(set.end(), lo->begin(), lo->end());
            }
        }
        ++pos_;
        set = make_code_set(std::move(set));
        return g_.chars(negated ? complement(set) : set);
    }

    static bool single(const CodeSet& s) { return s.size() == 1 && s[0].first == s[0].second; }

    Expected<CodeSet> parse_class_atom() {
        if (peek() == '\\') return parse_escape(true);
        char32_t c = peek();
        ++pos_;
        return CodeSet{{c, c}};
    }

    // After a backslash: a set of code points (one for a plain escape).
    Expected<CodeSet> parse_escape(bool in_class) {
        ++pos_;
        if (at_end()) return fail("pattern ends with '\\'");
        char32_t c = peek();
        ++pos_;
        auto one = [](char32_t v) { return CodeSet{{v, v}}; };
        switch (c) {
            case 'd':
                return kDigit;
            case 'D':
                return kNotDigit;
            case 'w':
                return kWord;
            case 'W':
                return kNotWord;
            case 's':
                return kSpace;
            case 'S':
                return kNotSpace;
            case 'n':
                return one('\n');
            case 't':
                return one('\t');
            case 'r':
                return one('\r');
            case 'f':
                return one('\f');
            case 'v':
                return one('\v');
            case 'b':
                if (in_class) return one('\b');
                return fail("word boundary \\b is not supported");
            case 'B':
                return fail("\\B is not supported");
            case '0':
                if (is_digit(peek())) return fail("octal escapes are not supported");
                return one(0);
            case 'c':
                if ((peek() | 0x20) >= 'a' && (peek() | 0x20) <= 'z') return one(s_[pos_++] % 32);
                return fail("\\c must be followed by a letter");
            case 'x': {
                if (!is_hex(peek()) || !is_hex(peek(1))) return fail("\\x needs two hex digits");
                char32_t v = hex_value(peek()) * 16 + hex_value(peek(1));
                pos_ += 2;
                return one(v);
            }
            case 'u':
                return parse_unicode_escape();
            case 'p':
            case 'P':
                return fail("Unicode property escapes \\{} are not supported",
                            static_cast<char>(c));
            case 'k':
                return fail("named backreferences are not supported");
            default:
                break;
        }
        if (c >= '1' && c <= '9') return fail("backreferences are not supported");
        if (c < 0x80 && ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')) {
            return fail("unknown escape \\{}", static_cast<char>(c));
        }
        return one(c);  // escaped punctuation (or any non-letter) is itself
    }

    Expected<CodeSet> parse_unicode_escape() {
        char32_t v = 0;
        if (peek() == '{') {
            ++pos_;
            int n = 0;
            while (is_hex(peek()) && n < 8) {
                v = v * 16 + hex_value(peek());
                ++pos_;
                ++n;
            }
            if (n == 0 || peek() != '}' || v > kMaxCodePoint) return fail("malformed \\u{{...}}");
            ++pos_;
            return CodeSet{{v, v}};
        }
        auto hex4 = [&](char32_t& out) {
            for (int i = 0; i < 4; ++i)
                if (!is_hex(peek(i))) return false;
            out = 0;
            for (int i = 0; i < 4; ++i) out = out * 16 + hex_value(peek(i));
            pos_ += 4;
            return true;
        };
        if (!hex4(v)) return fail("\\u needs four hex digits");
        if (v >= 0xD800 && v <= 0xDBFF && peek() == '\\' && peek(1) == 'u') {
            size_t save = pos_;
            pos_ += 2;
            char32_t lo = 0;
            if (hex4(lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
                v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
                return CodeSet{{v, v}};
            }
            pos_ = save;
        }
        if (v >= 0xD800 && v <= 0xDFFF)
            return fail("lone surrogate \\u{:04X}", static_cast<uint32_t>(v));
        return CodeSet{{v, v}};
    }

    std::u32string s_;
    std::string_view path_;
    size_t pos_ = 0;
    ExprGrammar g_;
};

}  // namespace

Expected<ExprGrammar> parse_regex(std::string_view pattern, std::string_view path) {
    if (pattern.size() > kMaxPatternBytes)
        return make_error("{}: pattern longer than {} bytes", path, kMaxPatternBytes);
    std::u32string text;
    for (size_t i = 0; i < pattern.size();) {
        char32_t c = 0;
        size_t n = decode_utf8(pattern, i, c);
        if (n == 0) return make_error("{}: pattern is not valid UTF-8 (at byte {})", path, i);
        text.push_back(c);
        i += n;
    }
    return RegexParser(std::move(text), path).parse();
}

Expected<uint32_t> add_regex(GrammarBuilder& b, std::string_view pattern, std::string_view path,
                             CharEncoding enc) {
    auto g = parse_regex(pattern, path);
    if (!g) return g.error();
    auto ids = emit_expr_grammar(b, *g, enc);
    if (b.over_limit())
        return make_error("{}: the pattern needs a grammar over the size limits", path);
    return ids[0];
}

Expected<uint32_t> add_regex(GrammarBuilder& b, std::string_view pattern, std::string_view path) {
    return add_regex(b, pattern, path, CharEncoding::Utf8);
}

Expected<Grammar> regex_grammar(std::string_view pattern, std::string_view path) {
    GrammarBuilder b;
    auto root = add_regex(b, pattern, path);
    if (!root) return root.error();
    auto g = b.finish(*root);
    if (!g) return make_error("{}: {}", path, g.error().message);
    if (Status s = prune_unproductive(*g); !s)
        return make_error("{}: the pattern matches no string", path);
    return g;
}

}  // namespace ig::grammar
