#pragma once
// The building blocks of JSON text as grammar rules, made once per builder
// on first use: whitespace, strings, numbers, literals and any value.
//
// Whitespace between tokens is bounded so a sampling model cannot wander in
// it forever: `ws ::= "" | " " | "\n" "\n"? [ \t]{0,20}` (llama.cpp's
// choice), or nothing at all when compact. It goes after `{` `[` `,` `:`
// and before `}` `]` `,` `:`, never before or after the whole value.
//
// Numbers keep within what every JSON parser holds exactly enough: at most
// 16 integer digits, 16 fraction digits and a 2-digit exponent (so no
// value overflows a double); integers are the same without fraction and
// exponent. String escapes are \" \\ \/ \b \f \n \r \t and \uXXXX except
// surrogates (a lone or paired surrogate escape would count as two
// characters for minLength/maxLength; non-BMP characters come raw).
#include <cstdint>
#include <optional>

#include "grammar/grammar.h"

namespace ig::grammar {

class JsonValueRules {
  public:
    JsonValueRules(GrammarBuilder& b, bool any_whitespace) : b_(b), any_ws_(any_whitespace) {}

    Sequence ws();  // empty when compact
    // ws "," ws
    Sequence comma();
    uint32_t string();       // "..."
    uint32_t string_char();  // one character of string content, raw or escaped
    // Content characters that need no escape (for object keys compared by bytes).
    uint32_t plain_char();
    uint32_t number();
    uint32_t unsigned_number();  // number without the sign
    uint32_t integer();
    uint32_t boolean();
    uint32_t null();
    uint32_t value();    // any JSON value
    uint32_t object();   // any JSON object
    uint32_t array();    // any JSON array
    uint32_t nothing();  // matches no text

    GrammarBuilder& builder() { return b_; }

  private:
    uint32_t lazy(std::optional<uint32_t>& slot, uint32_t (JsonValueRules::*make)());
    uint32_t make_ws();
    uint32_t make_string();
    uint32_t make_string_char();
    uint32_t make_plain_char();
    uint32_t make_unsigned_number();
    uint32_t make_number();
    uint32_t make_integer();
    uint32_t make_boolean();
    uint32_t make_null();
    uint32_t make_value();
    uint32_t make_nothing();

    GrammarBuilder& b_;
    bool any_ws_;
    std::optional<uint32_t> ws_, string_, string_char_, plain_char_, unsigned_number_, number_,
        integer_, boolean_, null_, value_, object_, array_, nothing_;
};

}  // namespace ig::grammar
