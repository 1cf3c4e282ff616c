#include "schema_check.h"

#include <cmath>
#include <regex>

#include <fmt/format.h>

namespace ig::grammar::test {

namespace {

using ojson = nlohmann::ordered_json;

size_t code_points(const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

bool has_type(const ojson& v, const std::string& t) {
    if (t == "null") return v.is_null();
    if (t == "boolean") return v.is_boolean();
    if (t == "string") return v.is_string();
    if (t == "number") return v.is_number();
    if (t == "integer") {
        if (v.is_number_integer()) return true;
        return v.is_number_float() && std::floor(v.get<double>()) == v.get<double>();
    }
    if (t == "object") return v.is_object();
    if (t == "array") return v.is_array();
    return false;
}

bool leap(int y) {
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

bool valid_date(const std::string& s) {
    static const std::regex re(R"(^(\d{4})-(\d{2})-(\d{2})$)");
    std::smatch m;
    if (!std::regex_match(s, m, re)) return false;
    int y = std::stoi(m[1]), mo = std::stoi(m[2]), d = std::stoi(m[3]);
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || mo < 1 || mo > 12 || d < 1) return false;
    return d <= days[mo - 1] + (mo == 2 && leap(y) ? 1 : 0);
}

bool valid_time(const std::string& s) {
    static const std::regex re(
        R"(^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|z|[+-]([01]\d|2[0-3]):[0-5]\d)$)");
    return std::regex_match(s, re);
}

bool valid_format(const std::string& f, const std::string& s) {
    if (f == "date") return valid_date(s);
    if (f == "time") return valid_time(s);
    if (f == "date-time") {
        auto t = s.find('T');
        return t != std::string::npos && valid_date(s.substr(0, t)) && valid_time(s.substr(t + 1));
    }
    if (f == "uuid")
        return std::regex_match(s,
                                std::regex("^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$"));
    if (f == "email")
        return std::regex_match(
            s,
            std::regex(
                R"(^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]*[a-z0-9])?$)",
                std::regex::icase));
    if (f == "ipv4")
        return std::regex_match(
            s,
            std::regex(
                R"(^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$)"));
    return false;
}

class Checker {
  public:
    explicit Checker(const ojson& root) : root_(root) {}

    std::string check(const ojson& s, const ojson& v, const std::string& at, int depth = 0) {
        if (depth > 200) return "too deep";
        if (s.is_boolean()) return s.get<bool>() ? "" : at + ": false schema";
        if (auto r = s.find("$ref"); r != s.end()) {
            std::string ref = r->get<std::string>();
            const ojson* t = &root_;
            if (ref != "#") t = &root_.at(ojson::json_pointer(ref.substr(1)));
            return check(*t, v, at, depth + 1);
        }
        if (s.value("nullable", false) && v.is_null()) return "";
        if (auto t = s.find("type"); t != s.end()) {
            bool ok = false;
            if (t->is_string()) ok = has_type(v, t->get<std::string>());
            for (const auto& x : *t)
                if (x.is_string()) ok = ok || has_type(v, x.get<std::string>());
            if (!ok) return fmt::format("{}: type {} wanted, got {}", at, t->dump(), v.dump());
        }
        if (auto e = s.find("enum"); e != s.end()) {
            bool found = false;
            for (const auto& x : *e) found = found || x == v;
            if (!found) return at + ": not in enum: " + v.dump();
        }
        if (auto c = s.find("const"); c != s.end() && *c != v)
            return at + ": not const: " + v.dump();
        if (auto a = s.find("allOf"); a != s.end())
            for (const auto& x : *a)
                if (auto e = check(x, v, at, depth + 1); !e.empty()) return e;
        if (auto a = s.find("anyOf"); a != s.end()) {
            bool any = false;
            for (const auto& x : *a) any = any || check(x, v, at, depth + 1).empty();
            if (!any) return at + ": no anyOf matches " + v.dump();
        }
        if (auto a = s.find("oneOf"); a != s.end()) {
            int n = 0;
            for (const auto& x : *a) n += check(x, v, at, depth + 1).empty();
            if (n != 1) return fmt::format("{}: {} oneOf alternatives match {}", at, n, v.dump());
        }
        if (v.is_string()) return check_string(s, v.get<std::string>(), at);
        if (v.is_number()) return check_number(s, v, at);
        if (v.is_object()) return check_object(s, v, at, depth);
        if (v.is_array()) return check_array(s, v, at, depth);
        return "";
    }

  private:
    std::string check_string(const ojson& s, const std::string& str, const std::string& at) {
        size_t n = code_points(str);
        if (s.contains("minLength") && n < s["minLength"].get<size_t>()) return at + ": too short";
        if (s.contains("maxLength") && n > s["maxLength"].get<size_t>()) return at + ": too long";
        if (auto p = s.find("pattern");
            p != s.end() && !std::regex_search(str, std::regex(p->get<std::string>())))
            return at + ": pattern fails on " + str;
        if (auto f = s.find("format"); f != s.end() && !valid_format(f->get<std::string>(), str))
            return at + ": format " + f->get<std::string>() + " fails on " + str;
        return "";
    }

    std::string check_number(const ojson& s, const ojson& v, const std::string& at) {
        // long double keeps 64-bit integers exact.
        auto num = [](const ojson& x) -> long double {
            if (x.is_number_unsigned()) return static_cast<long double>(x.get<uint64_t>());
            if (x.is_number_integer()) return static_cast<long double>(x.get<int64_t>());
            return x.get<double>();
        };
        long double x = num(v);
        if (s.contains("minimum") && x < num(s["minimum"]))
            return at + ": below minimum: " + v.dump();
        if (s.contains("maximum") && x > num(s["maximum"]))
            return at + ": above maximum: " + v.dump();
        if (s.contains("exclusiveMinimum") && x <= num(s["exclusiveMinimum"]))
            return at + ": <= exclusiveMinimum";
        if (s.contains("exclusiveMaximum") && x >= num(s["exclusiveMaximum"]))
            return at + ": >= exclusiveMaximum";
        return "";
    }

    std::string check_object(const ojson& s, const ojson& v, const std::string& at, int depth) {
        static const ojson empty = ojson::object();
        const ojson& props = s.contains("properties") ? s["properties"] : empty;
        if (auto r = s.find("required"); r != s.end())
            for (const auto& name : *r)
                if (!v.contains(name.get<std::string>()))
                    return at + ": missing " + name.get<std::string>();
        for (const auto& [k, x] : v.items()) {
            if (auto p = props.find(k); p != props.end()) {
                if (auto e = check(*p, x, at + "/" + k, depth + 1); !e.empty()) return e;
            } else if (auto a = s.find("additionalProperties"); a != s.end()) {
                if (auto e = check(*a, x, at + "/" + k, depth + 1); !e.empty()) return e;
            }
        }
        return "";
    }

    std::string check_array(const ojson& s, const ojson& v, const std::string& at, int depth) {
        if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>())
            return at + ": too few items";
        if (s.contains("maxItems") && v.size() > s["maxItems"].get<size_t>())
            return at + ": too many items";
        const ojson* prefix = s.contains("prefixItems") ? &s["prefixItems"] : nullptr;
        const ojson* rest = s.contains("items") ? &s["items"] : nullptr;
        if (!prefix && rest && rest->is_array()) {
            prefix = rest;
            rest = s.contains("additionalItems") ? &s["additionalItems"] : nullptr;
        }
        for (size_t i = 0; i < v.size(); ++i) {
            const ojson* sub = prefix && i < prefix->size() ? &(*prefix)[i] : rest;
            if (sub)
                if (auto e = check(*sub, v[i], at + "/" + std::to_string(i), depth + 1); !e.empty())
                    return e;
        }
        return "";
    }

    const ojson& root_;
};

}  // namespace

std::string schema_violation(const nlohmann::ordered_json& schema,
                             const nlohmann::ordered_json& value) {
    return Checker(schema).check(schema, value, "");
}

}  // namespace ig::grammar::test
