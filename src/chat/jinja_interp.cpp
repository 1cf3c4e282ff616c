#include "chat/jinja_interp.h"

#include <cmath>

#include "chat/jinja_error.h"
#include "chat/jinja_strings.h"

namespace ig::jinja {

const Value* Scope::find(const std::string& name) const {
    for (const Scope* s = this; s; s = s->parent.get()) {
        auto it = s->vars.find(name);
        if (it != s->vars.end()) return &it->second;
    }
    return nullptr;
}

namespace {

[[noreturn]] void undefined_error(const Value& u, int line) {
    fail(line, "{}", u.undef_hint.empty() ? std::string("value is undefined") : u.undef_hint);
}

void check_overflow(bool overflow, int line) {
    if (overflow) fail(line, "integer overflow (values beyond 64 bits are not supported)");
}

int64_t py_floordiv(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}

// Python str % args, for the conversions templates use.
PStr percent_format(const PStr& fmt_s, const Value& args, int line) {
    std::vector<Value> list;
    if (args.is_list() && args.tuple)
        list = args.list->items;
    else
        list.push_back(args);
    size_t next = 0;
    PStr out;
    const std::string& f = fmt_s.s;
    for (size_t k = 0; k < f.size(); ++k) {
        if (f[k] != '%') {
            out.append(std::string_view(&f[k], 1), fmt_s.m[k]);
            continue;
        }
        if (k + 1 >= f.size()) fail(line, "incomplete format");
        char c = f[++k];
        if (c == '%') {
            out.append("%", fmt_s.m[k]);
            continue;
        }
        if (next >= list.size()) fail(line, "not enough arguments for format string");
        const Value& v = list[next++];
        if (c == 's')
            out.append(to_pstr(v));
        else if (c == 'r')
            out.append(repr(v));
        else if (c == 'd' || c == 'i') {
            if (!v.is_number())
                fail(line, "%{} format: a real number is required, not {}", c, type_name(v));
            out.append(
                std::to_string(v.kind == Kind::Float ? static_cast<int64_t>(v.f) : v.as_int()),
                kTemplate);
        } else {
            fail(line, "unsupported construct: '%{}' in string formatting", c);
        }
    }
    if (next < list.size() && !(list.size() == 1 && list[0].is_dict()))
        fail(line, "not all arguments converted during string formatting");
    return out;
}

Value repeat(const Value& seq, int64_t n, Interp& in, int line) {
    if (n < 0) n = 0;
    if (seq.is_str()) {
        in.check_size(seq.s().size() * static_cast<size_t>(n), line);
        PStr r;
        for (int64_t k = 0; k < n; ++k) r.append(*seq.str);
        return Value::string(std::move(r));
    }
    in.check_size(seq.list->items.size() * static_cast<size_t>(n), line);
    std::vector<Value> items;
    for (int64_t k = 0; k < n; ++k)
        items.insert(items.end(), seq.list->items.begin(), seq.list->items.end());
    return Value::new_list(std::move(items), seq.tuple);
}

}  // namespace

void Interp::check_size(size_t n, int line) const {
    if (n > limits_.max_output_bytes)
        fail(line, "output size limit exceeded ({} bytes)", limits_.max_output_bytes);
}

void Interp::step(int line) {
    if (++steps_ > limits_.max_steps)
        fail(line, "template step limit exceeded ({} steps)", limits_.max_steps);
}

void Interp::emit(PStr& out, const PStr& s, int line) {
    check_size(out.size() + s.size(), line);
    out.append(s);
}

PStr Interp::render(const std::vector<NodeP>& body,
                    const std::unordered_map<std::string, Value>& globals) {
    auto g = std::make_shared<Scope>();
    g->vars = globals;
    auto root = std::make_shared<Scope>();
    root->parent = g;
    PStr out;
    Flow f = exec(body, root, out);
    if (f != Flow::Normal) fail(0, "'break'/'continue' outside of a loop");
    return out;
}

Interp::Flow Interp::exec(const std::vector<NodeP>& body, const ScopeP& sc, PStr& out) {
    for (const NodeP& np : body) {
        const Node& n = *np;
        step(n.line);
        switch (n.kind) {
            case NK::Text: {
                PStr t(n.name, kTemplate);
                emit(out, t, n.line);
                break;
            }
            case NK::Print: {
                Value v = eval(*n.a[0], sc);
                emit(out, to_pstr(v), n.line);
                break;
            }
            case NK::If: {
                Flow f = exec(truthy(eval(*n.a[0], sc)) ? n.body : n.orelse, sc, out);
                if (f != Flow::Normal) return f;
                break;
            }
            case NK::For: {
                Flow f = exec_for(n, sc, out);
                if (f != Flow::Normal) return f;
                break;
            }
            case NK::Set:
                exec_set(*n.a[0], eval(*n.a[1], sc), sc);
                break;
            case NK::SetBlock: {
                PStr body_out;
                auto inner = std::make_shared<Scope>();
                inner->parent = sc;
                if (exec(n.body, inner, body_out) != Flow::Normal)
                    fail(n.line, "'break' inside set block");
                Value v = Value::string(std::move(body_out));
                if (n.a[1]) {
                    // Apply the filter chain bottom-up with `v` as the innermost input.
                    std::vector<const Node*> chain;
                    for (const Node* f = n.a[1].get(); f; f = f->a[0].get()) chain.push_back(f);
                    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
                        CallArgs args;
                        eval_call_args(**it, 1, args, sc);
                        v = apply_filter((*it)->name, v, args, (*it)->line, sc);
                    }
                }
                exec_set(*n.a[0], v, sc);
                break;
            }
            case NK::Macro:
                sc->vars[n.name] = make_macro(n, sc);
                break;
            case NK::CallBlock: {
                const Node& call = *n.a[0];
                Value fn = eval(*call.a[0], sc);
                CallArgs args;
                eval_call_args(call, 1, args, sc);
                // `caller` renders the block body; it takes the block's parameters.
                args.kw.emplace_back("caller", make_macro(n, sc));
                emit(out, to_pstr(this->call(fn, args, n.line)), n.line);
                break;
            }
            case NK::FilterBlock: {
                PStr body_out;
                Flow f = exec(n.body, sc, body_out);
                if (f != Flow::Normal) fail(n.line, "'break' inside filter block");
                Value v = Value::string(std::move(body_out));
                std::vector<const Node*> chain;
                for (const Node* x = n.a[0].get(); x; x = x->a[0].get()) chain.push_back(x);
                for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
                    CallArgs args;
                    eval_call_args(**it, 1, args, sc);
                    v = apply_filter((*it)->name, v, args, (*it)->line, sc);
                }
                emit(out, to_pstr(v), n.line);
                break;
            }
            case NK::Break:
                return Flow::Break;
            case NK::Continue:
                return Flow::Continue;
            default:
                fail(n.line, "internal: expression in statement position");
        }
    }
    return Flow::Normal;
}

