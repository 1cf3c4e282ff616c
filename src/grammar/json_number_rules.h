#pragma once
// Integers and numbers within bounds, exactly, as digit patterns: the
// integers in [-57, 1003] are "-" ([1-9] | [1-4][0-9] | 5[0-7]) | [0-9] |
// [1-9][0-9] | [1-9][0-9][0-9] | 100[0-3] (no leading zeros).
#include <cstdint>
#include <optional>
#include <string>

#include "grammar/json_value_rules.h"

namespace ig::grammar {

using BigInt = __int128;

// Bounds are kept within +-kMaxIntMagnitude (19 digits); without a bound on
// one side, integers stop at kDefaultIntMagnitude (16 digits, as in
// JsonValueRules::integer) or at the other bound's digit count if longer.
inline constexpr BigInt kMaxIntMagnitude = 9'999'999'999'999'999'999ULL;
inline constexpr BigInt kDefaultIntMagnitude = 9'999'999'999'999'999LL;

// The integers in [lo, hi] (inclusive, lo <= hi, both within the limits).
uint32_t integer_range_rule(GrammarBuilder& b, BigInt lo, BigInt hi, const std::string& name);

// Integers with optional inclusive bounds.
uint32_t bounded_integer_rule(GrammarBuilder& b, std::optional<BigInt> lo, std::optional<BigInt> hi,
                              const std::string& name);

// A bound on a number: an integer value, inclusive or exclusive.
struct NumberBound {
    BigInt value = 0;
    bool exclusive = false;
};

// Numbers within the bounds (either optional). A side of zero that a bound
// limits is written without an exponent: an integer part in range and a
// fraction, chosen so that the value is within bounds as written and after
// rounding to a double: rounding is monotonic, and next to an exclusive
// bound the fraction keeps to 15 significant digits, which a double tells
// apart from the bound.
uint32_t bounded_number_rule(JsonValueRules& v, std::optional<NumberBound> lo,
                             std::optional<NumberBound> hi, const std::string& name);

}  // namespace ig::grammar
