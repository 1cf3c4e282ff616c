// Python methods of str, list and dict, and the template globals, as jinja2's
// ImmutableSandboxedEnvironment (what Hugging Face renders with) allows them:
// methods that mutate a list or dict are refused there, so they are here.
#include <ctime>

#include "chat/jinja_error.h"
#include "chat/jinja_interp.h"
#include "chat/jinja_strings.h"

namespace ig::jinja {
namespace {

const PStr& need_str(const Value& v, const char* what, int line) {
    if (!v.is_str()) fail(line, "{}: expected a string, got {}", what, type_name(v));
    return *v.str;
}

int64_t opt_int(const Value& v, int64_t dflt, const char* what, int line) {
    if (v.is_undefined() || v.is_none()) return dflt;
    if (v.kind != Kind::Int && v.kind != Kind::Bool)
        fail(line, "{}: expected an integer, got {}", what, type_name(v));
    return v.as_int();
}

Value str_list(std::vector<PStr> parts) {
    std::vector<Value> items;
    items.reserve(parts.size());
    for (auto& p : parts) items.push_back(Value::string(std::move(p)));
    return Value::new_list(std::move(items));
}

bool affix_match(const PStr& s, const Value& affix, bool prefix, int line) {
    auto one = [&](const Value& a) {
        const std::string& x = need_str(a, prefix ? "startswith" : "endswith", line).s;
        if (x.size() > s.size()) return false;
        return prefix ? s.s.compare(0, x.size(), x) == 0
                      : s.s.compare(s.size() - x.size(), x.size(), x) == 0;
    };
    if (affix.is_list() && affix.tuple) {
        for (const Value& a : affix.list->items)
            if (one(a)) return true;
        return false;
    }
    return one(affix);
}

// str.format with automatic/numbered/named fields and no format specs.
PStr str_format(const PStr& f, CallArgs& a, int line) {
    PStr out;
    size_t auto_idx = 0;
    for (size_t k = 0; k < f.size(); ++k) {
        char c = f.s[k];
        if (c == '}') {
            if (k + 1 < f.size() && f.s[k + 1] == '}')
                ++k;
            else
                fail(line, "Single '}}' encountered in format string");
            out.append("}", f.m[k]);
            continue;
        }
        if (c != '{') {
            out.append(std::string_view(&f.s[k], 1), f.m[k]);
            continue;
        }
        if (k + 1 < f.size() && f.s[k + 1] == '{') {
            out.append("{", f.m[k]);
            ++k;
            continue;
        }
        size_t e = f.s.find('}', k);
        if (e == std::string::npos) fail(line, "Single '{{' encountered in format string");
        std::string field = f.s.substr(k + 1, e - k - 1);
        if (field.find_first_of(":!.[") != std::string::npos)
            fail(line, "unsupported construct: format spec '{{{}}}' in str.format", field);
        Value v;
        if (field.empty()) {
            if (auto_idx >= a.pos.size()) fail(line, "Replacement index {} out of range", auto_idx);
            v = a.pos[auto_idx++];
        } else if (std::all_of(field.begin(), field.end(),
                               [](char d) { return d >= '0' && d <= '9'; })) {
            size_t idx = std::stoul(field);
            if (idx >= a.pos.size()) fail(line, "Replacement index {} out of range", idx);
            v = a.pos[idx];
        } else {
            Value* kv = a.kwarg(field);
            if (!kv) fail(line, "KeyError: '{}'", field);
            v = *kv;
        }
        out.append(to_pstr(v));
        k = e;
    }
    return out;
}

using Method = Value (*)(Interp&, const Value&, CallArgs&, int);

Value unsafe(const Value& obj, const std::string& name) {
    std::string msg =
        fmt::format("access to attribute '{}' of '{}' object is unsafe.", name, type_name(obj));
    return Value::function(name,
                           [msg](Interp&, CallArgs&, int line) -> Value { fail(line, "{}", msg); });
}

Value str_method(Interp& in, const Value& obj, const std::string& name, CallArgs& a, int line) {
    const PStr& s = *obj.str;
    auto arg_str = [&](size_t i, const char* kw) -> std::optional<PStr> {
        Value v = a.take(i, kw);
        if (v.is_undefined() || v.is_none()) return std::nullopt;
        return need_str(v, name.c_str(), line);
    };
    if (name == "strip" || name == "lstrip" || name == "rstrip") {
        auto chars = arg_str(0, "chars");
        return Value::string(
            py_strip(s, chars ? &*chars : nullptr, name != "rstrip", name != "lstrip"));
    }
    if (name == "split" || name == "rsplit") {
        auto sep = arg_str(0, "sep");
        int64_t maxsplit = opt_int(a.take(1, "maxsplit"), -1, "split", line);
        if (sep && sep->s.empty()) fail(line, "empty separator");
        if (name == "rsplit" && maxsplit >= 0)
            fail(line, "unsupported construct: rsplit with maxsplit");
        return str_list(py_split(s, sep ? &*sep : nullptr, maxsplit));
    }
    if (name == "splitlines") return str_list(py_splitlines(s));
    if (name == "startswith" || name == "endswith") {
        Value affix = a.take(0, "prefix");
        return Value::boolean(affix_match(s, affix, name == "startswith", line));
    }
    if (name == "upper") return Value::string(py_upper(s));
    if (name == "lower") return Value::string(py_lower(s));
    if (name == "capitalize") return Value::string(py_capitalize(s));
    if (name == "title") return Value::string(jinja_title(s));
    if (name == "replace") {
        auto old = arg_str(0, "old");
        auto repl = arg_str(1, "new");
        if (!old || !repl) fail(line, "replace() takes at least 2 arguments");
        PStr r = py_replace(s, *old, *repl, opt_int(a.take(2, "count"), -1, "replace", line));
        in.check_size(r.size(), line);
        return Value::string(std::move(r));
    }
    if (name == "find" || name == "rfind" || name == "index" || name == "count") {
        auto sub = arg_str(0, "sub");
        if (!sub) fail(line, "{}() takes at least 1 argument", name);
        if (name == "count") {
            if (sub->s.empty())
                return Value::integer(static_cast<int64_t>(codepoint_count(s.s)) + 1);
            int64_t c = 0;
            for (size_t p = s.s.find(sub->s); p != std::string::npos;
                 p = s.s.find(sub->s, p + sub->s.size()))
                ++c;
            return Value::integer(c);
        }
        size_t p = name == "rfind" ? s.s.rfind(sub->s) : s.s.find(sub->s);
        if (p == std::string::npos) {
            if (name == "index") fail(line, "substring not found");
            return Value::integer(-1);
        }
        return Value::integer(
            static_cast<int64_t>(codepoint_count(std::string_view(s.s).substr(0, p))));
    }
    if (name == "format") return Value::string(str_format(s, a, line));
    if (name == "join") {
        Value seq = a.take(0, "iterable");
        PStr out;
        bool first = true;
        for (const Value& v : in.iterate(seq, line)) {
            if (!first) out.append(s);
            first = false;
            out.append(need_str(v, "join", line));
            in.check_size(out.size(), line);
        }
        return Value::string(std::move(out));
    }
    if (name == "removeprefix" || name == "removesuffix") {
        auto x = arg_str(0, "prefix");
        if (!x) fail(line, "{}() takes exactly one argument", name);
        bool pre = name == "removeprefix";
        if (affix_match(s, Value::string(*x), pre, line))
            return Value::string(pre ? s.substr(x->size()) : s.substr(0, s.size() - x->size()));
        return obj;
    }
    if (name.rfind("is", 0) == 0) {
        auto all = [&](auto pred) {
            if (s.s.empty()) return Value::boolean(false);
            for (char c : s.s)
                if (!pred(static_cast<unsigned char>(c))) return Value::boolean(false);
            return Value::boolean(true);
        };
        if (name == "isdigit" || name == "isnumeric" || name == "isdecimal")
            return all([](unsigned char c) { return c >= '0' && c <= '9'; });
        if (name == "isalpha") return all([](unsigned char c) { return std::isalpha(c) != 0; });
        if (name == "isalnum") return all([](unsigned char c) { return std::isalnum(c) != 0; });
        if (name == "isspace")
            return all([](unsigned char c) { return c == ' ' || (c >= 9 && c <= 13); });
        if (name == "isupper" || name == "islower") {
            bool cased = false;
            for (char c : s.s) {
                if (std::isalpha(static_cast<unsigned char>(c))) {
                    cased = true;
                    if ((name == "isupper") != (std::isupper(static_cast<unsigned char>(c)) != 0))
                        return Value::boolean(false);
                }
            }
            return Value::boolean(cased);
        }
    }
    fail(line, "unsupported construct: str.{}()", name);
}

Value list_method(Interp&, const Value& obj, const std::string& name, CallArgs& a, int line) {
    const auto& items = obj.list->items;
    if (name == "index" || name == "count") {
        Value x = a.take(0, "value");
        int64_t c = 0;
        for (size_t k = 0; k < items.size(); ++k) {
            if (!equals(items[k], x)) continue;
            if (name == "index") return Value::integer(static_cast<int64_t>(k));
            ++c;
        }
        if (name == "index") fail(line, "{} is not in list", repr(x).s);
        return Value::integer(c);
    }
    if (name == "copy") return Value::new_list(items, obj.tuple);
    fail(line, "unsupported construct: list.{}()", name);
}

Value dict_method(Interp& in, const Value& obj, const std::string& name, CallArgs& a, int line) {
    Dict& d = *obj.dict;
    if (name == "get") {
        Value key = a.take(0, "key");
        if (Value* v = d.find(key)) return *v;
        Value dflt = a.take(1, "default");
        return dflt.is_undefined() ? Value::none() : dflt;
    }
    if (name == "items") {
        std::vector<Value> out;
        for (auto& [k, v] : d.items) out.push_back(Value::new_list({k, v}, true));
        in.step(line);
        return Value::new_list(std::move(out));
    }
    if (name == "keys" || name == "values") {
        std::vector<Value> out;
        for (auto& [k, v] : d.items) out.push_back(name == "keys" ? k : v);
        return Value::new_list(std::move(out));
    }
    if (name == "copy") {
        Value c = Value::new_dict();
        c.dict->items = d.items;
        return c;
    }
    fail(line, "unsupported construct: dict.{}()", name);
}

bool is_one_of(const std::string& n, std::initializer_list<const char*> names) {
    for (const char* x : names)
        if (n == x) return true;
    return false;
}

}  // namespace

Value builtin_method(Interp&, const Value& obj, const std::string& name, int) {
    auto bind = [&](Value (*impl)(Interp&, const Value&, const std::string&, CallArgs&, int)) {
        Value self = obj;
        std::string n = name;
        return Value::function(name, [self, n, impl](Interp& in, CallArgs& a, int line) {
            return impl(in, self, n, a, line);
        });
    };
    if (obj.is_str()) {
        if (is_one_of(name, {"strip",        "lstrip",     "rstrip",    "split",     "rsplit",
                             "splitlines",   "startswith", "endswith",  "upper",     "lower",
                             "capitalize",   "title",      "replace",   "find",      "rfind",
                             "index",        "count",      "format",    "join",      "removeprefix",
                             "removesuffix", "isdigit",    "isnumeric", "isdecimal", "isalpha",
                             "isalnum",      "isspace",    "isupper",   "islower"}))
            return bind(str_method);
        return {};
    }
    if (obj.is_list()) {
        if (is_one_of(name, {"index", "count", "copy"})) return bind(list_method);
        if (!obj.tuple && is_one_of(name, {"append", "extend", "insert", "pop", "remove", "reverse",
                                           "sort", "clear"}))
            return unsafe(obj, name);
        return {};
    }
    if (obj.is_dict() && !obj.ns) {
        if (is_one_of(name, {"get", "items", "keys", "values", "copy"})) return bind(dict_method);
        if (is_one_of(name, {"pop", "popitem", "update", "setdefault", "clear"}))
            return unsafe(obj, name);
    }
    return {};
}

void add_builtin_globals(std::unordered_map<std::string, Value>& g) {
    g["range"] = Value::function("range", [](Interp& in, CallArgs& a, int line) -> Value {
        if (!a.kw.empty()) fail(line, "range() takes no keyword arguments");
        if (a.pos.empty() || a.pos.size() > 3)
            fail(line, "range expected 1 to 3 arguments, got {}", a.pos.size());
        for (const Value& v : a.pos)
            if (v.kind != Kind::Int && v.kind != Kind::Bool)
                fail(line, "'{}' object cannot be interpreted as an integer", type_name(v));
        int64_t start = 0, stop, step = 1;
        if (a.pos.size() == 1) {
            stop = a.pos[0].as_int();
        } else {
            start = a.pos[0].as_int();
            stop = a.pos[1].as_int();
            if (a.pos.size() == 3) step = a.pos[2].as_int();
        }
        if (step == 0) fail(line, "range() arg 3 must not be zero");
        __int128 span =
            step > 0 ? static_cast<__int128>(stop) - start : static_cast<__int128>(start) - stop;
        __int128 absstep = step > 0 ? step : -static_cast<__int128>(step);
        __int128 n = span <= 0 ? 0 : (span + absstep - 1) / absstep;
        if (n > 100000)
            fail(line, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
        std::vector<Value> items;
        for (int64_t k = 0; k < static_cast<int64_t>(n); ++k)
            items.push_back(Value::integer(start + k * step));
        in.step(line);
        return Value::new_list(std::move(items));
    });
    auto make_dict = [](Interp& in, CallArgs& a, int line, bool ns) -> Value {
        Value d = Value::new_dict();
        d.ns = ns;
        if (a.pos.size() > 1)
            fail(line, "expected at most 1 positional argument, got {}", a.pos.size());
        if (a.pos.size() == 1) {
            const Value& src = a.pos[0];
            if (src.is_dict() && !src.ns) {
                d.dict->items = src.dict->items;
            } else {
                for (const Value& kv : in.iterate(src, line)) {
                    if (!kv.is_list() || kv.list->items.size() != 2)
                        fail(line, "dictionary update sequence element has wrong length");
                    d.dict->set(kv.list->items[0], kv.list->items[1]);
                }
            }
        }
        for (auto& [k, v] : a.kw) d.dict->set(Value::string(k, kTemplate), v);
        return d;
    };
    g["dict"] = Value::function("dict", [make_dict](Interp& in, CallArgs& a, int line) {
        return make_dict(in, a, line, false);
    });
    g["namespace"] = Value::function("namespace", [make_dict](Interp& in, CallArgs& a, int line) {
        return make_dict(in, a, line, true);
    });
    g["raise_exception"] =
        Value::function("raise_exception", [](Interp&, CallArgs& a, int line) -> Value {
            Value msg = a.take(0, "message");
            fail(line, "raise_exception: {}", to_pstr(msg).s);
        });
    g["strftime_now"] =
        Value::function("strftime_now", [](Interp& in, CallArgs& a, int line) -> Value {
            Value f = a.take(0, "format");
            if (!f.is_str()) fail(line, "strftime_now: format must be a string");
            std::time_t t = in.now();
            std::tm tm{};
            localtime_r(&t, &tm);
            char buf[512];
            size_t n = f.s().empty() ? 0 : std::strftime(buf, sizeof buf, f.s().c_str(), &tm);
            if (n == 0 && !f.s().empty())
                fail(line, "strftime_now: format too long or empty result");
            return Value::string(std::string_view(buf, n), kTemplate);
        });
}

}  // namespace ig::jinja