Interp::Flow Interp::exec_for(const Node& n, const ScopeP& sc, PStr& out) {
    Value seq = eval(*n.a[0], sc);
    std::vector<Value> items = iterate(seq, n.line);
    auto unpack = [&](Scope& s, const Value& item) {
        if (n.targets.size() == 1) {
            s.vars[n.targets[0]] = item;
            return;
        }
        std::vector<Value> parts;
        if (item.is_list())
            parts = item.list->items;
        else if (item.is_str() || item.is_dict())
            parts = iterate(item, n.line);
        else
            fail(n.line, "cannot unpack non-iterable {} object", type_name(item));
        if (parts.size() != n.targets.size())
            fail(n.line, "{} values to unpack (expected {}, got {})",
                 parts.size() < n.targets.size() ? "not enough" : "too many", n.targets.size(),
                 parts.size());
        for (size_t k = 0; k < parts.size(); ++k) s.vars[n.targets[k]] = parts[k];
    };
    if (n.a[1]) {  // loop filter: `for x in xs if cond`
        std::vector<Value> kept;
        for (const Value& it : items) {
            step(n.line);
            auto fs = std::make_shared<Scope>();
            fs->parent = sc;
            unpack(*fs, it);
            if (truthy(eval(*n.a[1], fs))) kept.push_back(it);
        }
        items = std::move(kept);
    }
    if (items.empty()) return exec(n.orelse, sc, out);
    const int64_t len = static_cast<int64_t>(items.size());
    // One loop object per loop, updated in place each iteration (cheap per step).
    auto index = std::make_shared<int64_t>(0);
    Value loop = Value::new_dict();
    Dict& d = *loop.dict;
    const char* const keys[] = {"index",  "index0", "revindex", "revindex0", "first",    "last",
                                "length", "depth",  "depth0",   "previtem",  "nextitem", "cycle"};
    for (const char* key : keys) d.items.emplace_back(Value::string(key, kTemplate), Value());
    d.items[6].second = Value::integer(len);
    d.items[7].second = Value::integer(1);
    d.items[8].second = Value::integer(0);
    d.items[11].second =
        Value::function("loop.cycle", [index](Interp&, CallArgs& a, int line) -> Value {
            if (a.pos.empty()) fail(line, "no items for cycling given");
            return a.pos[static_cast<size_t>(*index) % a.pos.size()];
        });
    for (int64_t k = 0; k < len; ++k) {
        step(n.line);
        *index = k;
        // A fresh scope each iteration: jinja2 resets names the body assigns to their
        // outer value at the start of every iteration, and none leak out of the loop.
        auto ls = std::make_shared<Scope>();
        ls->parent = sc;
        ls->vars["loop"] = loop;
        unpack(*ls, items[static_cast<size_t>(k)]);
        d.items[0].second = Value::integer(k + 1);
        d.items[1].second = Value::integer(k);
        d.items[2].second = Value::integer(len - k);
        d.items[3].second = Value::integer(len - k - 1);
        d.items[4].second = Value::boolean(k == 0);
        d.items[5].second = Value::boolean(k == len - 1);
        d.items[9].second = k > 0 ? items[static_cast<size_t>(k - 1)]
                                  : Value::undefined("there is no previous item");
        d.items[10].second = k + 1 < len ? items[static_cast<size_t>(k + 1)]
                                         : Value::undefined("there is no next item");
        Flow f = exec(n.body, ls, out);
        if (f == Flow::Break) break;
    }
    return Flow::Normal;
}

