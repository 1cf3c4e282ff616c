#include "chat/jinja_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "chat/jinja_error.h"

namespace ig::jinja {

PStr PStr::substr(size_t pos, size_t n) const {
    PStr r;
    if (pos >= s.size()) return r;
    n = std::min(n, s.size() - pos);
    r.s = s.substr(pos, n);
    r.m.assign(m.begin() + static_cast<ptrdiff_t>(pos),
               m.begin() + static_cast<ptrdiff_t>(pos + n));
    return r;
}

uint8_t PStr::min_mark() const {
    for (uint8_t x : m)
        if (x == kContent) return kContent;
    return kTemplate;
}

Value Value::undefined(std::string hint) {
    Value v;
    v.undef_hint = std::move(hint);
    return v;
}
Value Value::none() {
    Value v;
    v.kind = Kind::None;
    return v;
}
Value Value::boolean(bool x) {
    Value v;
    v.kind = Kind::Bool;
    v.b = x;
    return v;
}
Value Value::integer(int64_t x) {
    Value v;
    v.kind = Kind::Int;
    v.i = x;
    return v;
}
Value Value::number(double x) {
    Value v;
    v.kind = Kind::Float;
    v.f = x;
    return v;
}
Value Value::string(PStr s) {
    Value v;
    v.kind = Kind::Str;
    v.str = std::make_shared<const PStr>(std::move(s));
    return v;
}
Value Value::string(std::string_view s, uint8_t mark) {
    return string(PStr(s, mark));
}
Value Value::new_list(std::vector<Value> items, bool tuple) {
    Value v;
    v.kind = Kind::List;
    v.tuple = tuple;
    v.list = std::make_shared<List>();
    v.list->items = std::move(items);
    return v;
}
Value Value::new_dict() {
    Value v;
    v.kind = Kind::Dict;
    v.dict = std::make_shared<Dict>();
    return v;
}
Value Value::function(std::string name, NativeFn fn) {
    Value v;
    v.kind = Kind::Func;
    v.fn = std::make_shared<const Func>(Func{std::move(name), std::move(fn)});
    return v;
}

Value* Dict::find(const Value& key) {
    for (auto& [k, v] : items)
        if (equals(k, key)) return &v;
    return nullptr;
}
Value* Dict::find(std::string_view key) {
    for (auto& [k, v] : items)
        if (k.kind == Kind::Str && k.str->s == key) return &v;
    return nullptr;
}
void Dict::set(Value key, Value v) {
    if (Value* p = find(key)) {
        *p = std::move(v);
        return;
    }
    items.emplace_back(std::move(key), std::move(v));
}
bool Dict::erase(const Value& key) {
    for (auto it = items.begin(); it != items.end(); ++it)
        if (equals(it->first, key)) {
            items.erase(it);
            return true;
        }
    return false;
}

Value CallArgs::take(size_t idx, std::string_view name) {
    for (auto it = kw.begin(); it != kw.end(); ++it)
        if (it->first == name) {
            Value v = std::move(it->second);
            kw.erase(it);
            return v;
        }
    if (idx < pos.size()) return pos[idx];
    return Value::undefined(std::string(name));
}
Value* CallArgs::kwarg(std::string_view name) {
    for (auto& [k, v] : kw)
        if (k == name) return &v;
    return nullptr;
}

bool truthy(const Value& v) {
    switch (v.kind) {
        case Kind::Undefined:
        case Kind::None:
            return false;
        case Kind::Bool:
            return v.b;
        case Kind::Int:
            return v.i != 0;
        case Kind::Float:
            return v.f != 0.0;
        case Kind::Str:
            return !v.str->s.empty();
        case Kind::List:
            return !v.list->items.empty();
        case Kind::Dict:
            return v.ns || !v.dict->items.empty();
        case Kind::Func:
            return true;
    }
    return false;
}

bool equals(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) {
        if (a.kind == Kind::Float || b.kind == Kind::Float) return a.as_double() == b.as_double();
        return a.as_int() == b.as_int();
    }
    if (a.kind != b.kind) return false;
    switch (a.kind) {
        case Kind::Undefined:
        case Kind::None:
            return true;
        case Kind::Str:
            return a.str->s == b.str->s;
        case Kind::List: {
            if (a.tuple != b.tuple || a.list->items.size() != b.list->items.size()) return false;
            for (size_t i = 0; i < a.list->items.size(); ++i)
                if (!equals(a.list->items[i], b.list->items[i])) return false;
            return true;
        }
        case Kind::Dict: {
            if (a.ns || b.ns) return a.dict == b.dict;
            if (a.dict->items.size() != b.dict->items.size()) return false;
            for (auto& [k, v] : a.dict->items) {
                const Value* o = b.dict->find(k);
                if (!o || !equals(v, *o)) return false;
            }
            return true;
        }
        case Kind::Func:
            return a.fn == b.fn;
        default:
            return false;
    }
}

