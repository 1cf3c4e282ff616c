// jinja2's builtin filters and tests (the ones chat templates use), with
// Hugging Face's `tojson` (json.dumps with ensure_ascii=False, no HTML escaping).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "chat/jinja_error.h"
#include "chat/jinja_interp.h"
#include "chat/jinja_strings.h"

namespace ig::jinja {
namespace {

int64_t want_int(const Value& v, int64_t dflt, const char* what, int line) {
    if (v.is_undefined()) return dflt;
    if (v.kind != Kind::Int && v.kind != Kind::Bool)
        fail(line, "{}: expected an integer, got {}", what, type_name(v));
    return v.as_int();
}

// jinja2's make_attrgetter: "a.b.0" walks items/attributes.
Value get_path(Interp& in, const Value& item, const Value& attr, int line) {
    if (attr.kind == Kind::Int) return in.getitem(item, attr, line);
    if (!attr.is_str()) fail(line, "attribute must be a string or integer");
    Value cur = item;
    size_t start = 0;
    const std::string& path = attr.s();
    while (true) {
        size_t dot = path.find('.', start);
        std::string part =
            path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        bool digits = !part.empty() && std::all_of(part.begin(), part.end(),
                                                   [](char c) { return c >= '0' && c <= '9'; });
        cur = digits ? in.getitem(cur, Value::integer(std::stoll(part)), line)
                     : in.getitem(cur, Value::string(part, kTemplate), line);
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    return cur;
}

Value lower_key(const Value& v, bool case_sensitive) {
    if (!case_sensitive && v.is_str()) return Value::string(py_lower(*v.str));
    return v;
}

// Python round(x, ndigits) for the "common" method.
double py_round(double x, int64_t nd) {
    if (!std::isfinite(x)) return x;
    if (nd == 0) return std::nearbyint(x);  // round-half-even like Python
    // Python rounds the exact binary value correctly; formatting to nd decimals does the same.
    std::string s = fmt::format("{:.{}f}", x, std::clamp<int64_t>(nd, 0, 300));
    return std::strtod(s.c_str(), nullptr);
}

bool parse_py_int(std::string_view s, int64_t base, int64_t& out) {
    std::string t;
    size_t b = 0, e = s.size();
    while (b < e && space_at(s, b)) ++b;
    while (e > b && space_before(s, e)) --e;
    for (size_t k = b; k < e; ++k)
        if (s[k] != '_') t += s[k];
    if (t.empty()) return false;
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(t.c_str(), &end, static_cast<int>(base));
    if (errno || !end || *end) return false;
    out = v;
    return true;
}

bool parse_py_float(std::string_view s, double& out) {
    std::string t;
    size_t b = 0, e = s.size();
    while (b < e && space_at(s, b)) ++b;
    while (e > b && space_before(s, e)) --e;
    t = std::string(s.substr(b, e - b));
    if (t.empty()) return false;
    char* end = nullptr;
    double v = std::strtod(t.c_str(), &end);
    if (!end || *end) return false;
    out = v;
    return true;
}

std::vector<Value> sorted_by(Interp& in, std::vector<Value> items, bool reverse, bool cs,
                             const Value& attr, int line) {
    std::vector<std::pair<Value, Value>> keyed;
    for (Value& v : items) {
        Value k = attr.is_undefined() || attr.is_none() ? v : get_path(in, v, attr, line);
        keyed.emplace_back(lower_key(k, cs), std::move(v));
    }
    std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
        return reverse ? less_than(b.first, a.first, line) : less_than(a.first, b.first, line);
    });
    std::vector<Value> out;
    for (auto& kv : keyed) out.push_back(std::move(kv.second));
    return out;
}

size_t py_len(const Value& v, int line) {
    switch (v.kind) {
        case Kind::Undefined:
            return 0;
        case Kind::Str:
            return codepoint_count(v.s());
        case Kind::List:
            return v.list->items.size();
        case Kind::Dict:
            if (!v.ns) return v.dict->items.size();
            break;
        default:
            break;
    }
    fail(line, "object of type '{}' has no len()", type_name(v));
}

}  // namespace