void Interp::exec_set(const Node& target, Value v, const ScopeP& sc) {
    if (target.kind == NK::Name) {
        sc->vars[target.name] = std::move(v);
        return;
    }
    if (target.kind == NK::GetAttr) {
        Value obj = eval(*target.a[0], sc);
        if (!obj.is_dict() || !obj.ns)
            fail(target.line, "cannot assign attribute on non-namespace object");
        obj.dict->set(Value::string(target.name, kTemplate), std::move(v));
        return;
    }
    // Tuple target.
    std::vector<Value> parts = iterate(v, target.line);
    if (parts.size() != target.a.size())
        fail(target.line, "{} values to unpack (expected {}, got {})",
             parts.size() < target.a.size() ? "not enough" : "too many", target.a.size(),
             parts.size());
    for (size_t k = 0; k < parts.size(); ++k) sc->vars[target.a[k]->name] = parts[k];
}

Value Interp::make_macro(const Node& n, const ScopeP& defining_scope) {
    // Weak: the macro is usually stored in the scope it closes over, and a strong
    // reference would make a cycle that is never freed.
    std::weak_ptr<Scope> defining = defining_scope;
    const Node* node = &n;
    return Value::function(
        n.name.empty() ? "caller" : n.name,
        [node, defining](Interp& in, CallArgs& args, int line) -> Value {
            if (++in.call_depth_ > in.limits_.max_call_depth) {
                --in.call_depth_;
                fail(line, "maximum recursion depth exceeded ({} nested macro calls)",
                     in.limits_.max_call_depth);
            }
            struct Depth {
                int& d;
                ~Depth() { --d; }
            } depth_guard{in.call_depth_};
            auto ms = std::make_shared<Scope>();
            ms->parent = defining.lock();
            if (!ms->parent) fail(line, "macro '{}' called after its scope ended", node->name);
            const auto& params = node->kw;
            if (args.pos.size() > params.size())
                fail(line, "macro '{}' takes not more than {} argument(s)", node->name,
                     params.size());
            for (size_t k = 0; k < params.size(); ++k) {
                const auto& [pname, pdef] = params[k];
                Value v;
                bool have = false;
                if (k < args.pos.size()) {
                    v = args.pos[k];
                    have = true;
                }
                if (Value* kv = args.kwarg(pname)) {
                    if (have)
                        fail(line, "macro '{}' got multiple values for argument '{}'", node->name,
                             pname);
                    v = *kv;
                    have = true;
                }
                if (!have)
                    v = pdef ? in.eval(*pdef, ms)
                             : Value::undefined(
                                   fmt::format("parameter '{}' was not provided", pname));
                ms->vars[pname] = std::move(v);
            }
            for (auto& [key, v] : args.kw) {
                bool known = key == "caller";
                for (const auto& p : params) known = known || p.first == key;
                if (!known)
                    fail(line, "macro '{}' takes no keyword argument '{}'", node->name, key);
                if (key == "caller") ms->vars["caller"] = v;
            }
            PStr out;
            if (in.exec(node->body, ms, out) != Flow::Normal)
                fail(line, "'break' outside of a loop");
            return Value::string(std::move(out));
        });
}

