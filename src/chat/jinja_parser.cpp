#include "chat/jinja_parser.h"

#include <initializer_list>

#include "chat/jinja_error.h"
#include "chat/jinja_lexer.h"

namespace ig::jinja {
namespace {

constexpr int kMaxNesting = 200;  // parser recursion: hostile templates must not blow the stack

NodeP make(NK k, int line) {
    auto n = std::make_unique<Node>();
    n->kind = k;
    n->line = line;
    return n;
}

class Parser {
  public:
    explicit Parser(std::vector<Token> toks) : t_(std::move(toks)) {}

    std::vector<NodeP> parse_all() {
        std::vector<NodeP> body = subparse({});
        if (cur().type != Tok::Eof) fail(cur().line, "unexpected '{}'", cur().text);
        return body;
    }

  private:
    std::vector<Token> t_;
    size_t p_ = 0;
    int depth_ = 0;

    struct DepthGuard {
        Parser& p;
        explicit DepthGuard(Parser& x) : p(x) {
            if (++p.depth_ > kMaxNesting) fail(p.cur().line, "template nesting too deep");
        }
        ~DepthGuard() { --p.depth_; }
    };

    const Token& cur() const { return t_[p_]; }
    const Token& peek(size_t k = 1) const { return t_[std::min(p_ + k, t_.size() - 1)]; }
    void next() {
        if (p_ + 1 < t_.size()) ++p_;
    }
    bool is_op(std::string_view o) const { return cur().type == Tok::Op && cur().text == o; }
    bool is_name(std::string_view n) const { return cur().type == Tok::Name && cur().text == n; }
    bool skip_op(std::string_view o) {
        if (!is_op(o)) return false;
        next();
        return true;
    }
    bool skip_name(std::string_view n) {
        if (!is_name(n)) return false;
        next();
        return true;
    }
    std::string describe(const Token& t) const {
        switch (t.type) {
            case Tok::Eof:
                return "end of template";
            case Tok::BlockEnd:
                return "end of statement block";
            case Tok::VarEnd:
                return "end of print statement";
            case Tok::Data:
                return "template data";
            case Tok::String:
                return "string";
            default:
                return t.text;
        }
    }
    void expect_op(std::string_view o) {
        if (!skip_op(o)) fail(cur().line, "expected '{}', got '{}'", o, describe(cur()));
    }
    std::string expect_name() {
        if (cur().type != Tok::Name) fail(cur().line, "expected a name, got '{}'", describe(cur()));
        std::string n = cur().text;
        next();
        return n;
    }
    void expect_block_end() {
        if (cur().type != Tok::BlockEnd)
            fail(cur().line, "expected end of statement block, got '{}'", describe(cur()));
        next();
    }

    // Statements until a block tag whose first word is in `ends` (left unconsumed: the
    // current token is that word).
    std::vector<NodeP> subparse(std::initializer_list<std::string_view> ends) {
        DepthGuard g(*this);
        std::vector<NodeP> body;
        while (cur().type != Tok::Eof) {
            const Token& t = cur();
            if (t.type == Tok::Data) {
                auto n = make(NK::Text, t.line);
                n->name = t.text;
                body.push_back(std::move(n));
                next();
            } else if (t.type == Tok::VarBegin) {
                next();
                auto n = make(NK::Print, t.line);
                n->a.push_back(parse_tuple(true, {}));
                if (cur().type != Tok::VarEnd)
                    fail(cur().line, "expected end of print statement, got '{}'", describe(cur()));
                next();
                body.push_back(std::move(n));
            } else if (t.type == Tok::BlockBegin) {
                next();
                if (cur().type == Tok::Name)
                    for (auto e : ends)
                        if (cur().text == e) return body;
                body.push_back(statement());
            } else {
                fail(t.line, "unexpected '{}'", describe(t));
            }
        }
        if (ends.size() != 0) {
            std::string want;
            for (auto e : ends) {
                want += want.empty() ? "'" : " or '";
                want += e;
                want += '\'';
            }
            fail(cur().line, "unexpected end of template, expected {}", want);
        }
        return body;
    }