std::string type_name(const Value& v) {
    switch (v.kind) {
        case Kind::Undefined:
            return "Undefined";
        case Kind::None:
            return "NoneType";
        case Kind::Bool:
            return "bool";
        case Kind::Int:
            return "int";
        case Kind::Float:
            return "float";
        case Kind::Str:
            return "str";
        case Kind::List:
            return v.tuple ? "tuple" : "list";
        case Kind::Dict:
            return v.ns ? "Namespace" : "dict";
        case Kind::Func:
            return "function";
    }
    return "?";
}

bool less_than(const Value& a, const Value& b, int line) {
    if (a.is_number() && b.is_number()) {
        if (a.kind == Kind::Float || b.kind == Kind::Float) return a.as_double() < b.as_double();
        return a.as_int() < b.as_int();
    }
    if (a.is_str() && b.is_str()) return a.str->s < b.str->s;
    if (a.is_list() && b.is_list() && a.tuple == b.tuple) {
        const auto& x = a.list->items;
        const auto& y = b.list->items;
        for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
            if (equals(x[i], y[i])) continue;
            return less_than(x[i], y[i], line);
        }
        return x.size() < y.size();
    }
    fail(line, "'<' not supported between instances of '{}' and '{}'", type_name(a), type_name(b));
}

std::string float_repr(double d) {
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
    if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string sci(buf, r.ptr);
    // sci = [-]D[.DDD]e[+-]XX
    bool neg = sci[0] == '-';
    if (neg) sci.erase(0, 1);
    size_t e = sci.find('e');
    int exp10 = std::stoi(sci.substr(e + 1));
    std::string digits;
    for (size_t k = 0; k < e; ++k)
        if (sci[k] != '.') digits += sci[k];
    std::string out;
    if (exp10 < -4 || exp10 >= 16) {
        out = digits.substr(0, 1);
        if (digits.size() > 1) out += "." + digits.substr(1);
        out += exp10 < 0 ? "e-" : "e+";
        std::string ex = std::to_string(std::abs(exp10));
        if (ex.size() < 2) ex = "0" + ex;
        out += ex;
    } else if (exp10 < 0) {
        out = "0." + std::string(static_cast<size_t>(-exp10 - 1), '0') + digits;
    } else {
        size_t point = static_cast<size_t>(exp10) + 1;
        if (digits.size() <= point) {
            out = digits + std::string(point - digits.size(), '0') + ".0";
        } else {
            out = digits.substr(0, point) + "." + digits.substr(point);
        }
    }
    return neg ? "-" + out : out;
}

static void repr_str(PStr& out, const PStr& s) {
    bool has_sq = s.s.find('\'') != std::string::npos;
    bool has_dq = s.s.find('"') != std::string::npos;
    char q = (has_sq && !has_dq) ? '"' : '\'';
    out.append(std::string_view(&q, 1), kTemplate);
    for (size_t k = 0; k < s.s.size(); ++k) {
        unsigned char c = static_cast<unsigned char>(s.s[k]);
        uint8_t mk = s.m[k];
        if (c == '\\')
            out.append("\\\\", mk);
        else if (c == static_cast<unsigned char>(q))
            out.append(q == '\'' ? "\\'" : "\\\"", mk);
        else if (c == '\n')
            out.append("\\n", mk);
        else if (c == '\r')
            out.append("\\r", mk);
        else if (c == '\t')
            out.append("\\t", mk);
        else if (c < 0x20 || c == 0x7f)
            out.append(fmt::format("\\x{:02x}", c), mk);
        else
            out.append(std::string_view(reinterpret_cast<const char*>(&c), 1), mk);
    }
    out.append(std::string_view(&q, 1), kTemplate);
}

