#pragma once
// Values of the Jinja interpreter, modelled on the Python objects jinja2 sees
// when Hugging Face renders a chat template: None, bool, int, float, str,
// list/tuple, dict (insertion-ordered), callables, and jinja2's Undefined.
//
// Strings carry provenance: one mark per byte, 1 where the byte came from the
// template (literals, bos_token, numbers it printed) and 0 where it came from
// message content or tool data. The marks travel through every string
// operation so that the tokenizer can refuse to match special tokens in bytes
// a user supplied.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace ig::jinja {

inline constexpr uint8_t kTemplate = 1;  // provenance mark: template-originated
inline constexpr uint8_t kContent = 0;   // provenance mark: user/tool data

// Text plus one provenance mark per byte (m.size() == s.size()).
struct PStr {
    std::string s;
    std::vector<uint8_t> m;

    PStr() = default;
    PStr(std::string_view text, uint8_t mark) : s(text), m(text.size(), mark) {}

    size_t size() const { return s.size(); }
    void append(const PStr& o) {
        s += o.s;
        m.insert(m.end(), o.m.begin(), o.m.end());
    }
    void append(std::string_view t, uint8_t mark) {
        s += t;
        m.insert(m.end(), t.size(), mark);
    }
    PStr substr(size_t pos, size_t n = std::string::npos) const;
    // 1 when every byte is template-originated (an empty string counts as 1).
    uint8_t min_mark() const;
};

struct Value;
struct List {
    std::vector<Value> items;
};
struct Dict;

class Interp;
struct CallArgs;
using NativeFn = std::function<Value(Interp&, CallArgs&, int line)>;
struct Func {
    std::string name;
    NativeFn fn;
};

enum class Kind : uint8_t { Undefined, None, Bool, Int, Float, Str, List, Dict, Func };

struct Value {
    Kind kind = Kind::Undefined;
    bool tuple = false;   // List: a Python tuple (immutable, repr with parentheses)
    bool ns = false;      // Dict: a namespace() (attribute assignment allowed)
    bool markup = false;  // Str: markupsafe.Markup (from |safe, |escape): `+` escapes plain strings
    bool b = false;
    int64_t i = 0;
    double f = 0;
    std::shared_ptr<const PStr> str;  // strings are immutable: shared freely
    std::shared_ptr<List> list;       // shared like Python references
    std::shared_ptr<Dict> dict;
    std::shared_ptr<const Func> fn;
    std::string undef_hint;  // Undefined: what was missing, for error messages

    static Value undefined(std::string hint = {});
    static Value none();
    static Value boolean(bool v);
    static Value integer(int64_t v);
    static Value number(double v);
    static Value string(PStr s);
    static Value string(std::string_view s, uint8_t mark);
    static Value new_list(std::vector<Value> items = {}, bool tuple = false);
    static Value new_dict();
    static Value function(std::string name, NativeFn fn);

    bool is_undefined() const { return kind == Kind::Undefined; }
    bool is_none() const { return kind == Kind::None; }
    bool is_str() const { return kind == Kind::Str; }
    bool is_list() const { return kind == Kind::List; }
    bool is_dict() const { return kind == Kind::Dict; }
    bool is_number() const {
        return kind == Kind::Int || kind == Kind::Float || kind == Kind::Bool;
    }
    const std::string& s() const { return str->s; }
    double as_double() const { return kind == Kind::Float ? f : static_cast<double>(as_int()); }
    int64_t as_int() const { return kind == Kind::Bool ? (b ? 1 : 0) : i; }
};

struct Dict {
    std::vector<std::pair<Value, Value>> items;
    Value* find(const Value& key);
    Value* find(std::string_view key);
    void set(Value key, Value v);
    bool erase(const Value& key);
};

struct CallArgs {
    std::vector<Value> pos;
    std::vector<std::pair<std::string, Value>> kw;
    // Removes and returns keyword `name`, else positional `idx`, else Undefined.
    Value take(size_t idx, std::string_view name);
    Value* kwarg(std::string_view name);
};

// Python semantics.
bool truthy(const Value& v);
bool equals(const Value& a, const Value& b);
// Python `<`; throws JinjaError when the types cannot be ordered.
bool less_than(const Value& a, const Value& b, int line);
std::string type_name(const Value& v);
// str(v) as Python prints it (Undefined prints as "").
PStr to_pstr(const Value& v);
// repr(v) as Python writes it.
PStr repr(const Value& v);
std::string float_repr(double d);

// json.dumps(v, ensure_ascii, indent, separators, sort_keys) as Python writes it.
struct JsonStyle {
    bool ensure_ascii = false;
    bool sort_keys = false;
    std::string indent;  // empty with has_indent=false: one line
    bool has_indent = false;
    std::string item_sep = ", ";
    std::string key_sep = ": ";
};
PStr to_json(const Value& v, const JsonStyle& style, int line);

// JSON data → values; every string gets `mark`.
Value from_json(const nlohmann::ordered_json& j, uint8_t mark);

// UTF-8 helpers: byte offset of each code point start (plus the end), so that
// indexing, slicing and len() count code points like Python.
std::vector<size_t> codepoint_offsets(std::string_view s);
size_t codepoint_count(std::string_view s);

}  // namespace ig::jinja
