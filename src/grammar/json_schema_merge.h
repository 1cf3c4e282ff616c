#pragma once
// allOf, and anyOf alternatives with sibling keywords, merged into one
// schema where that is exact: types intersect, properties and required
// unite (a property in two parts gets an allOf of both), lower bounds take
// the larger and upper bounds the smaller; any other keyword must agree
// between the parts. additionalProperties other than true must name
// (in its own part's properties) every merged property. Anything else is
// an error naming the keyword.
#include <functional>
#include <string>

#include "grammar/json_schema_keywords.h"

namespace ig::grammar {

// Resolves a "$ref" string to the schema it names.
using RefResolver =
    std::function<Expected<const ojson*>(const std::string& ref, const std::string& path)>;

// `s` with its "allOf" folded in (and no "allOf" left).
Expected<ojson> merge_all_of(const ojson& s, const std::string& path, const RefResolver& resolve);
// One schema meaning both `a` and `b`.
Expected<ojson> merge_schemas(const ojson& a, const ojson& b, const std::string& path,
                              const RefResolver& resolve);

}  // namespace ig::grammar
