#include "grammar/json_schema_keywords.h"

#include <cmath>
#include <limits>
#include <map>

#include "util/utf8.h"

namespace ig::grammar {

namespace {

enum class ValueType {
    Any,
    String,
    Bool,
    Number,
    NumberOrBool,
    Count,
    Object,
    Schema,
    SchemaOrArray,
    SchemaArray,
    StringArray,
    Array,
    TypeList
};

struct KeywordInfo {
    KeywordKind kind;
    ValueType value = ValueType::Any;
};

const std::map<std::string_view, KeywordInfo>& table() {
    using K = KeywordKind;
    using V = ValueType;
    static const std::map<std::string_view, KeywordInfo> t = {
        {"title", {K::Annotation}},
        {"description", {K::Annotation}},
        {"default", {K::Annotation}},
        {"examples", {K::Annotation}},
        {"$schema", {K::Annotation}},
        {"$id", {K::Annotation}},
        {"$comment", {K::Annotation}},
        {"deprecated", {K::Annotation}},
        {"readOnly", {K::Annotation}},
        {"writeOnly", {K::Annotation}},
        {"$defs", {K::Annotation}},
        {"definitions", {K::Annotation}},
        {"$anchor", {K::Annotation}},
        {"type", {K::Supported, V::TypeList}},
        {"enum", {K::Supported, V::Array}},
        {"const", {K::Supported, V::Any}},
        {"properties", {K::Supported, V::Object}},
        {"required", {K::Supported, V::StringArray}},
        {"additionalProperties", {K::Supported, V::Schema}},
        {"items", {K::Supported, V::SchemaOrArray}},
        {"prefixItems", {K::Supported, V::SchemaArray}},
        {"additionalItems", {K::Supported, V::Schema}},
        {"minItems", {K::Supported, V::Count}},
        {"maxItems", {K::Supported, V::Count}},
        {"minLength", {K::Supported, V::Count}},
        {"maxLength", {K::Supported, V::Count}},
        {"pattern", {K::Supported, V::String}},
        {"format", {K::Supported, V::String}},
        {"minimum", {K::Supported, V::Number}},
        {"maximum", {K::Supported, V::Number}},
        {"exclusiveMinimum", {K::Supported, V::NumberOrBool}},
        {"exclusiveMaximum", {K::Supported, V::NumberOrBool}},
        {"anyOf", {K::Supported, V::SchemaArray}},
        {"oneOf", {K::Supported, V::SchemaArray}},
        {"allOf", {K::Supported, V::SchemaArray}},
        {"$ref", {K::Supported, V::String}},
        {"nullable", {K::Supported, V::Bool}},
        {"not", {K::Refused}},
        {"if", {K::Refused}},
        {"then", {K::Refused}},
        {"else", {K::Refused}},
        {"patternProperties", {K::Refused}},
        {"propertyNames", {K::Refused}},
        {"dependentRequired", {K::Refused}},
        {"dependentSchemas", {K::Refused}},
        {"dependencies", {K::Refused}},
        {"uniqueItems", {K::Refused}},
        {"multipleOf", {K::Refused}},
        {"minProperties", {K::Refused}},
        {"maxProperties", {K::Refused}},
        {"contains", {K::Refused}},
        {"minContains", {K::Refused}},
        {"maxContains", {K::Refused}},
        {"unevaluatedProperties", {K::Refused}},
        {"unevaluatedItems", {K::Refused}},
        {"$dynamicRef", {K::Refused}},
        {"$recursiveRef", {K::Refused}},
    };
    return t;
}

bool is_schema(const ojson& v) {
    return v.is_object() || v.is_boolean();
}

const char* expectation(ValueType t) {
    switch (t) {
        case ValueType::String:
            return "a string";
        case ValueType::Bool:
            return "a boolean";
        case ValueType::Number:
            return "a number";
        case ValueType::NumberOrBool:
            return "a number";
        case ValueType::Count:
            return "a non-negative integer";
        case ValueType::Object:
            return "an object";
        case ValueType::Schema:
            return "a schema (object or boolean)";
        case ValueType::SchemaOrArray:
            return "a schema (object or boolean)";
        case ValueType::SchemaArray:
            return "a non-empty array of schemas";
        case ValueType::StringArray:
            return "an array of strings";
        case ValueType::Array:
            return "a non-empty array";
        case ValueType::TypeList:
            return "a type name or a non-empty array of type names";
        case ValueType::Any:
            return "a value";
    }
    return "a value";
}

bool is_type_name(const ojson& v) {
    if (!v.is_string()) return false;
    const auto& s = v.get_ref<const std::string&>();
    return s == "string" || s == "number" || s == "integer" || s == "boolean" || s == "null" ||
           s == "object" || s == "array";
}

bool value_ok(ValueType t, const ojson& v) {
    switch (t) {
        case ValueType::Any:
            return true;
        case ValueType::String:
            return v.is_string();
        case ValueType::Bool:
            return v.is_boolean();
        case ValueType::Number:
            return v.is_number();
        case ValueType::NumberOrBool:
            return v.is_number() || v.is_boolean();
        case ValueType::Count:
            return as_count(v).has_value();
        case ValueType::Object:
            return v.is_object();
        case ValueType::Schema:
            return is_schema(v);
        case ValueType::SchemaOrArray:
            if (v.is_array()) return value_ok(ValueType::SchemaArray, v);
            return is_schema(v);
        case ValueType::SchemaArray:
            if (!v.is_array() || v.empty()) return false;
            for (const auto& x : v)
                if (!is_schema(x)) return false;
            return true;
        case ValueType::StringArray:
            if (!v.is_array()) return false;
            for (const auto& x : v)
                if (!x.is_string()) return false;
            return true;
        case ValueType::Array:
            return v.is_array() && !v.empty();
        case ValueType::TypeList:
            if (v.is_string()) return is_type_name(v);
            if (!v.is_array() || v.empty()) return false;
            for (const auto& x : v)
                if (!is_type_name(x)) return false;
            return true;
    }
    return false;
}

// Refused keywords whose value asks for nothing are accepted.
bool trivially_true(std::string_view key, const ojson& v) {
    if (key == "uniqueItems") return v.is_boolean() && !v.get<bool>();
    if (key == "minProperties") return as_count(v) == 0u;
    return false;
}

Status check_text(const ojson& v, const std::string& path, size_t depth) {
    if (depth > 512) return make_error("{}: value nested deeper than 512", path);
    auto utf8_ok = [](const std::string& s) {
        for (size_t i = 0; i < s.size();) {
            size_t n = utf8::valid_at(s, i);
            if (n == 0) return false;
            i += n;
        }
        return true;
    };
    if (v.is_string() && !utf8_ok(v.get_ref<const std::string&>()))
        return make_error("{}: string is not valid UTF-8", path);
    if (v.is_number_float() && !std::isfinite(v.get<double>()))
        return make_error("{}: number is not finite", path);
    if (v.is_object()) {
        for (const auto& [k, x] : v.items()) {
            if (!utf8_ok(k)) return make_error("{}: key is not valid UTF-8", path);
            IG_TRY(check_text(x, path, depth + 1));
        }
    } else if (v.is_array()) {
        for (const auto& x : v) IG_TRY(check_text(x, path, depth + 1));
    }
    return {};
}

}  // namespace

KeywordKind keyword_kind(std::string_view key) {
    auto it = table().find(key);
    return it == table().end() ? KeywordKind::Unknown : it->second.kind;
}

Status check_keywords(const ojson& s, const std::string& path) {
    for (const auto& [key, v] : s.items()) {
        auto it = table().find(key);
        if (it == table().end() || it->second.kind == KeywordKind::Annotation) continue;
        if (it->second.kind == KeywordKind::Refused) {
            if (trivially_true(key, v)) continue;
            return make_error(ErrorCode::Unsupported, "{}: '{}' is not supported",
                              child_path(path, key), key);
        }
        if (!value_ok(it->second.value, v))
            return make_error("{}: must be {}", child_path(path, key),
                              expectation(it->second.value));
    }
    return {};
}

std::string child_path(const std::string& path, std::string_view key) {
    std::string out = path;
    out += '/';
    for (char c : key) {
        if (c == '~')
            out += "~0";
        else if (c == '/')
            out += "~1";
        else
            out += c;
    }
    return out;
}

Expected<std::string> json_text(const ojson& v, const std::string& path) {
    IG_TRY(check_text(v, path, 0));
    return v.dump();
}

std::optional<uint64_t> as_count(const ojson& v) {
    if (v.is_number_unsigned()) return v.get<uint64_t>();
    if (v.is_number_integer()) {
        auto i = v.get<int64_t>();
        if (i < 0) return std::nullopt;
        return static_cast<uint64_t>(i);
    }
    if (v.is_number_float()) {
        double d = v.get<double>();
        if (!(d >= 0) || std::floor(d) != d) return std::nullopt;
        if (d >= 1.8e19) return std::numeric_limits<uint64_t>::max();
        return static_cast<uint64_t>(d);
    }
    return std::nullopt;
}

std::vector<std::string> schema_types(const ojson& s) {
    std::vector<std::string> out;
    auto it = s.find("type");
    if (it == s.end()) return out;
    if (it->is_string()) {
        out.push_back(it->get<std::string>());
    } else if (it->is_array()) {
        for (const auto& t : *it)
            if (t.is_string()) out.push_back(t.get<std::string>());
    }
    return out;
}

bool value_has_type(const ojson& v, std::string_view type) {
    if (type == "null") return v.is_null();
    if (type == "boolean") return v.is_boolean();
    if (type == "string") return v.is_string();
    if (type == "number") return v.is_number();
    if (type == "integer") {
        if (v.is_number_integer() || v.is_number_unsigned()) return true;
        if (!v.is_number_float()) return false;
        double d = v.get<double>();
        return std::isfinite(d) && std::floor(d) == d;
    }
    if (type == "object") return v.is_object();
    if (type == "array") return v.is_array();
    return false;
}

}  // namespace ig::grammar
