#include "grammar/json_format_rules.h"

#include <string>

#include "grammar/regex_grammar.h"

namespace ig::grammar {

namespace {

// Kept as regexes: short, readable, and compiled by the regex front-end.
constexpr std::string_view kDate =
    "[1-9][0-9]{3}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-"
    "9]|30)"
    "|02-(?:0[1-9]|1[0-9]|2[0-8]))"
    "|(?:[1-9][0-9](?:[02468][48]|[2468]0|[13579][26])|(?:[2468][048]|[13579][26])00)-02-29";
constexpr std::string_view kTime =
    "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,9})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-"
    "5][0-9])";
constexpr std::string_view kUuid = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
constexpr std::string_view kEmail =
    "[A-Za-z0-9_+-]+(?:\\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    "(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+";
constexpr std::string_view kOctet = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";

}  // namespace

std::optional<uint32_t> add_format_rule(GrammarBuilder& b, std::string_view format) {
    std::string pattern;
    if (format == "date") {
        pattern = kDate;
    } else if (format == "time") {
        pattern = kTime;
    } else if (format == "date-time") {
        pattern = "(?:" + std::string(kDate) + ")T" + std::string(kTime);
    } else if (format == "uuid") {
        pattern = kUuid;
    } else if (format == "email") {
        pattern = kEmail;
    } else if (format == "ipv4") {
        pattern = std::string(kOctet) + "(?:\\." + std::string(kOctet) + "){3}";
    } else {
        return std::nullopt;
    }
    auto rule = add_regex(b, pattern, "format", CharEncoding::JsonStringContent);
    if (!rule) return std::nullopt;  // the patterns above are fixed and compile
    return *rule;
}

}  // namespace ig::grammar
