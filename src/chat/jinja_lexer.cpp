#include "chat/jinja_lexer.h"

#include <cmath>
#include <cstring>

#include "chat/jinja_error.h"
#include "util/utf8.h"

namespace ig::jinja {
namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
bool is_name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

class Lexer {
  public:
    explicit Lexer(std::string src) : s_(std::move(src)) {}

    std::vector<Token> run() {
        while (pos_ < s_.size()) root();
        push(Tok::Eof, "");
        return std::move(out_);
    }

  private:
    std::string s_;
    size_t pos_ = 0;
    int line_ = 1;
    std::vector<Token> out_;

    void push(Tok t, std::string text) { out_.push_back(Token{t, std::move(text), line_, 0, 0}); }
    void advance_to(size_t p) {
        for (size_t k = pos_; k < p; ++k)
            if (s_[k] == '\n') ++line_;
        pos_ = p;
    }
    bool at(size_t p, std::string_view lit) const { return s_.compare(p, lit.size(), lit) == 0; }
    size_t skip_ws(size_t p) const {
        while (p < s_.size() && is_space(s_[p])) ++p;
        return p;
    }

    // `{%(-|+|)\s*raw\s*(-%}\s*|%})` at p: returns the end, or npos.
    size_t match_raw_begin(size_t p) const {
        size_t q = p + 2;
        if (q < s_.size() && (s_[q] == '-' || s_[q] == '+')) ++q;
        q = skip_ws(q);
        if (!at(q, "raw")) return std::string::npos;
        q = skip_ws(q + 3);
        if (at(q, "-%}")) return skip_ws(q + 3);
        if (at(q, "%}")) return q + 2;
        return std::string::npos;
    }

    // Text before a tag, with `-` / lstrip_blocks applied as jinja2 does.
    std::string strip_text(std::string text, char sign, bool is_variable, size_t text_start) {
        if (sign == '-') {
            size_t e = text.size();
            while (e > 0 && is_space(text[e - 1])) --e;
            text.resize(e);
        } else if (sign != '+' && !is_variable) {
            size_t nl = text.rfind('\n');
            size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
            bool line_starting = text_start == 0 || s_[text_start - 1] == '\n';
            if (l_pos > 0 || line_starting) {
                bool all_ws = l_pos < text.size();
                for (size_t k = l_pos; k < text.size(); ++k)
                    if (!is_space(text[k])) all_ws = false;
                if (all_ws) text.resize(l_pos);
            }
        }
        return text;
    }

    void root() {
        const size_t start = pos_;
        size_t p = s_.find('{', pos_);
        while (p != std::string::npos && p + 1 < s_.size() && s_[p + 1] != '{' &&
               s_[p + 1] != '%' && s_[p + 1] != '#')
            p = s_.find('{', p + 1);
        if (p == std::string::npos || p + 1 >= s_.size()) {
            push_data(s_.substr(start));
            advance_to(s_.size());
            return;
        }
        const char kind = s_[p + 1];
        char sign = p + 2 < s_.size() ? s_[p + 2] : 0;
        if (sign != '-' && sign != '+') sign = 0;
        size_t raw_end = kind == '%' ? match_raw_begin(p) : std::string::npos;
        std::string text = strip_text(s_.substr(start, p - start), sign, kind == '{', start);
        push_data(std::move(text));
        advance_to(p);
        if (raw_end != std::string::npos) {
            advance_to(raw_end);
            raw_body();
            return;
        }
        advance_to(p + 2 + (sign ? 1 : 0));
        if (kind == '#') {
            comment();
        } else if (kind == '{') {
            push(Tok::VarBegin, "{{");
            tag(false);
        } else {
            push(Tok::BlockBegin, "{%");
            tag(true);
        }
    }

    void push_data(std::string text) {
        if (!text.empty()) push(Tok::Data, std::move(text));
    }

    void comment() {
        for (size_t p = pos_; p + 1 < s_.size(); ++p) {
            if (at(p, "+#}")) {
                advance_to(p + 3);
                return;
            }
            if (at(p, "-#}")) {
                advance_to(skip_ws(p + 3));
                return;
            }
            if (at(p, "#}")) {
                size_t e = p + 2;
                if (e < s_.size() && s_[e] == '\n') ++e;
                advance_to(e);
                return;
            }
        }
        fail(line_, "Missing end of comment tag");
    }

