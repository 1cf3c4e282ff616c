#include "server/structured_output.h"

#include <fmt/format.h>

#include "grammar/choice_grammar.h"
#include "grammar/gbnf_parser.h"
#include "grammar/json_schema_grammar.h"
#include "grammar/regex_grammar.h"

namespace ig::server {

namespace {

using ojson = nlohmann::ordered_json;
using Kind = OutputConstraint::Kind;

std::optional<ApiError> read_response_format(const ojson& f, OutputConstraint& out) {
    if (!f.is_object() || !f.contains("type") || !f["type"].is_string())
        return invalid_field("response_format",
                             "'response_format' must be an object with a string 'type'");
    const std::string t = f["type"].get<std::string>();
    for (const auto& [k, v] : f.items())
        if (k != "type" && !(t == "json_schema" && k == "json_schema"))
            return invalid_field("response_format." + k,
                                 fmt::format("'response_format.{}' is not a field of "
                                             "response_format type '{}'",
                                             k, t));
    if (t == "text") return std::nullopt;
    out.param = "response_format";
    if (t == "json_object") {
        out.kind = Kind::JsonObject;
        return std::nullopt;
    }
    if (t != "json_schema")
        return invalid_field("response_format.type",
                             fmt::format("'response_format.type' must be text, json_object or "
                                         "json_schema, got '{}'",
                                         t));
    const auto js = f.find("json_schema");
    if (js == f.end() || !js->is_object())
        return invalid_field("response_format.json_schema",
                             "'response_format.json_schema' must be an object with 'name' and "
                             "'schema'");
    for (const auto& [k, v] : js->items()) {
        if (k == "name") {
            if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().size() > 64)
                return invalid_field("response_format.json_schema.name",
                                     "'response_format.json_schema.name' must be a string of "
                                     "1 to 64 characters");
        } else if (k == "description") {
            if (!v.is_string())
                return invalid_field("response_format.json_schema.description",
                                     "'response_format.json_schema.description' must be a string");
        } else if (k == "strict") {
            if (!v.is_boolean() && !v.is_null())
                return invalid_field("response_format.json_schema.strict",
                                     "'response_format.json_schema.strict' must be a boolean");
            out.strict = v.is_boolean() && v.get<bool>();
        } else if (k != "schema") {
            return invalid_field("response_format.json_schema." + k,
                                 fmt::format("'response_format.json_schema.{}' is not a known "
                                             "field (name, description, schema, strict)",
                                             k));
        }
    }
    if (!js->contains("name"))
        return invalid_field("response_format.json_schema.name",
                             "'response_format.json_schema.name' is required");
    const auto schema = js->find("schema");
    if (schema == js->end() || schema->is_null()) {
        // OpenAI's default: no schema, any JSON value of an object.
        out.kind = Kind::JsonObject;
        return std::nullopt;
    }
    if (!schema->is_object() && !schema->is_boolean())
        return invalid_field("response_format.json_schema.schema",
                             "'response_format.json_schema.schema' must be a JSON Schema object");
    out.kind = Kind::JsonSchema;
    out.param = "response_format.json_schema.schema";
    out.schema = *schema;
    return std::nullopt;
}

// A schema given as an object or as JSON text (vLLM accepts both).
std::optional<ApiError> read_schema(const ojson& v, const std::string& param,
                                    OutputConstraint& out) {
    out.kind = Kind::JsonSchema;
    out.param = param;
    if (v.is_object() || v.is_boolean()) {
        out.schema = v;
        return std::nullopt;
    }
    if (v.is_string()) {
        out.schema = ojson::parse(v.get<std::string>(), nullptr, false);
        if (!out.schema.is_discarded() && (out.schema.is_object() || out.schema.is_boolean()))
            return std::nullopt;
    }
    return invalid_field(param, fmt::format("'{}' must be a JSON Schema (an object, or its JSON "
                                            "text)",
                                            param));
}

std::optional<ApiError> read_one(const std::string& key, const ojson& v, OutputConstraint& out) {
    if (key == "response_format") return read_response_format(v, out);
    if (key == "guided_json" || key == "json_schema") return read_schema(v, key, out);
    if (key == "guided_regex" || key == "guided_grammar" || key == "grammar") {
        if (!v.is_string() || v.get<std::string>().empty())
            return invalid_field(key, fmt::format("'{}' must be a non-empty string", key));
        out.kind = key == "guided_regex" ? Kind::Regex : Kind::Grammar;
        out.param = key;
        out.text = v.get<std::string>();
        return std::nullopt;
    }
    // guided_choice
    if (!v.is_array() || v.empty())
        return invalid_field(key, "'guided_choice' must be a non-empty list of strings");
    for (const auto& c : v) {
        if (!c.is_string())
            return invalid_field(key, "'guided_choice' must be a non-empty list of strings");
        out.choices.push_back(c.get<std::string>());
    }
    out.kind = Kind::Choice;
    out.param = key;
    return std::nullopt;
}

std::string cache_key(const OutputConstraint& c) {
    switch (c.kind) {
        case Kind::None:
            return "";
        case Kind::JsonObject:
            return "object";
        case Kind::JsonSchema:
            return fmt::format("schema:{}:{}", c.strict ? 1 : 0, c.schema.dump());
        case Kind::Regex:
            return "regex:" + c.text;
        case Kind::Grammar:
            return "gbnf:" + c.text;
        case Kind::Choice:
            return "choice:" + ojson(c.choices).dump();
    }
    return "";
}

Expected<grammar::Grammar> compile(const OutputConstraint& c) {
    grammar::JsonSchemaOptions opt;
    opt.strict = c.strict;
    switch (c.kind) {
        case Kind::JsonObject:
            return grammar::json_object_grammar(opt);
        case Kind::JsonSchema:
            return grammar::json_schema_grammar(c.schema, opt, c.param);
        case Kind::Regex:
            return grammar::regex_grammar(c.text, c.param);
        case Kind::Grammar:
            return grammar::parse_gbnf(c.text);
        case Kind::Choice:
            return grammar::choice_grammar(c.choices);
        case Kind::None:
            break;
    }
    return make_error(ErrorCode::Internal, "no constraint to compile");
}

}  // namespace

