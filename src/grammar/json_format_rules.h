#pragma once
// JSON Schema "format" values compiled to string content rules: the common
// simple forms, each a subset of what validators (ajv-formats, Python's
// jsonschema) accept:
//   date       YYYY-MM-DD, years 1000-9999, days within the month (Feb 29
//              in leap years only)
//   time       hh:mm:ss, optional .fraction (1-9 digits), then Z or +hh:mm/-hh:mm
//   date-time  date "T" time
//   uuid       8-4-4-4-12 lowercase hex digits
//   email      dot-separated atoms of [A-Za-z0-9_+-] "@" a dotted host name
//              of two or more labels ([A-Za-z0-9], inner '-')
//   ipv4       four decimal octets 0-255 without leading zeros
#include <optional>
#include <string_view>

#include "grammar/grammar.h"

namespace ig::grammar {

// The content (without quotes) of a string of `format`; nullopt when the
// format is not one of the above.
std::optional<uint32_t> add_format_rule(GrammarBuilder& b, std::string_view format);

}  // namespace ig::grammar
