// libFuzzer target: arbitrary bytes as a constraint for one of the grammar
// front-ends (the first byte picks: JSON Schema, JSON Schema in strict mode,
// regex, GBNF, choice list). Each must return a grammar that validates, or an
// error with a message; never crash, hang or run past its limits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "grammar/choice_grammar.h"
#include "grammar/gbnf_parser.h"
#include "grammar/json_schema_grammar.h"
#include "grammar/regex_grammar.h"

namespace {

void check(const ig::Expected<ig::grammar::Grammar>& g) {
    if (!g.ok()) {
        if (g.error().message.empty()) std::abort();
        return;
    }
    if (!ig::grammar::validate_grammar(*g).ok()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 5) {
        case 0:
        case 1: {
            auto schema = nlohmann::ordered_json::parse(text, nullptr, false);
            if (schema.is_discarded()) return 0;
            ig::grammar::JsonSchemaOptions opt;
            opt.strict = data[0] % 5 == 1;
            opt.any_whitespace = (data[0] & 0x80) != 0;
            check(ig::grammar::json_schema_grammar(schema, opt));
            break;
        }
        case 2:
            check(ig::grammar::regex_grammar(text));
            break;
        case 3:
            check(ig::grammar::parse_gbnf(text));
            break;
        default: {
            std::vector<std::string> choices;
            size_t start = 0;
            for (size_t i = 0; i <= text.size(); ++i)
                if (i == text.size() || text[i] == '\n') {
                    choices.emplace_back(text.substr(start, i - start));
                    start = i + 1;
                }
            check(ig::grammar::choice_grammar(choices));
        }
    }
    return 0;
}
