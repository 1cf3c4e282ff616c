#pragma once
// Dead ends out of a finished grammar: an alternative that uses a rule with
// no finite match (`a ::= "x" a`, a JSON Schema `false`, an empty class, a
// required property whose schema recurses without a base case) would let a
// model start a path it can never finish, so it is removed.
#include "grammar/grammar.h"
#include "util/expected.h"

namespace ig::grammar {

// Removes every alternative that cannot match a finite string; rule ids do
// not change. Errors when the root itself matches nothing.
Status prune_unproductive(Grammar& g);

}  // namespace ig::grammar
