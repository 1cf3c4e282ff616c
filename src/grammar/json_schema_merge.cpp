#include "grammar/json_schema_merge.h"

#include <algorithm>
#include <set>

namespace ig::grammar {

namespace {

constexpr size_t kMaxMergeDepth = 32;
// Parts folded into one merge, $ref targets included: a $ref reached twice
// is folded twice, so without a cap nested allOf of $refs grow exponentially.
constexpr size_t kMaxMergeParts = 1000;

struct Closed {
    std::set<std::string> names;  // the part's own properties
    std::string path;
};

class Merger {
  public:
    Merger(const RefResolver& resolve) : resolve_(resolve) {}

    Status add(const ojson& part, const std::string& path, size_t depth) {
        if (depth > kMaxMergeDepth)
            return make_error("{}: allOf nested deeper than {} (or a $ref cycle inside allOf)",
                              path, kMaxMergeDepth);
        if (part.is_boolean()) {
            if (part.get<bool>()) return {};
            return make_error("{}: a false schema in allOf admits no value", path);
        }
        if (!part.is_object())
            return make_error("{}: a schema must be an object or a boolean", path);
        IG_TRY(check_keywords(part, path));
        if (++parts_ > kMaxMergeParts)
            return make_error(ErrorCode::Unsupported, "{}: allOf expands to more than {} schemas",
                              path, kMaxMergeParts);
        if (auto it = part.find("$ref"); it != part.end()) {
            const auto& ref = it->get_ref<const std::string&>();
            auto target = resolve_(ref, child_path(path, "$ref"));
            if (!target) return target.error();
            IG_TRY(add(**target, path + "(" + ref + ")", depth + 1));
        }
        if (auto it = part.find("allOf"); it != part.end()) {
            for (size_t i = 0; i < it->size(); ++i)
                IG_TRY(add((*it)[i], child_path(child_path(path, "allOf"), std::to_string(i)),
                           depth + 1));
        }
        if (part.value("nullable", false)) ++nullable_parts_;
        if (auto it = part.find("additionalProperties"); it != part.end() && *it != ojson(true)) {
            Closed c{{}, child_path(path, "additionalProperties")};
            if (auto p = part.find("properties"); p != part.end())
                for (const auto& [name, _] : p->items()) c.names.insert(name);
            closed_.push_back(std::move(c));
        }
        for (const auto& [key, v] : part.items()) {
            if (key == "$ref" || key == "allOf" || key == "nullable" || !constrains(key)) continue;
            IG_TRY(add_keyword(key, v, path));
        }
        return {};
    }

    Expected<ojson> finish(const std::string& path) {
        if (nullable_parts_ == parts_ && parts_ > 0) acc_["nullable"] = true;
        if (auto p = acc_.find("properties"); p != acc_.end()) {
            for (const Closed& c : closed_)
                for (const auto& [name, _] : p->items())
                    if (!c.names.count(name))
                        return make_error(
                            "{}: cannot merge: additionalProperties there excludes property '{}' "
                            "of another part",
                            c.path, name);
        }
        (void)path;
        return std::move(acc_);
    }

  private:
    Status add_keyword(const std::string& key, const ojson& v, const std::string& path) {
        auto it = acc_.find(key);
        if (it == acc_.end()) {
            acc_[key] = v;
            return {};
        }
        ojson& old = *it;
        if (key == "type") return merge_types(old, v, path);
        if (key == "properties") {
            for (const auto& [name, sub] : v.items()) {
                auto p = old.find(name);
                if (p == old.end())
                    old[name] = sub;
                else if (*p != sub)
                    *p = ojson{{"allOf", ojson::array({*p, sub})}};
            }
            return {};
        }
        if (key == "required") {
            for (const auto& name : v)
                if (std::find(old.begin(), old.end(), name) == old.end()) old.push_back(name);
            return {};
        }
        if (key == "items" && old.is_object() && v.is_object()) {
            if (old != v) old = ojson{{"allOf", ojson::array({old, v})}};
            return {};
        }
        const bool lower = key == "minimum" || key == "minLength" || key == "minItems" ||
                           (key == "exclusiveMinimum" && v.is_number() && old.is_number());
        const bool upper = key == "maximum" || key == "maxLength" || key == "maxItems" ||
                           (key == "exclusiveMaximum" && v.is_number() && old.is_number());
        if (lower || upper) {
            // Compare as doubles only to choose; the chosen JSON value is kept as written.
            bool take_new =
                lower ? v.get<double>() > old.get<double>() : v.get<double>() < old.get<double>();
            if (take_new) old = v;
            return {};
        }
        if (old != v)
            return make_error(ErrorCode::Unsupported,
                              "{}: allOf parts give different '{}', which cannot be merged",
                              child_path(path, key), key);
        return {};
    }

    Status merge_types(ojson& old, const ojson& v, const std::string& path) {
        auto list = [](const ojson& t) {
            std::vector<std::string> out;
            if (t.is_string()) return std::vector<std::string>{t.get<std::string>()};
            for (const auto& x : t)
                if (x.is_string()) out.push_back(x.get<std::string>());
            return out;
        };
        auto a = list(old), b = list(v);
        std::vector<std::string> both;
        for (const auto& t : a) {
            bool in_b = std::find(b.begin(), b.end(), t) != b.end();
            if (in_b || (t == "integer" && std::find(b.begin(), b.end(), "number") != b.end()))
                both.push_back(t);
            else if (t == "number" && std::find(b.begin(), b.end(), "integer") != b.end())
                both.push_back("integer");
        }
        if (both.empty())
            return make_error("{}: allOf parts allow no common type", child_path(path, "type"));
        old = both.size() == 1 ? ojson(both[0]) : ojson(both);
        return {};
    }

    const RefResolver& resolve_;
    ojson acc_ = ojson::object();
    std::vector<Closed> closed_;
    size_t parts_ = 0, nullable_parts_ = 0;
};

}  // namespace

Expected<ojson> merge_all_of(const ojson& s, const std::string& path, const RefResolver& resolve) {
    Merger m(resolve);
    IG_TRY(m.add(s, path, 0));  // folds "allOf" in
    return m.finish(path);
}

Expected<ojson> merge_schemas(const ojson& a, const ojson& b, const std::string& path,
                              const RefResolver& resolve) {
    Merger m(resolve);
    IG_TRY(m.add(a, path, 0));
    IG_TRY(m.add(b, path, 0));
    return m.finish(path);
}

}  // namespace ig::grammar