    NodeP statement() {
        const Token& t = cur();
        if (t.type != Tok::Name) fail(t.line, "tag name expected");
        const std::string w = t.text;
        const int line = t.line;
        if (w == "if") return parse_if();
        if (w == "for") return parse_for();
        if (w == "set") return parse_set();
        if (w == "macro") return parse_macro();
        if (w == "call") return parse_call_block();
        if (w == "filter") return parse_filter_block();
        if (w == "break" || w == "continue") {
            next();
            expect_block_end();
            return make(w == "break" ? NK::Break : NK::Continue, line);
        }
        if (w == "generation") {
            // HF's AssistantTracker tag: renders its body unchanged.
            next();
            expect_block_end();
            auto n = make(NK::If, line);
            n->a.push_back(make(NK::Const, line));
            n->a[0]->literal = Value::boolean(true);
            n->body = subparse({"endgeneration"});
            next();
            expect_block_end();
            return n;
        }
        fail(line, "unsupported construct: '{{% {} %}}' statement", w);
    }

    NodeP parse_if() {
        const int line = cur().line;
        next();
        auto n = make(NK::If, line);
        n->a.push_back(parse_tuple(true, {}));
        expect_block_end();
        n->body = subparse({"elif", "else", "endif"});
        if (skip_name("elif")) {
            --p_;  // reuse parse_if on the elif clause
            n->orelse.push_back(parse_if());
            return n;
        }
        if (skip_name("else")) {
            expect_block_end();
            n->orelse = subparse({"endif"});
        }
        if (!skip_name("endif")) fail(cur().line, "expected 'endif'");
        expect_block_end();
        return n;
    }

    NodeP parse_for() {
        const int line = cur().line;
        next();
        auto n = make(NK::For, line);
        // Targets: names, optionally comma-separated or parenthesised.
        bool paren = skip_op("(");
        do {
            if (paren && is_op(")")) break;
            n->targets.push_back(expect_name());
        } while (skip_op(","));
        if (paren) expect_op(")");
        if (!skip_name("in")) fail(cur().line, "expected 'in' in for loop");
        n->a.push_back(parse_tuple(false, {"recursive"}));
        if (skip_name("if")) {
            n->a.push_back(parse_expression(true));
        } else {
            n->a.push_back(nullptr);
        }
        if (is_name("recursive")) fail(cur().line, "unsupported construct: recursive for loop");
        expect_block_end();
        n->body = subparse({"endfor", "else"});
        if (skip_name("else")) {
            expect_block_end();
            n->orelse = subparse({"endfor"});
        }
        if (!skip_name("endfor")) fail(cur().line, "expected 'endfor'");
        expect_block_end();
        return n;
    }

    NodeP assign_target() {
        const int line = cur().line;
        std::string name = expect_name();
        if (skip_op(".")) {
            auto n = make(NK::GetAttr, line);
            auto base = make(NK::Name, line);
            base->name = name;
            n->a.push_back(std::move(base));
            n->name = expect_name();
            return n;
        }
        auto first = make(NK::Name, line);
        first->name = name;
        if (!is_op(",")) return first;
        auto tup = make(NK::TupleLit, line);
        tup->a.push_back(std::move(first));
        while (skip_op(",")) {
            if (cur().type != Tok::Name) break;
            auto x = make(NK::Name, cur().line);
            x->name = expect_name();
            tup->a.push_back(std::move(x));
        }
        return tup;
    }

    NodeP parse_set() {
        const int line = cur().line;
        next();
        NodeP target = assign_target();
        if (skip_op("=")) {
            auto n = make(NK::Set, line);
            n->a.push_back(std::move(target));
            n->a.push_back(parse_tuple(true, {}));
            expect_block_end();
            return n;
        }
        auto n = make(NK::SetBlock, line);
        n->a.push_back(std::move(target));
        n->a.push_back(is_op("|") ? filter_chain(nullptr) : nullptr);
        expect_block_end();
        n->body = subparse({"endset"});
        next();
        expect_block_end();
        return n;
    }

    void params(Node& n) {
        expect_op("(");
        while (!is_op(")")) {
            if (!n.kw.empty()) expect_op(",");
            if (is_op(")")) break;
            std::string name = expect_name();
            NodeP def;
            if (skip_op("=")) def = parse_expression(true);
            n.kw.emplace_back(std::move(name), std::move(def));
        }
        expect_op(")");
    }

    NodeP parse_macro() {
        const int line = cur().line;
        next();
        auto n = make(NK::Macro, line);
        n->name = expect_name();
        params(*n);
        expect_block_end();
        n->body = subparse({"endmacro"});
        next();
        expect_block_end();
        return n;
    }

