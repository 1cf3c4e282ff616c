#include "grammar/json_schema_compiler.h"

#include "grammar/json_schema_one_of.h"

#include <algorithm>
#include <cmath>

#include "grammar/choice_grammar.h"
#include "grammar/json_format_rules.h"
#include "grammar/json_schema_merge.h"
#include "grammar/regex_grammar.h"

namespace ig::grammar {

namespace {

// Beyond 2^53 a double cannot tell x from x + 1, so an exclusive bound
// there cannot be kept by a validator that parses numbers as doubles.
constexpr double kExactDoubleLimit = 9007199254740992.0;

// Subschemas compiled for one schema: merged anyOf alternatives are
// compiled afresh each time they are reached, so nesting could otherwise
// multiply the work.
constexpr size_t kMaxSubschemas = 10'000;

bool has(const ojson& s, const char* key) {
    return s.find(key) != s.end();
}

// Types implied by the keywords present, when "type" is absent: a keyword
// only applies to its own type, so leaving the other types out is safe.
std::vector<std::string> inferred_types(const ojson& s) {
    std::vector<std::string> types = schema_types(s);
    if (!types.empty()) return types;
    auto any = [&](std::initializer_list<const char*> keys) {
        return std::any_of(keys.begin(), keys.end(), [&](const char* k) { return has(s, k); });
    };
    if (any({"properties", "required", "additionalProperties"})) types.push_back("object");
    if (any({"items", "prefixItems", "additionalItems", "minItems", "maxItems"}))
        types.push_back("array");
    if (any({"minLength", "maxLength", "pattern", "format"})) types.push_back("string");
    if (any({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}))
        types.push_back("number");
    return types;
}

std::string percent_decode(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        auto hex = [](char c) -> int {
            if (c >= '0' && c <= '9') return c - '0';
            if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') return (c | 0x20) - 'a' + 10;
            return -1;
        };
        if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
            out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

// A JSON number as an exact integer bound, rounded in the direction asked
// (up: the least integer >= v; down: the greatest <= v); +-infinity when
// beyond the integer domain.
struct IntBound {
    BigInt value = 0;
    int infinite = 0;  // -1, 0, +1
};

IntBound to_int_bound(const ojson& v, bool up) {
    if (v.is_number_unsigned()) {
        auto u = v.get<uint64_t>();
        if (u > static_cast<uint64_t>(kMaxIntMagnitude)) return {0, 1};
        return {static_cast<BigInt>(u), 0};
    }
    if (v.is_number_integer()) return {static_cast<BigInt>(v.get<int64_t>()), 0};
    double d = v.get<double>();
    d = up ? std::ceil(d) : std::floor(d);
    if (d > 9.99e18) return {0, 1};
    if (d < -9.99e18) return {0, -1};
    return {static_cast<BigInt>(d), 0};
}

bool integral(const ojson& v) {
    if (!v.is_number_float()) return true;
    double d = v.get<double>();
    return std::floor(d) == d;
}

}  // namespace

SchemaCompiler::SchemaCompiler(GrammarBuilder& b, const ojson& root, const JsonSchemaOptions& opt,
                               std::string root_path)
    : b_(b), v_(b, opt.any_whitespace), root_(root), opt_(opt), root_path_(std::move(root_path)) {}

Sequence SchemaCompiler::quoted(uint32_t content) {
    return {b_.byte('"'), GrammarBuilder::ref(content), b_.byte('"')};
}

Expected<uint32_t> SchemaCompiler::compile(const ojson& s, const std::string& path, size_t depth) {
    if (depth > opt_.max_depth)
        return make_error("{}: schema nested deeper than {}", path, opt_.max_depth);
    if (b_.over_limit())
        return make_error("{}: the schema needs a grammar over the size limits", path);
    if (++compiled_ > kMaxSubschemas)
        return make_error(ErrorCode::Unsupported,
                          "{}: the schema expands to more than {} subschemas", path,
                          kMaxSubschemas);
    if (s.is_boolean()) return s.get<bool>() ? v_.value() : v_.nothing();
    if (!s.is_object())
        return make_error("{}: a schema must be an object or a boolean, not {}", path,
                          s.type_name());
    IG_TRY(check_keywords(s, path));
    if (has(s, "$ref")) return compile_ref(s, path, depth);
    if (has(s, "allOf")) {
        auto merged = merge_all_of(
            s, path, [this](const std::string& r, const std::string& p) { return resolve(r, p); });
        if (!merged) return merged.error();
        return compile(*merged, path, depth + 1);
    }
    if (has(s, "anyOf") || has(s, "oneOf")) return compile_any_of(s, path, depth);
    if (has(s, "enum") || has(s, "const")) return compile_enum(s, path);
    return compile_typed(s, path, depth);
}

Expected<const ojson*> SchemaCompiler::resolve(const std::string& ref,
                                               const std::string& path) const {
    if (ref.empty() || ref[0] != '#')
        return make_error(ErrorCode::Unsupported,
                          "{}: only local references ('#', '#/$defs/...') are supported, not '{}'",
                          path, ref);
    std::string frag = percent_decode(std::string_view(ref).substr(1));
    if (!frag.empty() && frag[0] != '/')
        return make_error(ErrorCode::Unsupported, "{}: anchor references ('{}') are not supported",
                          path, ref);
    const ojson* node = &root_;
    size_t i = 1;
    while (i <= frag.size() && !frag.empty()) {
        size_t end = frag.find('/', i);
        if (end == std::string::npos) end = frag.size();
        std::string token;
        for (size_t k = i; k < end; ++k) {
            if (frag[k] == '~' && k + 1 < end && (frag[k + 1] == '0' || frag[k + 1] == '1')) {
                token += frag[++k] == '0' ? '~' : '/';
            } else {
                token += frag[k];
            }
        }
        if (node->is_object()) {
            auto it = node->find(token);
            if (it == node->end())
                return make_error("{}: '{}' names nothing in the schema", path, ref);
            node = &*it;
        } else if (node->is_array() && !token.empty() && token.size() < 10 &&
                   std::all_of(token.begin(), token.end(),
                               [](char c) { return c >= '0' && c <= '9'; }) &&
                   std::stoul(token) < node->size()) {
            node = &(*node)[std::stoul(token)];
        } else {
            return make_error("{}: '{}' names nothing in the schema", path, ref);
        }
        i = end + 1;
    }
    return node;
}

Expected<uint32_t> SchemaCompiler::compile_ref(const ojson& s, const std::string& path,
                                               size_t depth) {
    for (const auto& [k, _] : s.items())
        if (k != "$ref" && constrains(k))
            return make_error(ErrorCode::Unsupported,
                              "{}: '$ref' together with '{}' is not supported", child_path(path, k),
                              k);
    const auto& ref = s["$ref"].get_ref<const std::string&>();
    auto target = resolve(ref, child_path(path, "$ref"));
    if (!target) return target.error();
    std::string key = percent_decode(std::string_view(ref).substr(1));
    key.insert(key.begin(), '#');
    if (auto it = refs_.find(key); it != refs_.end()) return it->second;
    // Declared before its target is compiled, so recursive schemas refer
    // back to it; one with no way out is left recursion (refused by finish)
    // or has no finite value (refused by prune_unproductive).
    uint32_t rule = b_.declare(root_path_ + key.substr(1));
    refs_[key] = rule;
    auto body = compile(**target, root_path_ + key.substr(1), depth + 1);
    if (!body) return body.error();
    b_.define(rule, {{GrammarBuilder::ref(*body)}});
    return rule;
}

Expected<uint32_t> SchemaCompiler::compile_any_of(const ojson& s, const std::string& path,
                                                  size_t depth) {
    if (has(s, "anyOf") && has(s, "oneOf"))
        return make_error(ErrorCode::Unsupported,
                          "{}: 'anyOf' together with 'oneOf' is not supported", path);
    // oneOf is compiled as anyOf, which is exact only when no value matches
    // two alternatives (tagged unions, different types, distinct constants):
    // alternatives that may overlap are refused rather than decoded into
    // values a validator rejects.
    const char* key = has(s, "anyOf") ? "anyOf" : "oneOf";
    const bool one_of = key == std::string_view("oneOf");
    const RefResolver resolver = [this](const std::string& r, const std::string& p) {
        return resolve(r, p);
    };
    ojson siblings = ojson::object();
    for (const auto& [k, v] : s.items())
        if (k != key && k != "nullable" && constrains(k)) siblings[k] = v;
    const ojson& list = s[key];
    std::vector<ojson> effective;  // each alternative with the siblings merged in
    for (size_t i = 0; i < list.size(); ++i) {
        if (siblings.empty()) {
            effective.push_back(list[i]);
            continue;
        }
        std::string sub_path = child_path(child_path(path, key), std::to_string(i));
        auto merged = merge_schemas(siblings, list[i], sub_path, resolver);
        if (!merged) return merged.error();
        effective.push_back(std::move(merged).value());
    }
    if (one_of)
        for (size_t i = 0; i < effective.size(); ++i)
            for (size_t j = i + 1; j < effective.size(); ++j)
                if (!schemas_disjoint(effective[i], effective[j], resolver))
                    return make_error(ErrorCode::Unsupported,
                                      "{}: alternatives {} and {} may both match one value; "
                                      "oneOf is supported where no value matches two "
                                      "alternatives (different types, distinct const/enum "
                                      "values, or objects with a required property of distinct "
                                      "const values); use anyOf otherwise",
                                      child_path(path, key), i, j);
    std::vector<Sequence> alts;
    for (size_t i = 0; i < effective.size(); ++i) {
        std::string sub_path = child_path(child_path(path, key), std::to_string(i));
        auto rule = compile(effective[i], sub_path, depth + 1);
        if (!rule) return rule.error();
        alts.push_back({GrammarBuilder::ref(*rule)});
    }
    if (s.value("nullable", false)) alts.push_back({GrammarBuilder::ref(v_.null())});
    return b_.add_rule(path, std::move(alts));
}

Expected<uint32_t> SchemaCompiler::compile_enum(const ojson& s, const std::string& path) {
    for (const auto& [k, _] : s.items())
        if (constrains(k) && k != "enum" && k != "const" && k != "type" && k != "nullable")
            return make_error(ErrorCode::Unsupported,
                              "{}: '{}' together with enum or const is not supported",
                              child_path(path, k), k);
    std::vector<std::pair<const ojson*, std::string>> values;  // value, its path
    if (auto e = s.find("enum"); e != s.end()) {
        for (size_t i = 0; i < e->size(); ++i)
            values.push_back({&(*e)[i], child_path(child_path(path, "enum"), std::to_string(i))});
    }
    if (auto c = s.find("const"); c != s.end()) {
        if (has(s, "enum")) {
            std::erase_if(values, [&](const auto& v) { return *v.first != *c; });
        } else {
            values.push_back({&*c, child_path(path, "const")});
        }
    }
    std::vector<std::string> types = schema_types(s);
    if (!types.empty() && s.value("nullable", false)) types.push_back("null");
    if (!types.empty()) {
        std::erase_if(values, [&](const auto& v) {
            return std::none_of(types.begin(), types.end(),
                                [&](const std::string& t) { return value_has_type(*v.first, t); });
        });
    }
    if (values.empty())
        return make_error("{}: no value of 'enum'/'const' satisfies the schema", path);
    std::vector<std::string> texts;
    for (const auto& [v, p] : values) {
        auto text = json_text(*v, p);
        if (!text) return text.error();
        texts.push_back(std::move(*text));
    }
    return add_string_choice(b_, std::move(texts), path);
}

Expected<uint32_t> SchemaCompiler::compile_typed(const ojson& s, const std::string& path,
                                                 size_t depth) {
    std::vector<std::string> types = inferred_types(s);
    if (types.empty()) return v_.value();
    if (s.value("nullable", false) && std::find(types.begin(), types.end(), "null") == types.end())
        types.push_back("null");
    std::vector<Sequence> alts;
    for (const std::string& t : types) {
        auto rule = compile_type(t, s, path, depth);
        if (!rule) return rule.error();
        alts.push_back({GrammarBuilder::ref(*rule)});
    }
    if (alts.size() == 1) return alts[0][0].index;
    return b_.add_rule(path, std::move(alts));
}

Expected<uint32_t> SchemaCompiler::compile_type(const std::string& type, const ojson& s,
                                                const std::string& path, size_t depth) {
    if (type == "null") return v_.null();
    if (type == "boolean") return v_.boolean();
    if (type == "string") return compile_string(s, path);
    if (type == "integer") return compile_integer(s, path);
    if (type == "number") return compile_number(s, path);
    if (type == "object") return compile_object(s, path, depth);
    return compile_array(s, path, depth);
}

Expected<uint32_t> SchemaCompiler::compile_string(const ojson& s, const std::string& path) {
    const bool lengths = has(s, "minLength") || has(s, "maxLength");
    if (auto p = s.find("pattern"); p != s.end()) {
        for (const char* other : {"minLength", "maxLength", "format"})
            if (has(s, other))
                return make_error(ErrorCode::Unsupported,
                                  "{}: 'pattern' together with '{}' is not supported", path, other);
        // JSON Schema patterns match anywhere; the whole string matching is
        // one way to do so, and keeps the model to the pattern.
        auto rule = add_regex(b_, p->get_ref<const std::string&>(), child_path(path, "pattern"),
                              CharEncoding::JsonStringContent);
        if (!rule) return rule.error();
        return b_.add_rule(path, {quoted(*rule)});
    }
    if (auto f = s.find("format"); f != s.end()) {
        const auto& name = f->get_ref<const std::string&>();
        if (lengths)
            return make_error(ErrorCode::Unsupported,
                              "{}: 'format' together with minLength/maxLength is not supported",
                              path);
        auto rule = add_format_rule(b_, name);
        if (!rule)
            return make_error(
                ErrorCode::Unsupported,
                "{}: format '{}' is not supported (supported: date, time, date-time, uuid, "
                "email, ipv4)",
                child_path(path, "format"), name);
        return b_.add_rule(path, {quoted(*rule)});
    }
    uint64_t min = has(s, "minLength") ? *as_count(s["minLength"]) : 0;
    std::optional<uint64_t> max;
    if (has(s, "maxLength")) max = *as_count(s["maxLength"]);
    if (max && min > *max)
        return make_error("{}: minLength {} is above maxLength {}", path, min, *max);
    if (min > kMaxRepeatBound)
        return make_error(ErrorCode::Unsupported, "{}: {} is over the supported {}",
                          child_path(path, "minLength"), min, kMaxRepeatBound);
    if (max && *max > kMaxRepeatBound)
        return make_error(ErrorCode::Unsupported, "{}: {} is over the supported {}",
                          child_path(path, "maxLength"), *max, kMaxRepeatBound);
    if (min == 0 && !max) return v_.string();
    std::optional<uint32_t> max32;
    if (max) max32 = static_cast<uint32_t>(*max);
    uint32_t chars = b_.repeat({GrammarBuilder::ref(v_.string_char())}, static_cast<uint32_t>(min),
                               max32, path + "-chars");
    return b_.add_rule(path, {quoted(chars)});
}

Expected<SchemaCompiler::Bounds> SchemaCompiler::bounds(const ojson& s, const std::string& path,
                                                        bool integer) {
    Bounds out;
    // Draft 4 writes exclusive bounds as booleans beside minimum/maximum.
    auto exclusive_flag = [&](const char* key) {
        return s.value(key, ojson(false)) == ojson(true);
    };
    struct Source {
        const char* key;
        bool lower, exclusive;
    };
    const Source sources[] = {{"minimum", true, exclusive_flag("exclusiveMinimum")},
                              {"exclusiveMinimum", true, true},
                              {"maximum", false, exclusive_flag("exclusiveMaximum")},
                              {"exclusiveMaximum", false, true}};
    for (const Source& src : sources) {
        auto it = s.find(src.key);
        if (it == s.end() || !it->is_number()) continue;  // draft-4 booleans are flags above
        const std::string p = child_path(path, src.key);
        double d = it->get<double>();
        if (src.exclusive && std::fabs(d) > kExactDoubleLimit)
            return make_error(ErrorCode::Unsupported,
                              "{}: an exclusive bound beyond 2^53 is not supported", p);
        if (!integer && (!integral(*it) || std::fabs(d) > 9.99e18))
            return make_error(
                ErrorCode::Unsupported,
                "{}: {} on a number is not supported (only integer bounds up to 1e19 are exact)", p,
                it->dump());
        // Integers: the least (lower) or greatest (upper) integer allowed;
        // rounding a non-integer bound inwards already excludes it.
        IntBound b = to_int_bound(*it, src.lower);
        if (b.infinite != 0) {
            if (src.lower == (b.infinite > 0))
                return make_error(ErrorCode::Unsupported,
                                  "{}: bounds beyond 19 digits are not supported", p);
            continue;  // no limit within the integers written
        }
        NumberBound nb{b.value, src.exclusive};
        if (integer && src.exclusive && integral(*it)) nb.value += src.lower ? 1 : -1;
        if (integer) nb.exclusive = false;
        auto tighter = [&](const std::optional<NumberBound>& old) {
            if (!old) return true;
            if (nb.value != old->value)
                return src.lower ? nb.value > old->value : nb.value < old->value;
            return nb.exclusive && !old->exclusive;
        };
        auto& slot = src.lower ? out.lo : out.hi;
        if (tighter(slot)) slot = nb;
    }
    // Number formats (ajv-formats, OpenAPI): int32/int64 are integer ranges;
    // float and double ask for nothing more.
    if (auto f = s.find("format"); f != s.end()) {
        const auto& name = f->get_ref<const std::string&>();
        std::optional<std::pair<BigInt, BigInt>> range;
        if (name == "int32") range = {{-BigInt{2147483648LL}, BigInt{2147483647LL}}};
        if (name == "int64") range = {{-BigInt{INT64_MAX} - 1, BigInt{INT64_MAX}}};
        if (!range && name != "float" && name != "double")
            return make_error(ErrorCode::Unsupported,
                              "{}: format '{}' is not supported for numbers (supported: int32, "
                              "int64, float, double)",
                              child_path(path, "format"), name);
        if (range) {
            if (!out.lo || out.lo->value < range->first) out.lo = NumberBound{range->first, false};
            if (!out.hi || out.hi->value > range->second)
                out.hi = NumberBound{range->second, false};
        }
    }
    if (out.lo && out.hi &&
        (out.lo->value > out.hi->value ||
         (out.lo->value == out.hi->value && (out.lo->exclusive || out.hi->exclusive))))
        return make_error("{}: no {} satisfies both the lower and the upper bound", path,
                          integer ? "integer" : "number");
    return out;
}

Expected<uint32_t> SchemaCompiler::compile_integer(const ojson& s, const std::string& path) {
    auto b = bounds(s, path, true);
    if (!b) return b.error();
    if (!b->lo && !b->hi) return v_.integer();
    auto value = [](const std::optional<NumberBound>& nb) {
        return nb ? std::optional<BigInt>(nb->value) : std::nullopt;
    };
    return bounded_integer_rule(b_, value(b->lo), value(b->hi), path);
}

Expected<uint32_t> SchemaCompiler::compile_number(const ojson& s, const std::string& path) {
    if (s.value("format", "") == "int32" || s.value("format", "") == "int64")
        return compile_integer(s, path);
    auto b = bounds(s, path, false);
    if (!b) return b.error();
    if (!b->lo && !b->hi) return v_.number();
    return bounded_number_rule(v_, b->lo, b->hi, path);
}

}  // namespace ig::grammar
