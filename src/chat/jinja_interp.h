#pragma once
// Tree-walking evaluator for parsed Jinja templates with jinja2's semantics
// (scoping, loop variables, Undefined) inside hard limits on work, output size
// and recursion, so that a hostile template fails cleanly instead of hanging.
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat/jinja_ast.h"
#include "chat/jinja_value.h"

namespace ig::jinja {

struct Limits {
    size_t max_output_bytes = 32u << 20;  // rendered text, and any single string or list built
    uint64_t max_steps = 5'000'000;       // evaluated nodes + loop iterations
    int max_call_depth = 100;             // macro / call nesting
};

struct Scope {
    std::unordered_map<std::string, Value> vars;
    std::shared_ptr<Scope> parent;
    const Value* find(const std::string& name) const;
};
using ScopeP = std::shared_ptr<Scope>;

class Interp {
  public:
    Interp(Limits limits, std::time_t now) : limits_(limits), now_(now) {}

    // Renders `body` with `globals` (variables visible to the template).
    PStr render(const std::vector<NodeP>& body,
                const std::unordered_map<std::string, Value>& globals);

    Value eval(const Node& n, const ScopeP& sc);
    Value call(const Value& fn, CallArgs& args, int line);
    Value getattr(const Value& obj, const std::string& name, int line);
    Value getitem(const Value& obj, const Value& key, int line);
    Value apply_filter(const std::string& name, Value input, CallArgs& args, int line,
                       const ScopeP& sc);
    bool apply_test(const std::string& name, const Value& input, CallArgs& args, int line);
    // Items of an iterable as a for loop sees them (dict: keys; str: characters).
    std::vector<Value> iterate(const Value& v, int line);
    // Guards against runaway sizes of built strings/lists.
    void check_size(size_t n, int line) const;
    void step(int line);
    std::time_t now() const { return now_; }

  private:
    enum class Flow { Normal, Break, Continue };

    Flow exec(const std::vector<NodeP>& body, const ScopeP& sc, PStr& out);
    Flow exec_for(const Node& n, const ScopeP& sc, PStr& out);
    void exec_set(const Node& target, Value v, const ScopeP& sc);
    Value make_macro(const Node& n, const ScopeP& sc);
    Value eval_binary(const Node& n, const ScopeP& sc);
    Value eval_compare(const Node& n, const ScopeP& sc);
    void eval_call_args(const Node& n, size_t first, CallArgs& args, const ScopeP& sc);
    void emit(PStr& out, const PStr& s, int line);

    Limits limits_;
    std::time_t now_;
    uint64_t steps_ = 0;
    int call_depth_ = 0;
};

// Python's `in` operator.
bool contains(const Value& container, const Value& item, int line);
// Builtin string/list/dict methods: returns Undefined when `name` is not one.
Value builtin_method(Interp& in, const Value& obj, const std::string& name, int line);
// Global functions: range, dict, namespace, raise_exception, strftime_now.
void add_builtin_globals(std::unordered_map<std::string, Value>& g);

}  // namespace ig::jinja