std::vector<Value> Interp::iterate(const Value& v, int line) {
    switch (v.kind) {
        case Kind::Undefined:
            return {};
        case Kind::List:
            return v.list->items;
        case Kind::Dict: {
            if (v.ns) break;
            std::vector<Value> keys;
            for (auto& kv : v.dict->items) keys.push_back(kv.first);
            return keys;
        }
        case Kind::Str: {
            std::vector<Value> chars;
            auto off = codepoint_offsets(v.s());
            for (size_t k = 0; k + 1 < off.size(); ++k)
                chars.push_back(Value::string(v.str->substr(off[k], off[k + 1] - off[k])));
            return chars;
        }
        default:
            break;
    }
    fail(line, "'{}' object is not iterable", type_name(v));
}

bool contains(const Value& c, const Value& item, int line) {
    switch (c.kind) {
        case Kind::Undefined:
            return false;
        case Kind::Str:
            if (!item.is_str())
                fail(line, "'in <string>' requires string as left operand, not {}",
                     type_name(item));
            return c.s().find(item.s()) != std::string::npos;
        case Kind::List:
            for (const Value& x : c.list->items)
                if (equals(x, item)) return true;
            return false;
        case Kind::Dict:
            return c.dict->find(item) != nullptr;
        default:
            fail(line, "argument of type '{}' is not iterable", type_name(c));
    }
}

Value Interp::getattr(const Value& obj, const std::string& name, int line) {
    if (obj.is_undefined()) undefined_error(obj, line);
    if (!name.empty() && name[0] == '_')
        return Value::undefined(fmt::format("access to attribute '{}' of '{}' object is unsafe.",
                                            name, type_name(obj)));
    if (obj.is_dict()) {
        if (!obj.ns) {
            Value m = builtin_method(*this, obj, name, line);
            if (!m.is_undefined()) return m;
        }
        if (Value* v = obj.dict->find(name)) return *v;
        return Value::undefined(
            fmt::format("'{}' has no attribute '{}'", obj.ns ? "Namespace" : "dict object", name));
    }
    if (obj.is_str() || obj.is_list()) {
        Value m = builtin_method(*this, obj, name, line);
        if (!m.is_undefined()) return m;
    }
    return Value::undefined(
        fmt::format("'{}' has no attribute '{}'",
                    obj.is_none() ? std::string("None") : type_name(obj) + " object", name));
}

Value Interp::getitem(const Value& obj, const Value& key, int line) {
    if (obj.is_undefined()) undefined_error(obj, line);
    if (obj.is_dict() && !obj.ns) {
        if (Value* v = obj.dict->find(key)) return *v;
    } else if ((obj.is_list() || obj.is_str()) &&
               (key.kind == Kind::Int || key.kind == Kind::Bool)) {
        int64_t i = key.as_int();
        if (obj.is_list()) {
            int64_t n = static_cast<int64_t>(obj.list->items.size());
            if (i < 0) i += n;
            if (i >= 0 && i < n) return obj.list->items[static_cast<size_t>(i)];
        } else {
            auto off = codepoint_offsets(obj.s());
            int64_t n = static_cast<int64_t>(off.size()) - 1;
            if (i < 0) i += n;
            if (i >= 0 && i < n) {
                size_t b = off[static_cast<size_t>(i)];
                return Value::string(obj.str->substr(b, off[static_cast<size_t>(i) + 1] - b));
            }
        }
        return Value::undefined(fmt::format("{} object has no element {}", type_name(obj), i));
    }
    // jinja2 falls back to attribute lookup for string keys.
    if (key.is_str()) return getattr(obj, key.s(), line);
    return Value::undefined(
        fmt::format("'{}' object has no element {}", type_name(obj), to_pstr(key).s));
}