    NodeP parse_call_block() {
        const int line = cur().line;
        next();
        auto n = make(NK::CallBlock, line);
        if (is_op("(")) params(*n);
        NodeP call = parse_expression(true);
        if (call->kind != NK::Call) fail(line, "expected call");
        n->a.push_back(std::move(call));
        expect_block_end();
        n->body = subparse({"endcall"});
        next();
        expect_block_end();
        return n;
    }

    NodeP parse_filter_block() {
        const int line = cur().line;
        next();
        auto n = make(NK::FilterBlock, line);
        n->a.push_back(filter_chain(nullptr, /*first_without_pipe=*/true));
        expect_block_end();
        n->body = subparse({"endfilter"});
        next();
        expect_block_end();
        return n;
    }

    // ---- expressions ----

    bool is_tuple_end(std::initializer_list<std::string_view> extra) const {
        if (cur().type == Tok::VarEnd || cur().type == Tok::BlockEnd || cur().type == Tok::Eof)
            return true;
        if (is_op(")")) return true;
        for (auto e : extra)
            if (is_name(e)) return true;
        return false;
    }

    NodeP parse_tuple(bool with_condexpr, std::initializer_list<std::string_view> extra,
                      bool explicit_paren = false) {
        const int line = cur().line;
        std::vector<NodeP> args;
        bool is_tuple = false;
        while (true) {
            if (!args.empty()) expect_op(",");
            if (is_tuple_end(extra)) break;
            args.push_back(parse_expression(with_condexpr));
            if (is_op(",")) {
                is_tuple = true;
            } else {
                break;
            }
        }
        if (!is_tuple) {
            if (!args.empty()) return std::move(args[0]);
            if (!explicit_paren) fail(line, "Expected an expression, got '{}'", describe(cur()));
        }
        auto n = make(NK::TupleLit, line);
        n->a = std::move(args);
        return n;
    }

    NodeP parse_expression(bool with_condexpr) {
        DepthGuard g(*this);
        return with_condexpr ? parse_condexpr() : parse_or();
    }

    NodeP parse_condexpr() {
        NodeP e1 = parse_or();
        while (is_name("if")) {
            const int line = cur().line;
            next();
            NodeP cond = parse_or();
            NodeP e3;
            if (skip_name("else")) e3 = parse_condexpr();
            auto n = make(NK::CondExpr, line);
            n->a.push_back(std::move(e1));
            n->a.push_back(std::move(cond));
            n->a.push_back(std::move(e3));
            e1 = std::move(n);
        }
        return e1;
    }

    NodeP binary(NK k, NodeP l, NodeP r, int line, std::string op = {}) {
        auto n = make(k, line);
        n->name = std::move(op);
        n->a.push_back(std::move(l));
        n->a.push_back(std::move(r));
        return n;
    }

    NodeP parse_or() {
        NodeP l = parse_and();
        while (is_name("or")) {
            int line = cur().line;
            next();
            l = binary(NK::Or, std::move(l), parse_and(), line);
        }
        return l;
    }
    NodeP parse_and() {
        NodeP l = parse_not();
        while (is_name("and")) {
            int line = cur().line;
            next();
            l = binary(NK::And, std::move(l), parse_not(), line);
        }
        return l;
    }
    NodeP parse_not() {
        if (is_name("not")) {
            DepthGuard g(*this);
            auto n = make(NK::Unary, cur().line);
            next();
            n->name = "not";
            n->a.push_back(parse_not());
            return n;
        }
        return parse_compare();
    }
    NodeP parse_compare() {
        const int line = cur().line;
        NodeP first = parse_math1();
        std::vector<std::string> ops;
        std::vector<NodeP> rest;
        while (true) {
            if (cur().type == Tok::Op &&
                (cur().text == "==" || cur().text == "!=" || cur().text == "<" ||
                 cur().text == "<=" || cur().text == ">" || cur().text == ">=")) {
                ops.push_back(cur().text);
                next();
            } else if (is_name("in")) {
                ops.push_back("in");
                next();
            } else if (is_name("not") && peek().type == Tok::Name && peek().text == "in") {
                ops.push_back("not in");
                next();
                next();
            } else {
                break;
            }
            rest.push_back(parse_math1());
        }
        if (ops.empty()) return first;
        auto n = make(NK::Compare, line);
        n->a.push_back(std::move(first));
        for (auto& r : rest) n->a.push_back(std::move(r));
        n->ops = std::move(ops);
        return n;
    }
    NodeP parse_math1() {
        NodeP l = parse_concat();
        while (is_op("+") || is_op("-")) {
            std::string op = cur().text;
            int line = cur().line;
            next();
            l = binary(NK::Binary, std::move(l), parse_concat(), line, op);
        }
        return l;
    }
    NodeP parse_concat() {
        NodeP l = parse_math2();
        while (is_op("~")) {
            int line = cur().line;
            next();
            l = binary(NK::Binary, std::move(l), parse_math2(), line, "~");
        }
        return l;
    }
    NodeP parse_math2() {
        NodeP l = parse_pow();
        while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
            std::string op = cur().text;
            int line = cur().line;
            next();
            l = binary(NK::Binary, std::move(l), parse_pow(), line, op);
        }
        return l;
    }
    NodeP parse_pow() {
        NodeP l = parse_unary(true);
        while (is_op("**")) {
            int line = cur().line;
            next();
            l = binary(NK::Binary, std::move(l), parse_unary(true), line, "**");
        }
        return l;
    }
    NodeP parse_unary(bool with_filter) {
        DepthGuard g(*this);
        NodeP node;
        if (is_op("-") || is_op("+")) {
            node = make(NK::Unary, cur().line);
            node->name = cur().text;
            next();
            node->a.push_back(parse_unary(false));
        } else {
            node = parse_primary();
        }
        node = parse_postfix(std::move(node));
        if (with_filter) node = parse_filter_expr(std::move(node));
        return node;
    }

