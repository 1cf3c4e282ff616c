#pragma once
// llama.cpp's GBNF (the `grammar` / `guided_grammar` request fields)
// compiled to a Grammar.
//
//   root ::= "{" ws pair ("," ws pair)* "}"    # comments run to the end of a line
//   pair ::= [a-z]+ ":" ws [^\n,}]{1,20}
//   ws   ::= [ \t\n]*
//
// Rules are `name ::= alternatives`; a rule ends at the end of its line
// unless the next non-blank line does not start a new rule (then it goes
// on there, as it does inside parentheses). Elements: "literals" and
// [classes] (ranges, ^ negation) with escapes \n \r \t \\ \" \[ \] \- \^
// \xHH \uHHHH \UHHHHHHHH; `.` (any code point); rule names; ( ) groups;
// quantifiers * + ? {m} {m,} {m,n} {,n}. The grammar must define `root`.
// Errors give line:column. Token references (<[id]>, !<...>) are refused.
#include <string_view>

#include "grammar/expr.h"
#include "grammar/grammar.h"
#include "util/expected.h"

namespace ig::grammar {

// Bounds the cost of GrammarBuilder::finish, whose nullable-rule fixpoint can take
// a pass per rule on a hostile chain of rules.
inline constexpr size_t kMaxGbnfBytes = 128 * 1024;

// The rules as parsed (rule 0 is not necessarily root; see its name).
Expected<ExprGrammar> parse_gbnf_rules(std::string_view text);
Expected<Grammar> parse_gbnf(std::string_view text);

}  // namespace ig::grammar
