#pragma once
// Test oracles over a Grammar, independent of the matcher: an Earley
// recognizer (does the grammar match these exact bytes?) and a random
// sampler (a string the grammar matches, for soundness checks).
#include <cstddef>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "grammar/grammar.h"

namespace ig::grammar::test {

// Whether `text` (whole) is matched by the grammar's root. Texts over 64 KiB
// are refused (false) to keep the oracle's cost bounded.
bool grammar_accepts(const Grammar& g, std::string_view text);

// A random string of the grammar, choosing alternatives uniformly until the
// output nears `soft_limit` bytes, then the shortest ways out.
std::optional<std::string> grammar_sample(const Grammar& g, std::mt19937& rng,
                                          size_t soft_limit = 200);

}  // namespace ig::grammar::test