Value Interp::apply_filter(const std::string& name, Value v, CallArgs& a, int line,
                           const ScopeP& sc) {
    step(line);
    auto str_of = [&](const Value& x) { return to_pstr(x); };
    if (name == "trim") {
        Value chars = a.take(0, "chars");
        PStr c = chars.is_str() ? *chars.str : PStr();
        return Value::string(py_strip(str_of(v), chars.is_str() ? &c : nullptr, true, true));
    }
    if (name == "tojson") {
        // HF: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
        JsonStyle st;
        st.ensure_ascii = truthy(a.take(0, "ensure_ascii"));
        Value indent = a.take(1, "indent");
        Value seps = a.take(2, "separators");
        st.sort_keys = truthy(a.take(3, "sort_keys"));
        if (!indent.is_undefined() && !indent.is_none()) {
            st.has_indent = true;
            if (indent.is_str())
                st.indent = indent.s();
            else
                st.indent = std::string(static_cast<size_t>(std::clamp<int64_t>(
                                            want_int(indent, 0, "tojson indent", line), 0, 1000)),
                                        ' ');
            st.item_sep.assign(1, ',');
        }
        if (!seps.is_undefined() && !seps.is_none()) {
            if (!seps.is_list() || seps.list->items.size() != 2 || !seps.list->items[0].is_str() ||
                !seps.list->items[1].is_str())
                fail(line, "tojson: separators must be a pair of strings");
            st.item_sep = seps.list->items[0].s();
            st.key_sep = seps.list->items[1].s();
        }
        PStr r = to_json(v, st, line);
        check_size(r.size(), line);
        return Value::string(std::move(r));
    }
    if (name == "length" || name == "count")
        return Value::integer(static_cast<int64_t>(py_len(v, line)));
    if (name == "items") {
        if (v.is_undefined()) return Value::new_list();
        if (!v.is_dict() || v.ns) fail(line, "Can only get item pairs from a mapping.");
        std::vector<Value> out;
        for (auto& [k, x] : v.dict->items) out.push_back(Value::new_list({k, x}, true));
        return Value::new_list(std::move(out));
    }
    if (name == "keys" || name == "values") fail(line, "no filter named '{}'", name);
    if (name == "first") {
        auto items = iterate(v, line);
        return items.empty() ? Value::undefined("No first item, sequence was empty.")
                             : items.front();
    }
    if (name == "last") {
        auto items = iterate(v, line);
        return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
    }
    if (name == "join") {
        Value sep = a.take(0, "d");
        Value attr = a.take(1, "attribute");
        PStr d = sep.is_undefined() ? PStr() : str_of(sep);
        PStr out;
        bool first = true;
        for (const Value& x : iterate(v, line)) {
            if (!first) out.append(d);
            first = false;
            out.append(
                str_of(attr.is_undefined() || attr.is_none() ? x : get_path(*this, x, attr, line)));
            check_size(out.size(), line);
        }
        return Value::string(std::move(out));
    }
    if (name == "default" || name == "d") {
        Value dflt = a.take(0, "default_value");
        bool boolean = truthy(a.take(1, "boolean"));
        if (v.is_undefined() || (boolean && !truthy(v)))
            return dflt.is_undefined() ? Value::string("", kTemplate) : dflt;
        return v;
    }
    if (name == "upper") return Value::string(py_upper(str_of(v)));
    if (name == "lower") return Value::string(py_lower(str_of(v)));
    if (name == "capitalize") return Value::string(py_capitalize(str_of(v)));
    if (name == "title") return Value::string(jinja_title(str_of(v)));
    if (name == "replace") {
        Value old = a.take(0, "old"), repl = a.take(1, "new"), count = a.take(2, "count");
        PStr r = py_replace(str_of(v), str_of(old), str_of(repl),
                            want_int(count, -1, "replace count", line));
        check_size(r.size(), line);
        return Value::string(std::move(r));
    }
    if (name == "string") return v.is_str() ? v : Value::string(str_of(v));
    if (name == "safe" || name == "e" || name == "escape" || name == "forceescape") {
        const bool keep = name == "safe" || (v.is_str() && v.markup && name != "forceescape");
        Value r = Value::string(keep ? str_of(v) : html_escape(str_of(v)));
        r.markup = true;
        return r;
    }
    if (name == "int") {
        Value dflt = a.take(0, "default");
        int64_t base = want_int(a.take(1, "base"), 10, "int base", line);
        int64_t dv = want_int(dflt, 0, "int default", line);
        if (v.kind == Kind::Int || v.kind == Kind::Bool) return Value::integer(v.as_int());
        if (v.kind == Kind::Float) {
            if (!std::isfinite(v.f) || std::fabs(v.f) > 9.2e18) return Value::integer(dv);
            return Value::integer(static_cast<int64_t>(v.f));
        }
        if (v.is_str()) {
            int64_t r;
            if (parse_py_int(v.s(), base, r)) return Value::integer(r);
            double f;
            if (parse_py_float(v.s(), f) && std::isfinite(f) && std::fabs(f) < 9.2e18)
                return Value::integer(static_cast<int64_t>(f));
        }
        return Value::integer(dv);
    }
    if (name == "float") {
        Value dflt = a.take(0, "default");
        if (v.is_number()) return Value::number(v.as_double());
        double f;
        if (v.is_str() && parse_py_float(v.s(), f)) return Value::number(f);
        return dflt.is_undefined() ? Value::number(0.0) : dflt;
    }
    if (name == "list") return Value::new_list(iterate(v, line));
    if (name == "abs") {
        if (v.kind == Kind::Float) return Value::number(std::fabs(v.f));
        if (v.kind == Kind::Int || v.kind == Kind::Bool) {
            if (v.as_int() == INT64_MIN) fail(line, "integer overflow");
            return Value::integer(std::llabs(v.as_int()));
        }
        fail(line, "bad operand type for abs(): '{}'", type_name(v));
    }
    if (name == "round") {
        int64_t prec = want_int(a.take(0, "precision"), 0, "round precision", line);
        Value method = a.take(1, "method");
        std::string m = method.is_str() ? method.s() : "common";
        if (!v.is_number()) fail(line, "round: expected a number, got {}", type_name(v));
        double x = v.as_double();
        if (m == "common") return Value::number(py_round(x, prec));
        double scale = std::pow(10.0, static_cast<double>(prec));
        if (m == "floor") return Value::number(std::floor(x * scale) / scale);
        if (m == "ceil") return Value::number(std::ceil(x * scale) / scale);
        fail(line, "method must be common, ceil or floor");
    }
    if (name == "map" || name == "select" || name == "reject" || name == "selectattr" ||
        name == "rejectattr") {
        // jinja2 yields nothing for a falsy input (e.g. `none | selectattr(...)`).
        std::vector<Value> items = truthy(v) ? iterate(v, line) : std::vector<Value>{};
        std::vector<Value> out;
        if (name == "map") {
            if (Value* attr = a.kwarg("attribute")) {
                Value dflt = a.kwarg("default") ? *a.kwarg("default") : Value();
                for (const Value& x : items) {
                    Value r = get_path(*this, x, *attr, line);
                    out.push_back(r.is_undefined() && !dflt.is_undefined() ? dflt : r);
                }
                return Value::new_list(std::move(out));
            }
            if (a.pos.empty() || !a.pos[0].is_str())
                fail(line, "map: expected a filter name or attribute=");
            std::string fname = a.pos[0].s();
            for (const Value& x : items) {
                CallArgs sub;
                sub.pos.assign(a.pos.begin() + 1, a.pos.end());
                sub.kw = a.kw;
                out.push_back(apply_filter(fname, x, sub, line, sc));
            }
            return Value::new_list(std::move(out));
        }
        const bool by_attr = name == "selectattr" || name == "rejectattr";
        const bool keep_if = name == "select" || name == "selectattr";
        size_t first_arg = 0;
        Value attr;
        if (by_attr) {
            if (a.pos.empty()) fail(line, "{}: missing attribute", name);
            attr = a.pos[0];
            first_arg = 1;
        }
        std::string test;
        if (a.pos.size() > first_arg) {
            if (!a.pos[first_arg].is_str()) fail(line, "{}: test name must be a string", name);
            test = a.pos[first_arg].s();
        }
        for (const Value& x : items) {
            step(line);
            Value subject = by_attr ? get_path(*this, x, attr, line) : x;
            bool r;
            if (test.empty()) {
                r = truthy(subject);
            } else {
                CallArgs sub;
                sub.pos.assign(a.pos.begin() + static_cast<ptrdiff_t>(first_arg) + 1, a.pos.end());
                r = apply_test(test, subject, sub, line);
            }
            if (r == keep_if) out.push_back(x);
        }
        return Value::new_list(std::move(out));
    }
    if (name == "unique") {
        bool cs = truthy(a.take(0, "case_sensitive"));
        Value attr = a.take(1, "attribute");
        std::vector<Value> seen, out;
        for (const Value& x : iterate(v, line)) {
            Value key = lower_key(
                attr.is_undefined() || attr.is_none() ? x : get_path(*this, x, attr, line), cs);
            bool dup = false;
            for (const Value& s : seen) dup = dup || equals(s, key);
            step(line);
            if (dup) continue;
            seen.push_back(key);
            out.push_back(x);
        }
        return Value::new_list(std::move(out));
    }
    if (name == "sort") {
        bool reverse = truthy(a.take(0, "reverse"));
        bool cs = truthy(a.take(1, "case_sensitive"));
        Value attr = a.take(2, "attribute");
        return Value::new_list(sorted_by(*this, iterate(v, line), reverse, cs, attr, line));
    }
    if (name == "dictsort") {
        if (!v.is_dict() || v.ns) fail(line, "dictsort: expected a mapping");
        bool cs = truthy(a.take(0, "case_sensitive"));
        Value by = a.take(1, "by");
        bool reverse = truthy(a.take(2, "reverse"));
        int idx = by.is_str() && by.s() == "value" ? 1 : 0;
        if (by.is_str() && by.s() != "key" && by.s() != "value")
            fail(line, "You can only sort by either \"key\" or \"value\"");
        std::vector<Value> pairs;
        for (auto& [k, x] : v.dict->items) pairs.push_back(Value::new_list({k, x}, true));
        return Value::new_list(
            sorted_by(*this, std::move(pairs), reverse, cs, Value::integer(idx), line));
    }
    if (name == "reverse") {
        if (v.is_str()) {
            auto off = codepoint_offsets(v.s());
            PStr r;
            for (size_t k = off.size() - 1; k > 0; --k)
                r.append(v.str->substr(off[k - 1], off[k] - off[k - 1]));
            return Value::string(std::move(r));
        }
        auto items = iterate(v, line);
        std::reverse(items.begin(), items.end());
        return Value::new_list(std::move(items));
    }
    if (name == "batch") {
        int64_t n = want_int(a.take(0, "linecount"), 0, "batch", line);
        if (n <= 0) fail(line, "batch: linecount must be positive");
        Value fill = a.take(1, "fill_with");
        std::vector<Value> out, cur;
        for (const Value& x : iterate(v, line)) {
            cur.push_back(x);
            if (static_cast<int64_t>(cur.size()) == n) {
                out.push_back(Value::new_list(std::move(cur)));
                cur.clear();
            }
        }
        if (!cur.empty()) {
            if (!fill.is_undefined() && !fill.is_none())
                while (static_cast<int64_t>(cur.size()) < n) cur.push_back(fill);
            out.push_back(Value::new_list(std::move(cur)));
        }
        return Value::new_list(std::move(out));
    }
    if (name == "wordcount") {
        PStr s = str_of(v);
        int64_t words = 0;
        bool in_word = false;
        for (char c : s.s) {
            unsigned char u = static_cast<unsigned char>(c);
            bool w = std::isalnum(u) || c == '_' || u >= 0x80;
            if (w && !in_word) ++words;
            in_word = w;
        }
        return Value::integer(words);
    }
    if (name == "center") {
        int64_t width = want_int(a.take(0, "width"), 80, "center", line);
        PStr s = str_of(v);
        int64_t len = static_cast<int64_t>(codepoint_count(s.s));
        if (width <= len) return Value::string(std::move(s));
        check_size(static_cast<size_t>(width), line);
        int64_t marg = width - len;
        int64_t left = marg / 2 + (marg & width & 1);
        PStr r(std::string(static_cast<size_t>(left), ' '), kTemplate);
        r.append(s);
        r.append(std::string(static_cast<size_t>(marg - left), ' '), kTemplate);
        return Value::string(std::move(r));
    }
    if (name == "indent") {
        Value w = a.take(0, "width");
        bool first = truthy(a.take(1, "first"));
        bool blank = truthy(a.take(2, "blank"));
        PStr ind = w.is_str() ? *w.str
                              : PStr(std::string(static_cast<size_t>(std::clamp<int64_t>(
                                                     want_int(w, 4, "indent", line), 0, 1000)),
                                                 ' '),
                                     kTemplate);
        PStr s = str_of(v);
        s.append("\n", kTemplate);
        std::vector<PStr> lines = py_splitlines(s);
        PStr r;
        if (blank) {
            for (size_t k = 0; k < lines.size(); ++k) {
                if (k) {
                    r.append("\n", kTemplate);
                    r.append(ind);
                }
                r.append(lines[k]);
            }
        } else if (!lines.empty()) {
            r = lines[0];
            for (size_t k = 1; k < lines.size(); ++k) {
                r.append("\n", kTemplate);
                if (!lines[k].s.empty()) r.append(ind);
                r.append(lines[k]);
            }
        }
        if (first) {
            PStr x = ind;
            x.append(r);
            r = std::move(x);
        }
        check_size(r.size(), line);
        return Value::string(std::move(r));
    }
    if (name == "format") {
        PStr f = str_of(v);
        Value args = Value::new_list(a.pos, true);
        if (!a.kw.empty())
            fail(line, "unsupported construct: format filter with keyword arguments");
        CallArgs none;
        (void)none;
        // s % args: reuse the `%` operator through a tiny evaluation.
        std::string fs = f.s;
        PStr out;
        size_t next = 0;
        for (size_t k = 0; k < fs.size(); ++k) {
            if (fs[k] != '%') {
                out.append(std::string_view(&fs[k], 1), f.m[k]);
                continue;
            }
            if (k + 1 >= fs.size()) fail(line, "incomplete format");
            char c = fs[++k];
            if (c == '%') {
                out.append("%", f.m[k]);
                continue;
            }
            if (next >= a.pos.size()) fail(line, "not enough arguments for format string");
            const Value& x = a.pos[next++];
            if (c == 's')
                out.append(str_of(x));
            else if (c == 'r')
                out.append(repr(x));
            else if ((c == 'd' || c == 'i') && x.is_number())
                out.append(
                    std::to_string(x.kind == Kind::Float ? static_cast<int64_t>(x.f) : x.as_int()),
                    kTemplate);
            else
                fail(line, "unsupported construct: '%{}' in format filter", c);
        }
        return Value::string(std::move(out));
    }
    if (name == "sum") {
        Value attr = a.take(0, "attribute");
        Value acc = a.take(1, "start");
        if (acc.is_undefined()) acc = Value::integer(0);
        for (const Value& x : iterate(v, line)) {
            Value y = attr.is_undefined() || attr.is_none() ? x : get_path(*this, x, attr, line);
            if (!acc.is_number() || !y.is_number()) fail(line, "sum: unsupported operand types");
            if (acc.kind == Kind::Float || y.kind == Kind::Float)
                acc = Value::number(acc.as_double() + y.as_double());
            else {
                int64_t r;
                if (__builtin_add_overflow(acc.as_int(), y.as_int(), &r))
                    fail(line, "integer overflow");
                acc = Value::integer(r);
            }
        }
        return acc;
    }
    if (name == "min" || name == "max") {
        bool cs = truthy(a.take(0, "case_sensitive"));
        Value attr = a.take(1, "attribute");
        auto items = iterate(v, line);
        if (items.empty())
            return Value::undefined(fmt::format("No aggregated item, sequence was empty."));
        auto sorted = sorted_by(*this, items, false, cs, attr, line);
        return name == "min" ? sorted.front() : sorted.back();
    }
    if (name == "attr") {
        Value n = a.take(0, "name");
        if (!n.is_str()) fail(line, "attr: name must be a string");
        return getattr(v, n.s(), line);
    }
    fail(line, "unsupported construct: filter '{}'", name);
}