    // Body of {% raw %}: everything up to {% endraw %}, which may carry -/+.
    void raw_body() {
        const size_t start = pos_;
        for (size_t p = s_.find("{%", pos_); p != std::string::npos; p = s_.find("{%", p + 1)) {
            size_t q = p + 2;
            char sign = 0;
            if (q < s_.size() && (s_[q] == '-' || s_[q] == '+')) sign = s_[q++];
            q = skip_ws(q);
            if (!at(q, "endraw")) continue;
            q = skip_ws(q + 6);
            size_t end;
            if (at(q, "+%}"))
                end = q + 3;
            else if (at(q, "-%}"))
                end = skip_ws(q + 3);
            else if (at(q, "%}")) {
                end = q + 2;
                if (end < s_.size() && s_[end] == '\n') ++end;
            } else
                continue;
            push_data(strip_text(s_.substr(start, p - start), sign, false, start));
            advance_to(end);
            return;
        }
        fail(line_, "Missing end of raw directive");
    }

    // Expression tokens up to the closing %} or }}; brackets must balance
    // before a closing tag counts (so `{{ {'a': {'b': 1}} }}` works).
    void tag(bool block) {
        std::vector<char> balance;
        while (true) {
            if (pos_ >= s_.size()) fail(line_, "unexpected end of template, expected end of tag");
            if (balance.empty()) {
                if (block) {
                    if (at(pos_, "+%}")) {
                        push(Tok::BlockEnd, "%}");
                        advance_to(pos_ + 3);
                        return;
                    }
                    if (at(pos_, "-%}")) {
                        push(Tok::BlockEnd, "%}");
                        advance_to(skip_ws(pos_ + 3));
                        return;
                    }
                    if (at(pos_, "%}")) {
                        push(Tok::BlockEnd, "%}");
                        size_t e = pos_ + 2;
                        if (e < s_.size() && s_[e] == '\n') ++e;
                        advance_to(e);
                        return;
                    }
                } else {
                    if (at(pos_, "-}}")) {
                        push(Tok::VarEnd, "}}");
                        advance_to(skip_ws(pos_ + 3));
                        return;
                    }
                    if (at(pos_, "}}")) {
                        push(Tok::VarEnd, "}}");
                        advance_to(pos_ + 2);
                        return;
                    }
                }
            }
            char c = s_[pos_];
            if (is_space(c)) {
                advance_to(skip_ws(pos_));
            } else if (is_digit(c)) {
                number();
            } else if (is_name_start(c)) {
                size_t e = pos_;
                while (e < s_.size() && (is_name_start(s_[e]) || is_digit(s_[e]))) ++e;
                push(Tok::Name, s_.substr(pos_, e - pos_));
                advance_to(e);
            } else if (c == '\'' || c == '"') {
                string_literal(c);
            } else {
                op(balance);
            }
        }
    }

    void number() {
        size_t e = pos_;
        auto digits = [&] {
            while (e < s_.size() &&
                   (is_digit(s_[e]) || (s_[e] == '_' && e + 1 < s_.size() && is_digit(s_[e + 1]))))
                ++e;
        };
        digits();
        bool is_float = false;
        if (e + 1 < s_.size() && s_[e] == '.' && is_digit(s_[e + 1])) {
            ++e;
            digits();
            is_float = true;
        }
        if (e < s_.size() && (s_[e] == 'e' || s_[e] == 'E')) {
            size_t q = e + 1;
            if (q < s_.size() && (s_[q] == '+' || s_[q] == '-')) ++q;
            if (q < s_.size() && is_digit(s_[q])) {
                e = q;
                digits();
                is_float = true;
            }
        }
        std::string text;
        for (size_t k = pos_; k < e; ++k)
            if (s_[k] != '_') text += s_[k];
        Token t{is_float ? Tok::Float : Tok::Int, text, line_, 0, 0};
        if (is_float) {
            t.fval = std::strtod(text.c_str(), nullptr);
        } else {
            errno = 0;
            t.ival = std::strtoll(text.c_str(), nullptr, 10);
            if (errno == ERANGE) fail(line_, "integer literal too large: {}", text);
        }
        out_.push_back(std::move(t));
        advance_to(e);
    }

