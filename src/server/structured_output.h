#pragma once
// What a request asks its output to be, and the compiled grammars that
// enforce it: OpenAI's `response_format`, vLLM's `guided_json`,
// `guided_regex`, `guided_choice`, `guided_grammar`, and llama.cpp's
// `json_schema` and `grammar`. At most one per request. Compiling is the
// server's (a bad schema is a 400 before anything reaches the engine);
// compiled grammars are cached by their source, so that requests with the
// same schema share one automaton in the engine and its token masks.
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "grammar/grammar.h"
#include "server/api_error.h"

namespace ig::server {

struct OutputConstraint {
    enum class Kind { None, JsonObject, JsonSchema, Regex, Choice, Grammar };
    Kind kind = Kind::None;
    std::string param;              // the field it came from, named in errors
    nlohmann::ordered_json schema;  // JsonSchema, keys in the client's order
    bool strict = false;            // response_format.json_schema.strict
    std::string text;               // Regex, Grammar (GBNF)
    std::vector<std::string> choices;
};

// Reads the constraint fields of a request body (parsed keeping key order:
// properties come out in the order the schema lists them).
std::optional<ApiError> read_output_constraint(const nlohmann::ordered_json& body,
                                               OutputConstraint& out);

using GrammarPtr = std::shared_ptr<const grammar::Grammar>;

// Thread-safe, least-recently-used.
class GrammarCache {
  public:
    explicit GrammarCache(size_t capacity = 256) : capacity_(capacity) {}

    // The grammar of a constraint (null for Kind::None), or a 400 naming
    // the field and the problem.
    std::variant<GrammarPtr, ApiError> get(const OutputConstraint& c);
    // Any other grammar, by a key that identifies its source.
    std::variant<GrammarPtr, ApiError> get(
        const std::string& key, const std::string& param,
        const std::function<Expected<grammar::Grammar>()>& build);

    size_t compiled() const;  // compilations so far (cache misses)

  private:
    using Entry = std::pair<std::string, GrammarPtr>;
    mutable std::mutex mu_;
    std::list<Entry> lru_;  // most recent first
    std::unordered_map<std::string, std::list<Entry>::iterator> index_;
    size_t capacity_;
    size_t compiled_ = 0;
};

}  // namespace ig::server