void Interp::eval_call_args(const Node& n, size_t first, CallArgs& args, const ScopeP& sc) {
    for (size_t k = first; k < n.a.size(); ++k) args.pos.push_back(eval(*n.a[k], sc));
    for (const auto& [key, e] : n.kw) args.kw.emplace_back(key, eval(*e, sc));
}

Value Interp::call(const Value& fn, CallArgs& args, int line) {
    if (fn.is_undefined()) undefined_error(fn, line);
    if (fn.kind != Kind::Func) fail(line, "'{}' object is not callable", type_name(fn));
    return fn.fn->fn(*this, args, line);
}

namespace {
Value slice(Interp& in, const Value& obj, const Value& start, const Value& stop, const Value& stepv,
            int line) {
    auto as_opt = [&](const Value& v, const char* what) -> std::optional<int64_t> {
        if (v.is_none() || v.is_undefined()) return std::nullopt;
        if (v.kind != Kind::Int && v.kind != Kind::Bool)
            fail(line, "slice {} must be an integer or None", what);
        return v.as_int();
    };
    std::optional<int64_t> a = as_opt(start, "start"), b = as_opt(stop, "stop"),
                           s = as_opt(stepv, "step");
    int64_t step = s.value_or(1);
    if (step == 0) fail(line, "slice step cannot be zero");
    std::vector<size_t> off;
    int64_t n;
    if (obj.is_str()) {
        off = codepoint_offsets(obj.s());
        n = static_cast<int64_t>(off.size()) - 1;
    } else if (obj.is_list()) {
        n = static_cast<int64_t>(obj.list->items.size());
    } else if (obj.is_undefined()) {
        fail(line, "{}", obj.undef_hint.empty() ? "value is undefined" : obj.undef_hint);
    } else {
        fail(line, "'{}' object is not subscriptable", type_name(obj));
    }
    // Python's slice.indices().
    auto clamp = [&](std::optional<int64_t> v, int64_t dflt, bool is_start) -> int64_t {
        if (!v) return dflt;
        int64_t x = *v;
        if (x < 0) x += n;
        if (step > 0) return std::clamp<int64_t>(x, 0, n);
        (void)is_start;
        return std::clamp<int64_t>(x, -1, n - 1);
    };
    int64_t lo = clamp(a, step > 0 ? 0 : n - 1, true);
    int64_t hi = clamp(b, step > 0 ? n : -1, false);
    std::vector<int64_t> idx;
    if (step > 0)
        for (int64_t k = lo; k < hi; k += step) idx.push_back(k);
    else
        for (int64_t k = lo; k > hi; k += step) idx.push_back(k);
    in.step(line);
    if (obj.is_str()) {
        PStr r;
        for (int64_t k : idx)
            r.append(obj.str->substr(off[static_cast<size_t>(k)], off[static_cast<size_t>(k) + 1] -
                                                                      off[static_cast<size_t>(k)]));
        return Value::string(std::move(r));
    }
    std::vector<Value> items;
    for (int64_t k : idx) items.push_back(obj.list->items[static_cast<size_t>(k)]);
    return Value::new_list(std::move(items), obj.tuple);
}
}  // namespace