    void string_literal(char q) {
        std::string v;
        size_t p = pos_ + 1;
        while (true) {
            if (p >= s_.size()) fail(line_, "unexpected end of string literal");
            char c = s_[p];
            if (c == q) break;
            if (c != '\\' || p + 1 >= s_.size()) {
                v += c;
                ++p;
                continue;
            }
            char e = s_[p + 1];
            p += 2;
            switch (e) {
                case 'n':
                    v += '\n';
                    break;
                case 't':
                    v += '\t';
                    break;
                case 'r':
                    v += '\r';
                    break;
                case '\\':
                    v += '\\';
                    break;
                case '\'':
                    v += '\'';
                    break;
                case '"':
                    v += '"';
                    break;
                case 'a':
                    v += '\a';
                    break;
                case 'b':
                    v += '\b';
                    break;
                case 'f':
                    v += '\f';
                    break;
                case 'v':
                    v += '\v';
                    break;
                case '\n':
                    break;  // line continuation
                case 'x':
                case 'u':
                case 'U': {
                    int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    uint32_t cp = 0;
                    for (int k = 0; k < n; ++k) {
                        int h = p + static_cast<size_t>(k) < s_.size() ? hex_value(s_[p + k]) : -1;
                        if (h < 0) fail(line_, "truncated \\{} escape in string literal", e);
                        cp = cp * 16 + static_cast<uint32_t>(h);
                    }
                    if (cp > 0x10FFFF) fail(line_, "illegal Unicode character in string literal");
                    utf8::append(v, cp);
                    p += static_cast<size_t>(n);
                    break;
                }
                default:
                    if (e >= '0' && e <= '7') {
                        uint32_t cp = static_cast<uint32_t>(e - '0');
                        for (int k = 0; k < 2 && p < s_.size() && s_[p] >= '0' && s_[p] <= '7';
                             ++k, ++p)
                            cp = cp * 8 + static_cast<uint32_t>(s_[p] - '0');
                        utf8::append(v, cp);
                    } else if (e == 'N') {
                        fail(line_, "unsupported construct: \\N{{...}} escape in string literal");
                    } else {
                        v += '\\';
                        v += e;
                    }
            }
        }
        push(Tok::String, std::move(v));
        advance_to(p + 1);
    }

    void op(std::vector<char>& balance) {
        static const char* const kOps[] = {"//", "**", "==", "!=", ">=", "<=", "+", "-", "/",
                                           "*",  "%",  "~",  "[",  "]",  "(",  ")", "{", "}",
                                           ">",  "<",  "=",  ".",  ":",  "|",  ",", ";"};
        for (const char* o : kOps) {
            if (!at(pos_, o)) continue;
            std::string t = o;
            if (t == "(" || t == "[" || t == "{") {
                balance.push_back(t == "(" ? ')' : t == "[" ? ']' : '}');
            } else if (t == ")" || t == "]" || t == "}") {
                if (balance.empty()) fail(line_, "unexpected '{}'", t);
                if (balance.back() != t[0])
                    fail(line_, "unexpected '{}', expected '{}'", t, balance.back());
                balance.pop_back();
            }
            push(Tok::Op, t);
            advance_to(pos_ + t.size());
            return;
        }
        fail(line_, "unexpected char '{}'", s_[pos_]);
    }
};

// jinja2: \r\n and \r become \n, and one trailing newline is dropped.
std::string normalize(std::string_view src) {
    std::string out;
    out.reserve(src.size());
    for (size_t k = 0; k < src.size(); ++k) {
        if (src[k] == '\r') {
            out += '\n';
            if (k + 1 < src.size() && src[k + 1] == '\n') ++k;
        } else {
            out += src[k];
        }
    }
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

}  // namespace

std::vector<Token> lex(std::string_view source) {
    return Lexer(normalize(source)).run();
}

}  // namespace ig::jinja