bool Interp::apply_test(const std::string& name, const Value& v, CallArgs& a, int line) {
    step(line);
    Value arg = a.pos.empty() ? Value() : a.pos[0];
    if (name == "defined") return !v.is_undefined();
    if (name == "undefined") return v.is_undefined();
    if (name == "none") return v.is_none();
    if (name == "string") return v.is_str();
    if (name == "number") return v.is_number();
    if (name == "integer") return v.kind == Kind::Int;
    if (name == "float") return v.kind == Kind::Float;
    if (name == "boolean") return v.kind == Kind::Bool;
    if (name == "true") return v.kind == Kind::Bool && v.b;
    if (name == "false") return v.kind == Kind::Bool && !v.b;
    if (name == "mapping") return v.is_dict() && !v.ns;
    if (name == "iterable")
        return v.is_str() || v.is_list() || (v.is_dict() && !v.ns) || v.is_undefined();
    if (name == "sequence")
        return v.is_str() || v.is_list() || (v.is_dict() && !v.ns) || v.is_undefined();
    if (name == "callable") return v.kind == Kind::Func;
    if (name == "lower") return v.is_str() && py_lower(*v.str).s == v.s();
    if (name == "upper") return v.is_str() && py_upper(*v.str).s == v.s();
    if (name == "odd" || name == "even" || name == "divisibleby") {
        if (v.is_undefined())
            fail(line, "{}", v.undef_hint.empty() ? "value is undefined" : v.undef_hint);
        if (v.kind != Kind::Int && v.kind != Kind::Bool) {
            if (v.kind == Kind::Float) {
                double m = name == "divisibleby" ? (arg.is_number() ? arg.as_double() : 0) : 2.0;
                if (m == 0) fail(line, "float modulo");
                double r = std::fmod(v.f, m);
                if (r != 0 && ((r < 0) != (m < 0))) r += m;
                return name == "odd" ? r == 1 : r == 0;
            }
            fail(line, "unsupported operand type(s) for %: '{}' and 'int'", type_name(v));
        }
        int64_t x = v.as_int();
        if (name == "odd") return ((x % 2) + 2) % 2 == 1;
        if (name == "even") return x % 2 == 0;
        if (arg.kind != Kind::Int && arg.kind != Kind::Bool)
            fail(line, "divisibleby: expected an integer");
        if (arg.as_int() == 0) fail(line, "integer division or modulo by zero");
        return x % arg.as_int() == 0;
    }
    if (name == "eq" || name == "equalto" || name == "==") return equals(v, arg);
    if (name == "ne" || name == "!=") return !equals(v, arg);
    if (name == "lt" || name == "lessthan" || name == "<") return less_than(v, arg, line);
    if (name == "gt" || name == "greaterthan" || name == ">") return less_than(arg, v, line);
    if (name == "le" || name == "<=") return !less_than(arg, v, line);
    if (name == "ge" || name == ">=") return !less_than(v, arg, line);
    if (name == "in") return contains(arg, v, line);
    if (name == "sameas") {
        if (v.kind != arg.kind) return false;
        switch (v.kind) {
            case Kind::None:
            case Kind::Undefined:
                return v.kind == Kind::None;
            case Kind::Bool:
                return v.b == arg.b;
            case Kind::List:
                return v.list == arg.list;
            case Kind::Dict:
                return v.dict == arg.dict;
            case Kind::Str:
                return v.str == arg.str;
            default:
                return equals(v, arg);
        }
    }
    fail(line, "unsupported construct: test '{}'", name);
}

}  // namespace ig::jinja
