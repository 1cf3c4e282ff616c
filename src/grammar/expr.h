#pragma once
// The expression form the text front-ends (regex, GBNF) parse into before
// it becomes a Grammar: code point sets, sequences, alternatives, bounded
// or unbounded repetition and references to named rules.
//
// Emitting it (emit_expr_grammar) is where two things are settled once for
// both front-ends: a repetition of something that can match "" (`(a?)*`,
// `("" | x)+`) is rewritten to repeat its non-empty part (the same language,
// and no left recursion for GrammarBuilder::finish to refuse), and code
// points are written either as raw UTF-8 or as they appear inside a JSON
// string literal (for JSON Schema's "pattern").
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "grammar/code_points.h"
#include "grammar/grammar.h"
#include "util/expected.h"

namespace ig::grammar {

// Bounded repetition counts above this are refused by every front-end
// ({m,n}, maxLength, maxItems): each unit of a bound costs a rule.
inline constexpr uint32_t kMaxRepeatBound = 10'000;

enum class ExprKind : uint8_t { Chars, Seq, Alt, Repeat, Ref };

struct ExprNode {
    ExprKind kind = ExprKind::Seq;
    std::vector<uint32_t> kids;   // Seq, Alt; Repeat: exactly one
    CodeSet chars;                // Chars: one code point of this set (empty: matches nothing)
    uint32_t min = 0;             // Repeat
    std::optional<uint32_t> max;  // Repeat; empty: unbounded
    uint32_t rule = 0;            // Ref: index into ExprGrammar::rules
};

struct ExprRule {
    std::string name;
    uint32_t body = 0;
};

struct ExprGrammar {
    std::vector<ExprNode> nodes;
    std::vector<ExprRule> rules;

    uint32_t chars(CodeSet set);
    uint32_t literal(std::u32string_view text);  // a Seq of single code points
    uint32_t seq(std::vector<uint32_t> kids);
    uint32_t alt(std::vector<uint32_t> kids);
    uint32_t repeat(uint32_t kid, uint32_t min, std::optional<uint32_t> max);
    uint32_t ref(uint32_t rule);
};

enum class CharEncoding {
    Utf8,               // a code point as its UTF-8 bytes
    JsonStringContent,  // as inside a JSON string: `"` `\` and controls escaped
};

// Adds every rule of `g` to the builder; returns their builder rule ids (same
// order). Stops early once the builder is over its limits (finish says so).
std::vector<uint32_t> emit_expr_grammar(GrammarBuilder& b, const ExprGrammar& g, CharEncoding enc);

}  // namespace ig::grammar