Value Interp::eval(const Node& n, const ScopeP& sc) {
    step(n.line);
    switch (n.kind) {
        case NK::Const:
            return n.literal;
        case NK::Name: {
            if (const Value* v = sc->find(n.name)) return *v;
            return Value::undefined(fmt::format("'{}' is undefined", n.name));
        }
        case NK::GetAttr:
            return getattr(eval(*n.a[0], sc), n.name, n.line);
        case NK::GetItem:
            return getitem(eval(*n.a[0], sc), eval(*n.a[1], sc), n.line);
        case NK::Slice: {
            Value obj = eval(*n.a[0], sc);
            Value parts[3];
            for (int k = 0; k < 3; ++k)
                parts[k] = n.a[k + 1] ? eval(*n.a[k + 1], sc) : Value::none();
            return slice(*this, obj, parts[0], parts[1], parts[2], n.line);
        }
        case NK::Call: {
            Value fn = eval(*n.a[0], sc);
            CallArgs args;
            eval_call_args(n, 1, args, sc);
            return call(fn, args, n.line);
        }
        case NK::Filter: {
            Value input = n.a[0] ? eval(*n.a[0], sc) : Value();
            CallArgs args;
            eval_call_args(n, 1, args, sc);
            return apply_filter(n.name, std::move(input), args, n.line, sc);
        }
        case NK::Test: {
            Value input = eval(*n.a[0], sc);
            CallArgs args;
            eval_call_args(n, 1, args, sc);
            return Value::boolean(apply_test(n.name, input, args, n.line));
        }
        case NK::Unary: {
            Value v = eval(*n.a[0], sc);
            if (n.name == "not") return Value::boolean(!truthy(v));
            if (v.is_undefined()) undefined_error(v, n.line);
            if (!v.is_number())
                fail(n.line, "bad operand type for unary {}: '{}'", n.name, type_name(v));
            if (n.name == "+") return v.kind == Kind::Bool ? Value::integer(v.as_int()) : v;
            if (v.kind == Kind::Float) return Value::number(-v.f);
            if (v.as_int() == INT64_MIN) fail(n.line, "integer overflow");
            return Value::integer(-v.as_int());
        }
        case NK::And: {
            Value l = eval(*n.a[0], sc);
            return truthy(l) ? eval(*n.a[1], sc) : l;
        }
        case NK::Or: {
            Value l = eval(*n.a[0], sc);
            return truthy(l) ? l : eval(*n.a[1], sc);
        }
        case NK::Binary:
            return eval_binary(n, sc);
        case NK::Compare:
            return eval_compare(n, sc);
        case NK::CondExpr: {
            if (truthy(eval(*n.a[1], sc))) return eval(*n.a[0], sc);
            if (n.a[2]) return eval(*n.a[2], sc);
            return Value::undefined(
                "the inline if-expression evaluated to false and no else section was defined.");
        }
        case NK::ListLit:
        case NK::TupleLit: {
            std::vector<Value> items;
            for (const auto& e : n.a) items.push_back(eval(*e, sc));
            return Value::new_list(std::move(items), n.kind == NK::TupleLit);
        }
        case NK::DictLit: {
            Value d = Value::new_dict();
            for (size_t k = 0; k + 1 < n.a.size(); k += 2) {
                Value key = eval(*n.a[k], sc);
                if (key.is_list() && !key.tuple) fail(n.line, "unhashable type: 'list'");
                if (key.is_dict()) fail(n.line, "unhashable type: 'dict'");
                d.dict->set(std::move(key), eval(*n.a[k + 1], sc));
            }
            return d;
        }
        default:
            fail(n.line, "internal: statement in expression position");
    }
}

