#pragma once
// Regular expressions (guided_regex, JSON Schema "pattern") compiled to a
// grammar. The whole output matches the pattern: anchors are implicit, and
// a leading ^ or trailing $ (of the whole pattern or of a top-level
// alternative) is accepted and changes nothing.
//
// Syntax is ECMAScript's (what JSON Schema validators use), the subset
// that a grammar can express: literals; escapes \d \w \s \D \W \S \n \t \r
// \f \v \0 \cX \xHH \uHHHH \u{H..} and escaped punctuation; `.` (any code
// point but the line terminators \n \r U+2028 U+2029); classes [...] with
// ranges, negation and escapes; groups ( ), (?: ), (?<name> ); alternation;
// quantifiers * + ? {m} {m,} {m,n} (a lazy `?` suffix matches the same set).
// Refused with an error naming them: backreferences, lookaround, \b \B,
// \p{..}, inline flags, anchors elsewhere, bounds over kMaxRepeatBound.
// Where ECMAScript and Python's re differ (\s \S \D \W over Unicode, `.`
// and \r) the grammar keeps to what both accept.
#include <cstdint>
#include <string_view>

#include "grammar/expr.h"
#include "grammar/grammar.h"
#include "util/expected.h"

namespace ig::grammar {

// `path` prefixes error messages (e.g. "guided_regex").
Expected<ExprGrammar> parse_regex(std::string_view pattern, std::string_view path);

// Adds a rule matching exactly the strings of `pattern`.
Expected<uint32_t> add_regex(GrammarBuilder& b, std::string_view pattern, std::string_view path);
// As above, with the code points written as `enc` asks (JSON Schema's
// "pattern" matches the decoded string, so inside the JSON string literal
// a `"` the pattern allows is written \").
Expected<uint32_t> add_regex(GrammarBuilder& b, std::string_view pattern, std::string_view path,
                             CharEncoding enc);
Expected<Grammar> regex_grammar(std::string_view pattern, std::string_view path = "regex");

}  // namespace ig::grammar
