#pragma once
// Choice lists (guided_choice): the output is exactly one of the strings.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "grammar/grammar.h"
#include "util/expected.h"

namespace ig::grammar {

// A rule matching exactly one of `texts` (bytes, as given), built as a trie
// so that a matcher follows one path however many strings share a prefix.
// JSON Schema's enum and const use it for their serialized values.
uint32_t add_string_choice(GrammarBuilder& b, std::vector<std::string> texts,
                           const std::string& name);

// Errors on an empty list, on a choice that is not valid UTF-8, and on
// lists over the grammar's size limits.
Expected<Grammar> choice_grammar(const std::vector<std::string>& choices);

}  // namespace ig::grammar
