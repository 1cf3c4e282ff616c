#pragma once
// Whether two alternatives of a oneOf can never match the same value. The
// compiler decodes oneOf as anyOf, which is exact only then: a value valid
// under two alternatives breaks oneOf. Conservative: "may overlap" unless
// the schemas say otherwise by their types, their const/enum values, or a
// required property whose const/enum values differ (tagged unions).
#include <functional>
#include <string>

#include "grammar/json_schema_keywords.h"
#include "util/expected.h"

namespace ig::grammar {

// Follows a schema's top-level $ref (a chain of them); null when unresolvable.
using RefResolver =
    std::function<Expected<const ojson*>(const std::string& ref, const std::string& path)>;

bool schemas_disjoint(const ojson& a, const ojson& b, const RefResolver& resolve);

}  // namespace ig::grammar
