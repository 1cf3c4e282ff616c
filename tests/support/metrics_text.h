#pragma once
// A strict reader of the Prometheus text format for the metrics tests:
// every line must be a HELP/TYPE comment or a well-formed sample whose
// family was declared before it; it collects samples by name and labels.
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace ig::test {

struct Sample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
};

struct Exposition {
    std::vector<Sample> samples;
    std::map<std::string, std::string> types;  // family name -> type
    std::vector<std::string> errors;           // format problems found

    // Sum of the samples named `name` whose labels include `match`.
    double sum(const std::string& name,
               const std::map<std::string, std::string>& match = {}) const {
        double s = 0;
        for (const Sample& x : samples) {
            if (x.name != name) continue;
            bool ok = true;
            for (const auto& [k, v] : match)
                if (!x.labels.count(k) || x.labels.at(k) != v) ok = false;
            if (ok) s += x.value;
        }
        return s;
    }
    bool has(const std::string& name) const {
        for (const Sample& x : samples)
            if (x.name == name) return true;
        return false;
    }
};

inline std::string unescape_label(const std::string& v) {
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '\\' && i + 1 < v.size()) {
            ++i;
            out += v[i] == 'n' ? '\n' : v[i];
        } else {
            out += v[i];
        }
    }
    return out;
}

inline Exposition parse_exposition(const std::string& text) {
    Exposition e;
    static const std::regex help_re(R"(# HELP ([a-zA-Z_][a-zA-Z0-9_]*) .*)");
    static const std::regex type_re(
        R"(# TYPE ([a-zA-Z_][a-zA-Z0-9_]*) (counter|gauge|histogram|summary|untyped))");
    static const std::regex sample_re(
        R"(([a-zA-Z_][a-zA-Z0-9_]*)(\{(.*)\})? ([-+0-9.eE]+|\+Inf|-Inf|NaN))");
    static const std::regex label_re(R"re(([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?)re");
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) {
            e.errors.push_back("no newline at the end");
            end = text.size();
        }
        const std::string line = text.substr(pos, end - pos);
        pos = end + 1;
        std::smatch m;
        if (std::regex_match(line, m, help_re)) continue;
        if (std::regex_match(line, m, type_re)) {
            if (e.types.count(m[1])) e.errors.push_back("TYPE twice: " + line);
            e.types[m[1]] = m[2];
            continue;
        }
        if (!std::regex_match(line, m, sample_re)) {
            e.errors.push_back("bad line: " + line);
            continue;
        }
        Sample s;
        s.name = m[1];
        s.value = std::stod(m[4]);
        std::string labels = m[3];
        for (std::sregex_iterator it(labels.begin(), labels.end(), label_re), stop; it != stop;
             ++it)
            s.labels[(*it)[1]] = unescape_label((*it)[2]);
        std::string family = s.name;
        for (const char* suffix : {"_bucket", "_sum", "_count"}) {
            const std::string sfx = suffix;
            if (!e.types.count(family) && family.size() > sfx.size() &&
                family.compare(family.size() - sfx.size(), sfx.size(), sfx) == 0 &&
                e.types.count(family.substr(0, family.size() - sfx.size())))
                family = family.substr(0, family.size() - sfx.size());
        }
        if (!e.types.count(family)) e.errors.push_back("sample before its TYPE: " + line);
        e.samples.push_back(std::move(s));
    }
    return e;
}

}  // namespace ig::test
