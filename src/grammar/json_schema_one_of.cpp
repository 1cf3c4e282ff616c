#include "grammar/json_schema_one_of.h"

#include <algorithm>
#include <optional>
#include <set>
#include <vector>

namespace ig::grammar {

namespace {

const ojson* follow(const ojson& s, const RefResolver& resolve) {
    const ojson* cur = &s;
    for (int hops = 0; hops < 32; ++hops) {
        if (!cur->is_object() || !cur->contains("$ref") || !(*cur)["$ref"].is_string()) return cur;
        auto next = resolve((*cur)["$ref"].get<std::string>(), "");
        if (!next.ok() || !*next) return nullptr;
        cur = *next;
    }
    return nullptr;
}

// The values the schema allows when it lists them (const / enum).
std::optional<std::vector<ojson>> listed_values(const ojson& s) {
    if (!s.is_object()) return std::nullopt;
    if (auto c = s.find("const"); c != s.end()) return std::vector<ojson>{*c};
    if (auto e = s.find("enum"); e != s.end() && e->is_array())
        return std::vector<ojson>(e->begin(), e->end());
    return std::nullopt;
}

// The JSON types a value valid under `s` can have; empty: any type (no
// `type` keyword: JSON Schema's other keywords do not restrict the type).
std::set<std::string> types_of(const ojson& s) {
    std::set<std::string> out;
    for (const std::string& t : schema_types(s)) out.insert(t == "integer" ? "number" : t);
    return out;
}

bool value_allowed_by_types(const ojson& v, const std::set<std::string>& types) {
    if (types.empty()) return true;
    for (const std::string& t : types)
        if (value_has_type(v, t)) return true;
    return false;
}

std::set<std::string> required_of(const ojson& s) {
    std::set<std::string> r;
    if (auto it = s.find("required"); it != s.end() && it->is_array())
        for (const auto& n : *it)
            if (n.is_string()) r.insert(n.get<std::string>());
    return r;
}

// `a` requires a property that `b` (closed: additionalProperties false) has no place for.
bool requires_what_the_other_forbids(const ojson& a, const ojson& b) {
    const auto ap = b.find("additionalProperties");
    if (ap == b.end() || *ap != false) return false;
    const auto props = b.find("properties");
    for (const std::string& name : required_of(a))
        if (props == b.end() || !props->is_object() || !props->contains(name)) return true;
    return false;
}

// A required property of both objects whose listed values never meet.
bool told_apart_by_a_tag(const ojson& a, const ojson& b, const RefResolver& resolve) {
    const auto ra = required_of(a), rb = required_of(b);
    const auto pa = a.find("properties"), pb = b.find("properties");
    if (pa == a.end() || pb == b.end() || !pa->is_object() || !pb->is_object()) return false;
    for (const std::string& name : ra) {
        if (!rb.count(name) || !pa->contains(name) || !pb->contains(name)) continue;
        const ojson* sa = follow((*pa)[name], resolve);
        const ojson* sb = follow((*pb)[name], resolve);
        if (!sa || !sb) continue;
        auto va = listed_values(*sa), vb = listed_values(*sb);
        if (!va || !vb) continue;
        const bool meet = std::any_of(va->begin(), va->end(), [&](const ojson& x) {
            return std::find(vb->begin(), vb->end(), x) != vb->end();
        });
        if (!meet) return true;
    }
    return false;
}

}  // namespace

bool schemas_disjoint(const ojson& a_in, const ojson& b_in, const RefResolver& resolve) {
    const ojson* a = follow(a_in, resolve);
    const ojson* b = follow(b_in, resolve);
    if (!a || !b || !a->is_object() || !b->is_object()) return false;
    const auto va = listed_values(*a), vb = listed_values(*b);
    const auto ta = types_of(*a), tb = types_of(*b);
    if (va && vb)
        return std::none_of(va->begin(), va->end(), [&](const ojson& x) {
            return std::find(vb->begin(), vb->end(), x) != vb->end();
        });
    if (va)
        return std::none_of(va->begin(), va->end(),
                            [&](const ojson& x) { return value_allowed_by_types(x, tb); });
    if (vb)
        return std::none_of(vb->begin(), vb->end(),
                            [&](const ojson& x) { return value_allowed_by_types(x, ta); });
    if (ta.empty() || tb.empty()) return false;
    std::vector<std::string> both;
    std::set_intersection(ta.begin(), ta.end(), tb.begin(), tb.end(), std::back_inserter(both));
    if (both.empty()) return true;
    return both == std::vector<std::string>{"object"} &&
           (told_apart_by_a_tag(*a, *b, resolve) || requires_what_the_other_forbids(*a, *b) ||
            requires_what_the_other_forbids(*b, *a));
}

}  // namespace ig::grammar