Value Interp::eval_binary(const Node& n, const ScopeP& sc) {
    Value a = eval(*n.a[0], sc);
    Value b = eval(*n.a[1], sc);
    const std::string& op = n.name;
    const int line = n.line;
    if (op == "~") {
        PStr r = to_pstr(a);
        PStr rb = to_pstr(b);
        check_size(r.size() + rb.size(), line);
        r.append(rb);
        return Value::string(std::move(r));
    }
    if (a.is_undefined()) undefined_error(a, line);
    if (b.is_undefined()) undefined_error(b, line);
    auto unsupported = [&]() -> Value {
        fail(line, "unsupported operand type(s) for {}: '{}' and '{}'", op, type_name(a),
             type_name(b));
    };
    if (op == "+") {
        if (a.is_str() && b.is_str()) {
            check_size(a.s().size() + b.s().size(), line);
            // Markup + str escapes the plain side (markupsafe), as HF's jinja2 does.
            const bool markup = a.markup || b.markup;
            PStr r = markup && !a.markup ? html_escape(*a.str) : *a.str;
            r.append(markup && !b.markup ? html_escape(*b.str) : *b.str);
            Value v = Value::string(std::move(r));
            v.markup = markup;
            return v;
        }
        if (a.is_list() && b.is_list() && a.tuple == b.tuple) {
            check_size(a.list->items.size() + b.list->items.size(), line);
            std::vector<Value> items = a.list->items;
            items.insert(items.end(), b.list->items.begin(), b.list->items.end());
            return Value::new_list(std::move(items), a.tuple);
        }
    }
    if (op == "*") {
        if ((a.is_str() || a.is_list()) && (b.kind == Kind::Int || b.kind == Kind::Bool))
            return repeat(a, b.as_int(), *this, line);
        if ((b.is_str() || b.is_list()) && (a.kind == Kind::Int || a.kind == Kind::Bool))
            return repeat(b, a.as_int(), *this, line);
    }
    if (op == "%" && a.is_str()) return Value::string(percent_format(*a.str, b, line));
    if (!a.is_number() || !b.is_number()) return unsupported();
    const bool fl = a.kind == Kind::Float || b.kind == Kind::Float;
    if (op == "/") {
        if (b.as_double() == 0) fail(line, "division by zero");
        return Value::number(a.as_double() / b.as_double());
    }
    if (fl) {
        double x = a.as_double(), y = b.as_double();
        if (op == "+") return Value::number(x + y);
        if (op == "-") return Value::number(x - y);
        if (op == "*") return Value::number(x * y);
        if (op == "**") return Value::number(std::pow(x, y));
        if (y == 0) fail(line, "float division by zero");
        if (op == "//") return Value::number(std::floor(x / y));
        if (op == "%") {
            double m = std::fmod(x, y);
            if (m != 0 && ((m < 0) != (y < 0))) m += y;
            return Value::number(m);
        }
        return unsupported();
    }
    int64_t x = a.as_int(), y = b.as_int(), r = 0;
    if (op == "+") {
        check_overflow(__builtin_add_overflow(x, y, &r), line);
        return Value::integer(r);
    }
    if (op == "-") {
        check_overflow(__builtin_sub_overflow(x, y, &r), line);
        return Value::integer(r);
    }
    if (op == "*") {
        check_overflow(__builtin_mul_overflow(x, y, &r), line);
        return Value::integer(r);
    }
    if (op == "**") {
        if (y < 0) return Value::number(std::pow(static_cast<double>(x), static_cast<double>(y)));
        int64_t acc = 1;
        for (int64_t k = 0; k < y; ++k) {
            check_overflow(__builtin_mul_overflow(acc, x, &r), line);
            acc = r;
            if (acc == 0 || acc == 1) break;
            step(line);
        }
        return Value::integer(acc);
    }
    if (y == 0) fail(line, "integer division or modulo by zero");
    if (x == INT64_MIN && y == -1) fail(line, "integer overflow");
    if (op == "//") return Value::integer(py_floordiv(x, y));
    if (op == "%") return Value::integer(x - py_floordiv(x, y) * y);
    return unsupported();
}

Value Interp::eval_compare(const Node& n, const ScopeP& sc) {
    Value left = eval(*n.a[0], sc);
    for (size_t k = 0; k < n.ops.size(); ++k) {
        Value right = eval(*n.a[k + 1], sc);
        const std::string& op = n.ops[k];
        bool r;
        if (op == "==")
            r = equals(left, right);
        else if (op == "!=")
            r = !equals(left, right);
        else if (op == "in")
            r = contains(right, left, n.line);
        else if (op == "not in")
            r = !contains(right, left, n.line);
        else {
            if (left.is_undefined()) undefined_error(left, n.line);
            if (right.is_undefined()) undefined_error(right, n.line);
            if (op == "<")
                r = less_than(left, right, n.line);
            else if (op == ">")
                r = less_than(right, left, n.line);
            else if (op == "<=")
                r = !less_than(right, left, n.line);
            else
                r = !less_than(left, right, n.line);
        }
        if (!r) return Value::boolean(false);
        left = std::move(right);
    }
    return Value::boolean(true);
}

}  // namespace ig::jinja