    NodeP parse_primary() {
        const Token& t = cur();
        if (t.type == Tok::Name) {
            auto n = make(NK::Const, t.line);
            if (t.text == "true" || t.text == "True")
                n->literal = Value::boolean(true);
            else if (t.text == "false" || t.text == "False")
                n->literal = Value::boolean(false);
            else if (t.text == "none" || t.text == "None")
                n->literal = Value::none();
            else {
                n->kind = NK::Name;
                n->name = t.text;
            }
            next();
            return n;
        }
        if (t.type == Tok::String) {
            auto n = make(NK::Const, t.line);
            std::string s;
            while (cur().type == Tok::String) {
                s += cur().text;
                next();
            }
            n->literal = Value::string(s, kTemplate);
            return n;
        }
        if (t.type == Tok::Int || t.type == Tok::Float) {
            auto n = make(NK::Const, t.line);
            n->literal = t.type == Tok::Int ? Value::integer(t.ival) : Value::number(t.fval);
            next();
            return n;
        }
        if (is_op("(")) {
            next();
            NodeP n = parse_tuple(true, {}, true);
            expect_op(")");
            return n;
        }
        if (is_op("[")) {
            auto n = make(NK::ListLit, t.line);
            next();
            while (!is_op("]")) {
                if (!n->a.empty()) expect_op(",");
                if (is_op("]")) break;
                n->a.push_back(parse_expression(true));
            }
            expect_op("]");
            return n;
        }
        if (is_op("{")) {
            auto n = make(NK::DictLit, t.line);
            next();
            while (!is_op("}")) {
                if (!n->a.empty()) expect_op(",");
                if (is_op("}")) break;
                n->a.push_back(parse_expression(true));
                expect_op(":");
                n->a.push_back(parse_expression(true));
            }
            expect_op("}");
            return n;
        }
        fail(t.line, "unexpected '{}'", describe(t));
    }

    NodeP parse_postfix(NodeP node) {
        while (true) {
            if (is_op(".")) {
                const int line = cur().line;
                next();
                if (cur().type == Tok::Name) {
                    auto n = make(NK::GetAttr, line);
                    n->name = cur().text;
                    next();
                    n->a.push_back(std::move(node));
                    node = std::move(n);
                } else if (cur().type == Tok::Int) {
                    auto n = make(NK::GetItem, line);
                    n->a.push_back(std::move(node));
                    auto idx = make(NK::Const, line);
                    idx->literal = Value::integer(cur().ival);
                    n->a.push_back(std::move(idx));
                    next();
                    node = std::move(n);
                } else {
                    fail(line, "expected name or number after '.'");
                }
            } else if (is_op("[")) {
                node = parse_subscript(std::move(node));
            } else if (is_op("(")) {
                node = parse_call(std::move(node));
            } else {
                break;
            }
        }
        return node;
    }

