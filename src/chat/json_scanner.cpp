#include "chat/json_scanner.h"

#include "util/utf8.h"

#include <string_view>

namespace ig {
namespace {

bool is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
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

constexpr uint32_t kReplacement = 0xFFFD;

}  // namespace

JsonScanner::Result JsonScanner::push(char c) {
    switch (s_) {
        case S::Value:
            return value_start(c);
        case S::ArrValueOrEnd:
            if (is_ws(c)) return Result::More;
            if (c == ']') {
                stack_.pop_back();
                return end_value();
            }
            return value_start(c);
        case S::ObjKeyOrEnd:
            if (is_ws(c)) return Result::More;
            if (c == '}') {
                stack_.pop_back();
                return end_value();
            }
            [[fallthrough]];
        case S::ObjKey:
            if (is_ws(c)) return Result::More;
            if (c != '"') return fail();
            s_ = S::Str;
            in_key_ = true;
            return Result::More;
        case S::Colon:
            if (is_ws(c)) return Result::More;
            if (c != ':') return fail();
            s_ = S::Value;
            return Result::More;
        case S::AfterValue:
            return after_value(c);
        case S::Str:
            if (c == '"') {
                if (in_key_) {
                    in_key_ = false;
                    s_ = S::Colon;
                    return Result::More;
                }
                return end_value();
            }
            if (c == '\\') s_ = S::StrEsc;
            if (static_cast<unsigned char>(c) < 0x20) return fail();
            return Result::More;
        case S::StrEsc:
            if (c == 'u') {
                s_ = S::StrHex;
                hex_left_ = 4;
                return Result::More;
            }
            if (std::string_view("\"\\/bfnrt").find(c) == std::string_view::npos) return fail();
            s_ = S::Str;
            return Result::More;
        case S::StrHex:
            if (hex_value(c) < 0) return fail();
            if (--hex_left_ == 0) s_ = S::Str;
            return Result::More;
        case S::NumMinus:
            if (c == '0') {
                s_ = S::NumZero;
                return Result::More;
            }
            if (!is_digit(c)) return fail();
            s_ = S::NumInt;
            return Result::More;
        case S::NumZero:
        case S::NumInt:
            if (is_digit(c) && s_ == S::NumInt) return Result::More;
            if (c == '.') {
                s_ = S::NumDot;
                return Result::More;
            }
            if (c == 'e' || c == 'E') {
                s_ = S::NumE;
                return Result::More;
            }
            return end_number(c);
        case S::NumDot:
            if (!is_digit(c)) return fail();
            s_ = S::NumFrac;
            return Result::More;
        case S::NumFrac:
            if (is_digit(c)) return Result::More;
            if (c == 'e' || c == 'E') {
                s_ = S::NumE;
                return Result::More;
            }
            return end_number(c);
        case S::NumE:
            if (c == '+' || c == '-') {
                s_ = S::NumESign;
                return Result::More;
            }
            [[fallthrough]];
        case S::NumESign:
            if (!is_digit(c)) return fail();
            s_ = S::NumExp;
            return Result::More;
        case S::NumExp:
            if (is_digit(c)) return Result::More;
            return end_number(c);
        case S::Lit:
            if (c != *lit_) return fail();
            if (*++lit_ == '\0') return end_value();
            return Result::More;
        case S::Done:
            return Result::DoneBefore;
        case S::Error:
            return Result::Error;
    }
    return fail();
}

JsonScanner::Result JsonScanner::value_start(char c) {
    if (is_ws(c)) return Result::More;
    switch (c) {
        case '{':
            stack_.push_back('{');
            s_ = S::ObjKeyOrEnd;
            return Result::More;
        case '[':
            stack_.push_back('[');
            s_ = S::ArrValueOrEnd;
            return Result::More;
        case '"':
            s_ = S::Str;
            in_key_ = false;
            return Result::More;
        case '-':
            s_ = S::NumMinus;
            return Result::More;
        case '0':
            s_ = S::NumZero;
            return Result::More;
        case 't':
            lit_ = "rue";
            s_ = S::Lit;
            return Result::More;
        case 'f':
            lit_ = "alse";
            s_ = S::Lit;
            return Result::More;
        case 'n':
            lit_ = "ull";
            s_ = S::Lit;
            return Result::More;
        default:
            if (!is_digit(c)) return fail();
            s_ = S::NumInt;
            return Result::More;
    }
}

JsonScanner::Result JsonScanner::after_value(char c) {
    if (is_ws(c)) return Result::More;
    const char top = stack_.back();
    if (c == ',') {
        s_ = top == '{' ? S::ObjKey : S::Value;
        return Result::More;
    }
    if ((c == '}' && top == '{') || (c == ']' && top == '[')) {
        stack_.pop_back();
        return end_value();
    }
    return fail();
}

JsonScanner::Result JsonScanner::end_value() {
    if (stack_.empty()) {
        s_ = S::Done;
        return Result::Done;
    }
    s_ = S::AfterValue;
    return Result::More;
}

JsonScanner::Result JsonScanner::end_number(char c) {
    if (stack_.empty()) {
        s_ = S::Done;
        return Result::DoneBefore;
    }
    s_ = S::AfterValue;
    return after_value(c);
}

JsonStringDecoder::Result JsonStringDecoder::push(char c, std::string& out) {
    switch (s_) {
        case S::Plain:
            if (c == '"') {
                s_ = S::Closed;
                return Result::Closed;
            }
            if (c == '\\') {
                s_ = S::Esc;
                return Result::More;
            }
            if (static_cast<unsigned char>(c) < 0x20) break;
            out += c;
            return Result::More;
        case S::Esc: {
            s_ = S::Plain;
            switch (c) {
                case '"':
                    out += '"';
                    return Result::More;
                case '\\':
                    out += '\\';
                    return Result::More;
                case '/':
                    out += '/';
                    return Result::More;
                case 'b':
                    out += '\b';
                    return Result::More;
                case 'f':
                    out += '\f';
                    return Result::More;
                case 'n':
                    out += '\n';
                    return Result::More;
                case 'r':
                    out += '\r';
                    return Result::More;
                case 't':
                    out += '\t';
                    return Result::More;
                case 'u':
                    s_ = S::Hex;
                    hex_left_ = 4;
                    code_ = 0;
                    return Result::More;
                default:
                    break;
            }
            break;
        }
        case S::Hex:
            return hex_digit(c, out);
        case S::LowEsc:
            if (c == '\\') {
                s_ = S::LowU;
                return Result::More;
            }
            // The high surrogate has no low half: replace it, then read c.
            utf8::append(out, kReplacement);
            high_ = 0;
            s_ = S::Plain;
            return push(c, out);
        case S::LowU:
            if (c == 'u') {
                s_ = S::Hex;
                hex_left_ = 4;
                code_ = 0;
                return Result::More;
            }
            // "\<high>\x": the high half is lone, and "\x" an escape of its own.
            utf8::append(out, kReplacement);
            high_ = 0;
            s_ = S::Esc;
            return push(c, out);
        case S::Closed:
        case S::Error:
            break;
    }
    s_ = S::Error;
    return Result::Error;
}

JsonStringDecoder::Result JsonStringDecoder::hex_digit(char c, std::string& out) {
    const int v = hex_value(c);
    if (v < 0) {
        s_ = S::Error;
        return Result::Error;
    }
    code_ = code_ << 4 | static_cast<uint32_t>(v);
    if (--hex_left_ > 0) return Result::More;
    s_ = S::Plain;
    if (high_ != 0) {
        const uint32_t high = high_;
        high_ = 0;
        if (code_ >= 0xDC00 && code_ <= 0xDFFF) {
            utf8::append(out, 0x10000 + ((high - 0xD800) << 10) + (code_ - 0xDC00));
            return Result::More;
        }
        utf8::append(out, kReplacement);  // the high half was lone
    }
    if (code_ >= 0xD800 && code_ <= 0xDBFF) {
        high_ = code_;
        s_ = S::LowEsc;
    } else if (code_ >= 0xDC00 && code_ <= 0xDFFF) {
        utf8::append(out, kReplacement);
    } else {
        utf8::append(out, code_);
    }
    return Result::More;
}

void append_json_escaped(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    out += "\\u00";
                    out += kHex[(c >> 4) & 0xF];
                    out += kHex[c & 0xF];
                } else {
                    out += c;
                }
        }
    }
}

}  // namespace ig