static void repr_into(PStr& out, const Value& v, int depth) {
    if (depth > 200) fail(0, "maximum recursion depth exceeded while printing a value");
    switch (v.kind) {
        case Kind::Str:
            repr_str(out, *v.str);
            return;
        case Kind::List: {
            out.append(v.tuple ? "(" : "[", kTemplate);
            const auto& it = v.list->items;
            for (size_t k = 0; k < it.size(); ++k) {
                if (k) out.append(", ", kTemplate);
                repr_into(out, it[k], depth + 1);
            }
            if (v.tuple && it.size() == 1) out.append(",", kTemplate);
            out.append(v.tuple ? ")" : "]", kTemplate);
            return;
        }
        case Kind::Dict: {
            if (v.ns) {
                out.append("<Namespace {", kTemplate);
            } else {
                out.append("{", kTemplate);
            }
            bool first = true;
            for (auto& [k, x] : v.dict->items) {
                if (!first) out.append(", ", kTemplate);
                first = false;
                repr_into(out, k, depth + 1);
                out.append(": ", kTemplate);
                repr_into(out, x, depth + 1);
            }
            out.append(v.ns ? "}>" : "}", kTemplate);
            return;
        }
        case Kind::Undefined:
            out.append("Undefined", kTemplate);
            return;
        default:
            out.append(to_pstr(v));
            return;
    }
}

PStr repr(const Value& v) {
    PStr out;
    repr_into(out, v, 0);
    return out;
}

PStr to_pstr(const Value& v) {
    switch (v.kind) {
        case Kind::Undefined:
            return {};
        case Kind::None:
            return PStr("None", kTemplate);
        case Kind::Bool:
            return PStr(v.b ? "True" : "False", kTemplate);
        case Kind::Int:
            return PStr(std::to_string(v.i), kTemplate);
        case Kind::Float:
            return PStr(float_repr(v.f), kTemplate);
        case Kind::Str:
            return *v.str;
        case Kind::List:
        case Kind::Dict:
            return repr(v);
        case Kind::Func:
            return PStr(fmt::format("<function {}>", v.fn->name), kTemplate);
    }
    return {};
}

static void json_str(PStr& out, const PStr& s, bool ensure_ascii) {
    out.append("\"", kTemplate);
    size_t k = 0;
    while (k < s.s.size()) {
        unsigned char c = static_cast<unsigned char>(s.s[k]);
        uint8_t mk = s.m[k];
        switch (c) {
            case '"':
                out.append("\\\"", mk);
                ++k;
                continue;
            case '\\':
                out.append("\\\\", mk);
                ++k;
                continue;
            case '\n':
                out.append("\\n", mk);
                ++k;
                continue;
            case '\r':
                out.append("\\r", mk);
                ++k;
                continue;
            case '\t':
                out.append("\\t", mk);
                ++k;
                continue;
            case '\b':
                out.append("\\b", mk);
                ++k;
                continue;
            case '\f':
                out.append("\\f", mk);
                ++k;
                continue;
            default:
                break;
        }
        if (c < 0x20 || (ensure_ascii && c == 0x7f)) {
            out.append(fmt::format("\\u{:04x}", c), mk);
            ++k;
            continue;
        }
        if (c < 0x80 || !ensure_ascii) {
            out.append(std::string_view(s.s.data() + k, 1), mk);
            ++k;
            continue;
        }
        // ensure_ascii: decode one code point and write \uXXXX (surrogate pairs above the BMP).
        uint32_t cp = 0;
        int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (k + static_cast<size_t>(len) > s.s.size()) len = 1;
        cp = len == 1 ? c : (c & (0x7F >> len));
        for (int t = 1; t < len; ++t)
            cp = (cp << 6) | (static_cast<unsigned char>(s.s[k + t]) & 0x3F);
        if (cp >= 0x10000) {
            cp -= 0x10000;
            out.append(
                fmt::format("\\u{:04x}\\u{:04x}", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF)), mk);
        } else {
            out.append(fmt::format("\\u{:04x}", cp), mk);
        }
        k += static_cast<size_t>(len);
    }
    out.append("\"", kTemplate);
}

