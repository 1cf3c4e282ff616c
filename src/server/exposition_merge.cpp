#include "server/exposition_merge.h"

#include <map>
#include <set>
#include <string_view>

namespace ig::server {

namespace {

struct Family {
    std::vector<std::string> header;  // # HELP, # TYPE
    std::vector<std::string> samples;
    std::set<std::string> series;  // name{labels}
};

// The family a "# HELP name ..." / "# TYPE name ..." line names.
std::string_view comment_family(std::string_view line) {
    std::string_view rest = line.substr(7);  // after "# HELP " / "# TYPE "
    return rest.substr(0, rest.find(' '));
}

}  // namespace

std::string merge_expositions(const std::vector<std::string>& parts) {
    std::vector<std::string> order;
    std::map<std::string, Family, std::less<>> families;
    for (const std::string& part : parts) {
        std::string current;  // samples belong to the family declared last
        size_t at = 0;
        while (at < part.size()) {
            size_t end = part.find('\n', at);
            if (end == std::string::npos) end = part.size();
            const std::string_view line(part.data() + at, end - at);
            at = end + 1;
            if (line.empty()) continue;
            const bool help = line.rfind("# HELP ", 0) == 0, type = line.rfind("# TYPE ", 0) == 0;
            if (help || type) {
                current = std::string(comment_family(line));
                auto [it, fresh] = families.try_emplace(current);
                if (fresh) order.push_back(current);
                Family& f = it->second;
                bool seen = false;
                for (const std::string& h : f.header) seen |= h.substr(0, 7) == line.substr(0, 7);
                if (!seen) f.header.emplace_back(line);
                continue;
            }
            if (line[0] == '#') continue;  // other comments
            if (current.empty() || line.rfind(current, 0) != 0) {
                // A sample outside any declared family: its own untyped family.
                const size_t cut = line.find_first_of("{ ");
                current = std::string(line.substr(0, cut));
                if (families.try_emplace(current).second) order.push_back(current);
            }
            Family& f = families.find(current)->second;
            const size_t value_at = line.rfind(' ');
            const std::string key(line.substr(0, value_at));
            if (f.series.insert(key).second) f.samples.emplace_back(line);
        }
    }
    std::string out;
    for (const std::string& name : order) {
        const Family& f = families.find(name)->second;
        for (const std::string& h : f.header) out += h + "\n";
        for (const std::string& s : f.samples) out += s + "\n";
    }
    return out;
}

}  // namespace ig::server
