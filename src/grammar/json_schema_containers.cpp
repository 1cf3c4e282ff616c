// Objects and arrays of the JSON Schema compiler (json_schema_compiler.h).
#include <algorithm>
#include <map>
#include <set>

#include "grammar/code_points.h"
#include "grammar/expr.h"
#include "grammar/json_schema_compiler.h"

namespace ig::grammar {

namespace {

Sequence cat(Sequence a, const Sequence& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

}  // namespace

uint32_t SchemaCompiler::key_not_in(const std::vector<std::string>& names,
                                    const std::string& path) {
    // A trie of the names over code points: at each node the key may end
    // (unless a name ends there), go on along a name, or leave every name
    // behind with any other character and then anything. Names with
    // characters that need escapes are left out: such keys are never made.
    if (auto it = keys_not_in_.find(names); it != keys_not_in_.end()) return it->second;
    static const CodeSet plain = {{0x20, 0x21}, {0x23, 0x5B}, {0x5D, kMaxCodePoint}};
    struct Node {
        std::map<char32_t, size_t> kids;
        bool terminal = false;
    };
    std::vector<Node> trie(1);
    for (const std::string& name : names) {
        std::u32string cps;
        bool ok = true;
        for (size_t i = 0; i < name.size() && ok;) {
            char32_t c = 0;
            size_t n = decode_utf8(name, i, c);
            ok = n > 0 && contains(plain, c);
            cps.push_back(c);
            i += n ? n : 1;
        }
        if (!ok) continue;
        size_t at = 0;
        for (char32_t c : cps) {
            auto it = trie[at].kids.find(c);
            if (it == trie[at].kids.end()) {
                trie.push_back({});
                it = trie[at].kids.emplace(c, trie.size() - 1).first;
            }
            at = it->second;
        }
        trie[at].terminal = true;
    }
    if (!key_rest_) {
        uint32_t rest =
            b_.repeat({GrammarBuilder::ref(v_.plain_char())}, 0, std::nullopt, "key-rest");
        key_rest_ = b_.add_rule("key-rest", {{GrammarBuilder::ref(rest), b_.byte('"')}});
    }
    std::vector<uint32_t> rules;
    for (size_t i = 0; i < trie.size(); ++i) rules.push_back(b_.declare(path + "-key"));
    for (size_t i = 0; i < trie.size() && !b_.over_limit(); ++i) {
        std::vector<Sequence> alts;
        if (!trie[i].terminal) alts.push_back({b_.byte('"')});
        CodeSet taken;
        for (auto [c, kid] : trie[i].kids) {
            alts.push_back(cat(b_.literal(encode_utf8(c)), {GrammarBuilder::ref(rules[kid])}));
            taken.push_back({c, c});
        }
        CodeSet other = intersect(plain, complement(make_code_set(taken)));
        if (!other.empty()) {
            auto [cls, fresh] = key_classes_.emplace(other, 0);
            if (fresh) cls->second = b_.char_class(other, false, path + "-key-char");
            alts.push_back({GrammarBuilder::ref(cls->second), GrammarBuilder::ref(*key_rest_)});
        }
        b_.define(rules[i], std::move(alts));
    }
    uint32_t key = b_.add_rule(path + "-key", {{b_.byte('"'), GrammarBuilder::ref(rules[0])}});
    keys_not_in_.emplace(names, key);
    return key;
}

Expected<uint32_t> SchemaCompiler::compile_object(const ojson& s, const std::string& path,
                                                  size_t depth) {
    static const ojson kNoProperties = ojson::object();
    auto p = s.find("properties");
    const ojson& props = p != s.end() ? *p : kNoProperties;
    std::vector<std::string> required;
    if (auto r = s.find("required"); r != s.end())
        for (const auto& name : *r)
            if (std::find(required.begin(), required.end(), name.get_ref<const std::string&>()) ==
                required.end())
                required.push_back(name.get<std::string>());
    const std::set<std::string> required_set(required.begin(), required.end());
    auto a = s.find("additionalProperties");
    const ojson* additional = a != s.end() ? &*a : nullptr;
    if (opt_.strict) {
        if (!additional || *additional != ojson(false))
            return make_error(
                ErrorCode::Invalid,
                "{}: strict mode requires \"additionalProperties\": false on every object", path);
        for (const auto& [name, _] : props.items())
            if (!required_set.count(name))
                return make_error(
                    "{}: strict mode requires every property in 'required' ('{}' is not)",
                    child_path(path, "required"), name);
    }
    const bool closed = additional && *additional == ojson(false);
    std::optional<uint32_t> additional_value;
    auto additional_rule = [&]() -> Expected<uint32_t> {
        if (!additional_value) {
            if (additional && additional->is_object()) {
                auto r = compile(*additional, child_path(path, "additionalProperties"), depth + 1);
                if (!r) return r.error();
                additional_value = *r;
            } else {
                additional_value = v_.value();
            }
        }
        return *additional_value;
    };

    struct Item {
        uint32_t kv;
        bool required;
    };
    std::vector<Item> items;
    std::vector<std::string> names;
    auto add_item = [&](const std::string& name, uint32_t value,
                        const std::string& item_path) -> Status {
        auto key = json_text(ojson(name), item_path);
        if (!key) return key.error();
        Sequence kv = cat(cat(b_.literal(*key), v_.ws()), cat({b_.byte(':')}, v_.ws()));
        kv.push_back(GrammarBuilder::ref(value));
        items.push_back({b_.add_rule(item_path, {std::move(kv)}), required_set.count(name) > 0});
        names.push_back(name);
        return {};
    };
    for (const auto& [name, sub] : props.items()) {
        std::string item_path = child_path(child_path(path, "properties"), name);
        auto value = compile(sub, item_path, depth + 1);
        if (!value) return value.error();
        IG_TRY(add_item(name, *value, item_path));
    }
    for (const std::string& name : required) {
        if (props.find(name) != props.end()) continue;
        if (closed)
            return make_error(
                "{}: '{}' is required but is not in properties and additionalProperties is false",
                child_path(path, "required"), name);
        auto value = additional_rule();
        if (!value) return value.error();
        IG_TRY(add_item(name, *value, child_path(path, "required")));
    }

    // T: what may follow once a member is out (each next one after a
    // comma), nullopt for nothing; N: the members when none is out yet,
    // at least one, nullopt when there can be none.
    std::optional<uint32_t> more, first;
    if (!closed) {
        auto value = additional_rule();
        if (!value) return value.error();
        Sequence kv = cat(cat({GrammarBuilder::ref(key_not_in(names, path))}, v_.ws()),
                          cat({b_.byte(':')}, v_.ws()));
        kv.push_back(GrammarBuilder::ref(*value));
        uint32_t extra = b_.add_rule(path + "-additional", {std::move(kv)});
        more = b_.declare(path + "-more");
        b_.define(*more,
                  {cat(v_.comma(), {GrammarBuilder::ref(extra), GrammarBuilder::ref(*more)}), {}});
        first = b_.add_rule(path + "-members",
                            {{GrammarBuilder::ref(extra), GrammarBuilder::ref(*more)}});
    }
    for (size_t i = items.size(); i-- > 0 && !b_.over_limit();) {
        Sequence after;
        if (more) after.push_back(GrammarBuilder::ref(*more));
        Sequence with_comma = cat(cat(v_.comma(), {GrammarBuilder::ref(items[i].kv)}), after);
        Sequence as_first = cat({GrammarBuilder::ref(items[i].kv)}, after);
        if (items[i].required) {
            more = b_.add_rule(path + "-more", {std::move(with_comma)});
            first = b_.add_rule(path + "-members", {std::move(as_first)});
        } else {
            more = b_.add_rule(path + "-more", {std::move(with_comma), after});
            std::vector<Sequence> alts{std::move(as_first)};
            if (first) alts.push_back({GrammarBuilder::ref(*first)});
            first = b_.add_rule(path + "-members", std::move(alts));
        }
    }
    Sequence open = cat({b_.byte('{')}, v_.ws());
    std::vector<Sequence> alts;
    if (first)
        alts.push_back(cat(cat(open, {GrammarBuilder::ref(*first)}), cat(v_.ws(), {b_.byte('}')})));
    if (required.empty()) alts.push_back(cat(open, {b_.byte('}')}));
    return b_.add_rule(path, std::move(alts));
}

Expected<uint32_t> SchemaCompiler::compile_array(const ojson& s, const std::string& path,
                                                 size_t depth) {
    const ojson* prefix = nullptr;
    const ojson* tail = nullptr;  // nullptr: any value
    std::string prefix_key, tail_key = "items";
    auto items = s.find("items");
    if (auto p = s.find("prefixItems"); p != s.end()) {
        prefix = &*p;
        prefix_key = "prefixItems";
        if (items != s.end()) tail = &*items;
    } else if (items != s.end() && items->is_array()) {
        prefix = &*items;  // draft 4: items as a list, then additionalItems
        prefix_key = "items";
        tail_key = "additionalItems";
        if (auto x = s.find("additionalItems"); x != s.end()) tail = &*x;
    } else if (items != s.end()) {
        tail = &*items;
    }
    const bool tail_allowed = !(tail && *tail == ojson(false));
    const uint64_t k = prefix ? prefix->size() : 0;
    uint64_t min = s.find("minItems") != s.end() ? *as_count(s["minItems"]) : 0;
    std::optional<uint64_t> max;
    if (s.find("maxItems") != s.end()) max = *as_count(s["maxItems"]);
    if (!tail_allowed) max = std::min(max.value_or(k), k);
    if (max && min > *max)
        return make_error("{}: minItems {} is above the most items allowed ({})", path, min, *max);
    if (min > kMaxRepeatBound)
        return make_error(ErrorCode::Unsupported, "{}: {} is over the supported {}",
                          child_path(path, "minItems"), min, kMaxRepeatBound);
    if (max && *max > kMaxRepeatBound)
        return make_error(ErrorCode::Unsupported, "{}: {} is over the supported {}",
                          child_path(path, "maxItems"), *max, kMaxRepeatBound);
    const uint64_t used = max ? std::min(k, *max) : k;
    std::vector<uint32_t> positions;
    for (uint64_t j = 0; j < used; ++j) {
        auto r = compile((*prefix)[j], child_path(child_path(path, prefix_key), std::to_string(j)),
                         depth + 1);
        if (!r) return r.error();
        positions.push_back(*r);
    }
    std::optional<uint32_t> tail_rule;
    if (tail_allowed && (!max || *max > used)) {
        if (tail) {
            auto r = compile(*tail, child_path(path, tail_key), depth + 1);
            if (!r) return r.error();
            tail_rule = *r;
        } else {
            tail_rule = v_.value();
        }
    }
    auto opt32 = [](std::optional<uint64_t> v) -> std::optional<uint32_t> {
        if (!v) return std::nullopt;
        return static_cast<uint32_t>(*v);
    };
    std::optional<Sequence> body;  // one or more items
    if (used == 0) {
        if (tail_rule) {
            Sequence item = cat(v_.comma(), {GrammarBuilder::ref(*tail_rule)});
            uint32_t rest = b_.repeat(item, static_cast<uint32_t>(std::max<uint64_t>(min, 1) - 1),
                                      opt32(max ? std::optional<uint64_t>(*max - 1) : std::nullopt),
                                      path + "-items");
            body = Sequence{GrammarBuilder::ref(*tail_rule), GrammarBuilder::ref(rest)};
        }
    } else {
        std::optional<uint32_t> rest;
        if (tail_rule) {
            Sequence item = cat(v_.comma(), {GrammarBuilder::ref(*tail_rule)});
            rest = b_.repeat(item, static_cast<uint32_t>(min > used ? min - used : 0),
                             opt32(max ? std::optional<uint64_t>(*max - used) : std::nullopt),
                             path + "-items");
        }
        for (uint64_t j = used - 1; j >= 1; --j) {
            Sequence seq = cat(v_.comma(), {GrammarBuilder::ref(positions[j])});
            if (rest) seq.push_back(GrammarBuilder::ref(*rest));
            if (j + 1 <= min)
                rest = b_.add_rule(path + "-rest", {std::move(seq)});
            else
                rest = b_.add_rule(path + "-rest", {std::move(seq), {}});
        }
        body = Sequence{GrammarBuilder::ref(positions[0])};
        if (rest) body->push_back(GrammarBuilder::ref(*rest));
    }
    Sequence open = cat({b_.byte('[')}, v_.ws());
    std::vector<Sequence> alts;
    if (body) alts.push_back(cat(cat(open, *body), cat(v_.ws(), {b_.byte(']')})));
    if (min == 0) alts.push_back(cat(open, {b_.byte(']')}));
    return b_.add_rule(path, std::move(alts));
}

}  // namespace ig::grammar
