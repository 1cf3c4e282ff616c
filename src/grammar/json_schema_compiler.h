#pragma once
// The JSON Schema compiler behind json_schema_grammar.h: one instance per
// add_json_schema call, walking the schema recursively (depth-limited) and
// adding rules to the caller's builder. Internal to grammar/.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "grammar/code_points.h"
#include "grammar/json_number_rules.h"
#include "grammar/json_schema_grammar.h"
#include "grammar/json_schema_keywords.h"
#include "grammar/json_value_rules.h"

namespace ig::grammar {

class SchemaCompiler {
  public:
    SchemaCompiler(GrammarBuilder& b, const ojson& root, const JsonSchemaOptions& opt,
                   std::string root_path);

    Expected<uint32_t> compile(const ojson& s, const std::string& path, size_t depth);

  private:
    struct Bounds {
        std::optional<NumberBound> lo, hi;  // integers: inclusive
    };

    Expected<uint32_t> compile_ref(const ojson& s, const std::string& path, size_t depth);
    Expected<uint32_t> compile_any_of(const ojson& s, const std::string& path, size_t depth);
    Expected<uint32_t> compile_enum(const ojson& s, const std::string& path);
    Expected<uint32_t> compile_typed(const ojson& s, const std::string& path, size_t depth);
    Expected<uint32_t> compile_type(const std::string& type, const ojson& s,
                                    const std::string& path, size_t depth);
    Expected<uint32_t> compile_string(const ojson& s, const std::string& path);
    Expected<uint32_t> compile_integer(const ojson& s, const std::string& path);
    Expected<uint32_t> compile_number(const ojson& s, const std::string& path);
    Expected<Bounds> bounds(const ojson& s, const std::string& path, bool integer);
    // json_schema_containers.cpp
    Expected<uint32_t> compile_object(const ojson& s, const std::string& path, size_t depth);
    Expected<uint32_t> compile_array(const ojson& s, const std::string& path, size_t depth);
    // A JSON string, without escapes, that is none of `names`.
    uint32_t key_not_in(const std::vector<std::string>& names, const std::string& path);

    Expected<const ojson*> resolve(const std::string& ref, const std::string& path) const;
    Sequence quoted(uint32_t content);  // '"' content '"'

    GrammarBuilder& b_;
    JsonValueRules v_;
    const ojson& root_;
    JsonSchemaOptions opt_;
    std::string root_path_;
    std::map<std::string, uint32_t> refs_;                      // resolved "#/pointer" -> its rule
    size_t compiled_ = 0;                                       // subschemas compiled so far
    std::map<std::vector<std::string>, uint32_t> keys_not_in_;  // key_not_in by names
    std::map<CodeSet, uint32_t> key_classes_;                   // its character classes
    std::optional<uint32_t> key_rest_;                          // any key characters, then '"'
};

}  // namespace ig::grammar