static void json_into(PStr& out, const Value& v, const JsonStyle& st, int level, int line) {
    if (level > 200) fail(line, "maximum recursion depth exceeded in tojson");
    auto newline = [&](int lv) {
        if (!st.has_indent) return;
        out.append("\n", kTemplate);
        for (int k = 0; k < lv; ++k) out.append(st.indent, kTemplate);
    };
    switch (v.kind) {
        case Kind::None:
            out.append("null", kTemplate);
            return;
        case Kind::Bool:
            out.append(v.b ? "true" : "false", kTemplate);
            return;
        case Kind::Int:
            out.append(std::to_string(v.i), kTemplate);
            return;
        case Kind::Float:
            if (std::isnan(v.f))
                out.append("NaN", kTemplate);
            else if (std::isinf(v.f))
                out.append(v.f > 0 ? "Infinity" : "-Infinity", kTemplate);
            else
                out.append(float_repr(v.f), kTemplate);
            return;
        case Kind::Str:
            json_str(out, *v.str, st.ensure_ascii);
            return;
        case Kind::List: {
            const auto& it = v.list->items;
            if (it.empty()) {
                out.append("[]", kTemplate);
                return;
            }
            out.append("[", kTemplate);
            for (size_t k = 0; k < it.size(); ++k) {
                if (k) out.append(st.item_sep, kTemplate);
                newline(level + 1);
                json_into(out, it[k], st, level + 1, line);
            }
            newline(level);
            out.append("]", kTemplate);
            return;
        }
        case Kind::Dict: {
            if (v.ns) break;
            std::vector<const std::pair<Value, Value>*> items;
            for (auto& kv : v.dict->items) items.push_back(&kv);
            if (items.empty()) {
                out.append("{}", kTemplate);
                return;
            }
            if (st.sort_keys) {
                std::stable_sort(items.begin(), items.end(), [&](auto* a, auto* b) {
                    return less_than(a->first, b->first, line);
                });
            }
            out.append("{", kTemplate);
            bool first = true;
            for (auto* kv : items) {
                if (!first) out.append(st.item_sep, kTemplate);
                first = false;
                newline(level + 1);
                const Value& key = kv->first;
                if (key.is_str()) {
                    json_str(out, *key.str, st.ensure_ascii);
                } else if (key.kind == Kind::Bool || key.kind == Kind::None) {
                    out.append(key.kind == Kind::None ? "\"null\""
                               : key.b                ? "\"true\""
                                                      : "\"false\"",
                               kTemplate);
                } else if (key.kind == Kind::Int || key.kind == Kind::Float) {
                    out.append("\"", kTemplate);
                    json_into(out, key, st, level + 1, line);
                    out.append("\"", kTemplate);
                } else {
                    fail(line, "keys must be str, int, float, bool or None, not {}",
                         type_name(key));
                }
                out.append(st.key_sep, kTemplate);
                json_into(out, kv->second, st, level + 1, line);
            }
            newline(level);
            out.append("}", kTemplate);
            return;
        }
        default:
            break;
    }
    fail(line, "Object of type {} is not JSON serializable", type_name(v));
}

PStr to_json(const Value& v, const JsonStyle& style, int line) {
    PStr out;
    json_into(out, v, style, 0, line);
    return out;
}

Value from_json(const nlohmann::ordered_json& j, uint8_t mark) {
    using T = nlohmann::ordered_json::value_t;
    switch (j.type()) {
        case T::null:
            return Value::none();
        case T::boolean:
            return Value::boolean(j.get<bool>());
        case T::number_integer:
            return Value::integer(j.get<int64_t>());
        case T::number_unsigned: {
            auto u = j.get<uint64_t>();
            if (u > static_cast<uint64_t>(INT64_MAX)) return Value::number(static_cast<double>(u));
            return Value::integer(static_cast<int64_t>(u));
        }
        case T::number_float:
            return Value::number(j.get<double>());
        case T::string:
            return Value::string(j.get_ref<const std::string&>(), mark);
        case T::array: {
            std::vector<Value> items;
            items.reserve(j.size());
            for (const auto& x : j) items.push_back(from_json(x, mark));
            return Value::new_list(std::move(items));
        }
        case T::object: {
            Value d = Value::new_dict();
            for (auto it = j.begin(); it != j.end(); ++it)
                d.dict->items.emplace_back(Value::string(it.key(), mark),
                                           from_json(it.value(), mark));
            return d;
        }
        default:
            return Value::none();
    }
}

std::vector<size_t> codepoint_offsets(std::string_view s) {
    std::vector<size_t> off;
    off.reserve(s.size() + 1);
    size_t k = 0;
    while (k < s.size()) {
        off.push_back(k);
        unsigned char c = static_cast<unsigned char>(s[k]);
        size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        size_t n = 1;
        // Invalid or truncated sequences count one code point per byte.
        while (n < len && k + n < s.size() && (static_cast<unsigned char>(s[k + n]) & 0xC0) == 0x80)
            ++n;
        k += (n == len) ? len : 1;
    }
    off.push_back(s.size());
    return off;
}

size_t codepoint_count(std::string_view s) {
    return codepoint_offsets(s).size() - 1;
}

}  // namespace ig::jinja
