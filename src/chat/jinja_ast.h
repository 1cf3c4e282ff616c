#pragma once
// Syntax tree of a parsed Jinja template: one Node type for expressions and
// statements, told apart by `kind`.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/jinja_value.h"

namespace ig::jinja {

enum class NK : uint8_t {
    // expressions
    Const,    // literal
    Name,     // name
    GetAttr,  // a[0].name
    GetItem,  // a[0][a[1]]
    Slice,    // a[0][a[1]:a[2]:a[3]] (null parts omitted)
    Call,     // a[0](a[1..], kw)
    Filter,   // a[0] | name(a[1..], kw)
    Test,     // a[0] is name(a[1..])
    Unary,    // op a[0]: "-", "+", "not"
    Binary,   // a[0] op a[1]: + - * / // % ** ~
    And,
    Or,
    Compare,   // a[0] ops[0] a[1] ops[1] a[2] ...
    CondExpr,  // a[0] if a[1] else a[2] (a[2] may be null)
    ListLit,
    TupleLit,
    DictLit,  // a = k0, v0, k1, v1, ...
    // statements
    Text,         // name = literal template text
    Print,        // {{ a[0] }}
    If,           // if a[0]: body else orelse
    For,          // for targets in a[0] [if a[1]]: body else orelse
    Set,          // a[0] (target) = a[1]
    SetBlock,     // a[0] (target) = body, filtered by a[1] (a Filter chain on a null input) when
                  // present
    Macro,        // macro name(params) body
    CallBlock,    // call(params) a[0] body
    FilterBlock,  // a[0] filter chain applied to body
    Break,
    Continue,
};

struct Node;
using NodeP = std::unique_ptr<Node>;

struct Node {
    NK kind;
    int line = 0;
    std::string name;  // Name/GetAttr/Filter/Test/Macro name, Unary/Binary operator, Text content
    Value literal;     // Const
    std::vector<NodeP> a;
    std::vector<std::pair<std::string, NodeP>>
        kw;                            // call kwargs; Macro/CallBlock: params with defaults
    std::vector<std::string> ops;      // Compare operators
    std::vector<std::string> targets;  // For loop variables
    std::vector<NodeP> body, orelse;
};

}  // namespace ig::jinja