std::optional<ApiError> read_output_constraint(const ojson& body, OutputConstraint& out) {
    static constexpr const char* kKeys[] = {"response_format", "guided_json",    "guided_regex",
                                            "guided_choice",   "guided_grammar", "json_schema",
                                            "grammar"};
    std::string seen;
    for (const char* key : kKeys) {
        const auto it = body.find(key);
        if (it == body.end() || it->is_null()) continue;
        OutputConstraint c;
        if (auto e = read_one(key, *it, c)) return e;
        if (c.kind == Kind::None) continue;  // response_format text
        if (!seen.empty())
            return invalid_field(key, fmt::format("'{}' and '{}' both constrain the output; send "
                                                  "one",
                                                  seen, key));
        seen = key;
        out = std::move(c);
    }
    return std::nullopt;
}

std::variant<GrammarPtr, ApiError> GrammarCache::get(const OutputConstraint& c) {
    if (c.kind == Kind::None) return GrammarPtr{};
    return get(cache_key(c), c.param, [&] { return compile(c); });
}

std::variant<GrammarPtr, ApiError> GrammarCache::get(
    const std::string& key, const std::string& param,
    const std::function<Expected<grammar::Grammar>()>& build) {
    {
        std::lock_guard lk(mu_);
        if (auto it = index_.find(key); it != index_.end()) {
            lru_.splice(lru_.begin(), lru_, it->second);
            return it->second->second;
        }
    }
    // Compiled outside the lock: a big schema does not stall other requests.
    auto g = build();
    if (!g.ok()) {
        ApiError e = invalid_field(param, g.error().message);
        e.code = "invalid_grammar";
        return e;
    }
    auto ptr = std::make_shared<const grammar::Grammar>(std::move(g).value());
    std::lock_guard lk(mu_);
    ++compiled_;
    if (auto it = index_.find(key); it != index_.end()) return it->second->second;
    lru_.emplace_front(key, ptr);
    index_[key] = lru_.begin();
    while (lru_.size() > capacity_) {
        index_.erase(lru_.back().first);
        lru_.pop_back();
    }
    return ptr;
}

size_t GrammarCache::compiled() const {
    std::lock_guard lk(mu_);
    return compiled_;
}

}  // namespace ig::server
