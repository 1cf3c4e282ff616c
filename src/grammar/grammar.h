#pragma once
// A context-free grammar over bytes: the one form every constraint (JSON
// Schema, regex, choice list, GBNF) is compiled to before decoding.
//
// Terminals are sets of bytes, not code points: tokens are byte strings that
// may end in the middle of a UTF-8 character, so the matcher walks bytes.
// Character classes over code points become small rules of UTF-8 byte
// sequences (GrammarBuilder::char_class).
//
// Rules are alternatives of sequences. Recursion is allowed except on the
// left (a rule reaching itself before consuming a byte), which
// GrammarBuilder::finish refuses; a reference that ends a sequence costs no
// stack in the matcher, so right recursion (repetition) runs in constant
// space.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/expected.h"

namespace ig::grammar {

struct ByteSet {
    std::array<uint64_t, 4> words{};

    void set(uint8_t b) { words[b >> 6] |= uint64_t{1} << (b & 63); }
    void set_range(uint8_t lo, uint8_t hi) {
        for (unsigned b = lo; b <= hi; ++b) set(static_cast<uint8_t>(b));
    }
    bool has(uint8_t b) const { return (words[b >> 6] >> (b & 63)) & 1; }
    bool operator==(const ByteSet&) const = default;
};

struct Element {
    enum class Kind : uint8_t { Bytes, Rule };
    Kind kind = Kind::Bytes;
    uint32_t index = 0;  // Bytes: into Grammar::byte_sets; Rule: into Grammar::rules
};

using Sequence = std::vector<Element>;

struct Rule {
    std::string name;
    std::vector<Sequence> alternatives;  // an empty sequence matches ""
};

struct Grammar {
    std::vector<ByteSet> byte_sets;
    std::vector<Rule> rules;
    uint32_t root = 0;
    // Whether control tokens (<|im_start|>, [TOOL_CALLS]) may be matched by
    // their text. Off for every user-facing constraint, so that a JSON
    // string cannot contain a token that ends the turn; on for tool-call
    // formats whose markers are control tokens.
    bool match_control_tokens = false;

    size_t element_count() const;
    // GBNF-like text, for logs and test failures.
    std::string to_string() const;
};

// Guards against grammars that would cost more to hold than any request is worth.
struct GrammarLimits {
    size_t max_rules = 200'000;
    size_t max_elements = 2'000'000;
};

class GrammarBuilder {
  public:
    explicit GrammarBuilder(GrammarLimits limits = {}) : limits_(limits) {}

    // A rule to define later (for recursion). Names are for messages only and
    // need not be unique.
    uint32_t declare(std::string name);
    void define(uint32_t rule, std::vector<Sequence> alternatives);
    uint32_t add_rule(std::string name, std::vector<Sequence> alternatives);

    Element bytes(const ByteSet& set);  // interned
    Element byte(uint8_t b);
    static Element ref(uint32_t rule) { return Element{Element::Kind::Rule, rule}; }
    // One Bytes element per byte of `text`.
    Sequence literal(std::string_view text);

    // One UTF-8 encoded code point in the union of [lo, hi] ranges (inclusive),
    // or, negated, any code point outside them. Surrogates (U+D800..U+DFFF)
    // are never matched: they are not valid UTF-8.
    uint32_t char_class(std::vector<std::pair<char32_t, char32_t>> ranges, bool negated,
                        std::string name);
    // item repeated min..max times (max empty: unbounded), as new rules.
    uint32_t repeat(const Sequence& item, uint32_t min, std::optional<uint32_t> max,
                    std::string name);

    // Checks and returns the grammar: every declared rule defined, references
    // in range, no left recursion, within the limits. Errors name the rule.
    Expected<Grammar> finish(uint32_t root, bool match_control_tokens = false);

    size_t rule_count() const { return g_.rules.size(); }
    // Past max_rules or max_elements already: front-ends stop building and
    // let finish report it, so hostile input costs no more than the limits.
    bool over_limit() const { return over_limit_; }

  private:
    Grammar g_;
    std::vector<bool> defined_;
    GrammarLimits limits_;
    size_t elements_ = 0;
    bool over_limit_ = false;
};

// Checks a grammar built by hand or by another builder (finish calls it).
Status validate_grammar(const Grammar& g, const GrammarLimits& limits = {});

}  // namespace ig::grammar