    NodeP parse_subscribed() {
        const int line = cur().line;
        NodeP parts[3];
        if (is_op(":")) {
            next();
        } else {
            NodeP e = parse_expression(true);
            if (!is_op(":")) return e;
            next();
            parts[0] = std::move(e);
        }
        if (!is_op("]") && !is_op(",") && !is_op(":")) parts[1] = parse_expression(true);
        if (skip_op(":")) {
            if (!is_op("]") && !is_op(",")) parts[2] = parse_expression(true);
        }
        auto n = make(NK::Slice, line);
        n->a.push_back(nullptr);  // object, filled by the caller
        for (auto& p : parts) n->a.push_back(std::move(p));
        return n;
    }

    NodeP parse_subscript(NodeP node) {
        const int line = cur().line;
        expect_op("[");
        std::vector<NodeP> args;
        while (!is_op("]")) {
            if (!args.empty()) {
                expect_op(",");
                if (is_op("]")) break;
            }
            args.push_back(parse_subscribed());
        }
        expect_op("]");
        if (args.empty()) fail(line, "expected subscript expression");
        NodeP idx;
        if (args.size() == 1) {
            idx = std::move(args[0]);
        } else {
            idx = make(NK::TupleLit, line);
            idx->a = std::move(args);
        }
        if (idx->kind == NK::Slice) {
            idx->a[0] = std::move(node);
            return idx;
        }
        auto n = make(NK::GetItem, line);
        n->a.push_back(std::move(node));
        n->a.push_back(std::move(idx));
        return n;
    }

    // Call arguments into n (positional appended to n.a, keywords to n.kw).
    void call_args(Node& n) {
        expect_op("(");
        bool first = true;
        while (!is_op(")")) {
            if (!first) {
                expect_op(",");
                if (is_op(")")) break;
            }
            first = false;
            if (is_op("*") || is_op("**"))
                fail(cur().line, "unsupported construct: *args/**kwargs in call");
            if (cur().type == Tok::Name && peek().type == Tok::Op && peek().text == "=") {
                std::string key = cur().text;
                next();
                next();
                n.kw.emplace_back(std::move(key), parse_expression(true));
            } else {
                if (!n.kw.empty()) fail(cur().line, "invalid syntax for function call expression");
                n.a.push_back(parse_expression(true));
            }
        }
        expect_op(")");
    }

    NodeP parse_call(NodeP node) {
        auto n = make(NK::Call, cur().line);
        n->a.push_back(std::move(node));
        call_args(*n);
        return n;
    }

    std::string dotted_name() {
        std::string name = expect_name();
        while (is_op(".")) {
            next();
            name += '.';
            name += expect_name();
        }
        return name;
    }

    // `| f(args) | g ...` on `input` (may be null for filter blocks / block set).
    NodeP filter_chain(NodeP input, bool first_without_pipe = false) {
        bool first = true;
        while (is_op("|") || (first && first_without_pipe)) {
            if (!(first && first_without_pipe)) next();
            first = false;
            auto n = make(NK::Filter, cur().line);
            n->name = dotted_name();
            n->a.push_back(std::move(input));
            if (is_op("(")) call_args(*n);
            input = std::move(n);
        }
        return input;
    }

    NodeP parse_filter_expr(NodeP node) {
        while (true) {
            if (is_op("|")) {
                node = filter_chain(std::move(node));
            } else if (is_name("is")) {
                node = parse_test(std::move(node));
            } else if (is_op("(")) {
                node = parse_call(std::move(node));
            } else {
                break;
            }
        }
        return node;
    }

    NodeP parse_test(NodeP node) {
        const int line = cur().line;
        next();  // is
        bool negated = skip_name("not");
        auto n = make(NK::Test, line);
        n->name = dotted_name();
        n->a.push_back(std::move(node));
        if (is_op("(")) {
            call_args(*n);
        } else if ((cur().type == Tok::Name || cur().type == Tok::String ||
                    cur().type == Tok::Int || cur().type == Tok::Float || is_op("[") ||
                    is_op("{")) &&
                   !is_name("else") && !is_name("or") && !is_name("and")) {
            if (is_name("is")) fail(cur().line, "You cannot chain multiple tests with is");
            NodeP arg = parse_primary();
            n->a.push_back(parse_postfix(std::move(arg)));
        }
        if (!negated) return n;
        auto neg = make(NK::Unary, line);
        neg->name = "not";
        neg->a.push_back(std::move(n));
        return neg;
    }
};

}  // namespace

std::vector<NodeP> parse_template(std::string_view source) {
    return Parser(lex(source)).parse_all();
}

}  // namespace ig::jinja
