#include "grammar/grammar_prune.h"

#include <algorithm>

namespace ig::grammar {

Status prune_unproductive(Grammar& g) {
    if (g.rules.empty() || g.root >= g.rules.size()) return make_error("grammar has no root rule");
    // Linear worklist: an alternative is productive once all its elements
    // are; a rule once one of its alternatives is.
    struct Alt {
        uint32_t rule, index;
    };
    std::vector<Alt> alts;
    std::vector<size_t> missing;
    std::vector<std::vector<uint32_t>> users(g.rules.size());  // rule -> alternatives using it
    std::vector<bool> productive(g.rules.size(), false);
    std::vector<uint32_t> work;
    auto mark = [&](uint32_t r) {
        if (!productive[r]) {
            productive[r] = true;
            work.push_back(r);
        }
    };
    for (uint32_t r = 0; r < g.rules.size(); ++r) {
        for (uint32_t a = 0; a < g.rules[r].alternatives.size(); ++a) {
            auto id = static_cast<uint32_t>(alts.size());
            alts.push_back({r, a});
            size_t n = 0;
            for (const Element& e : g.rules[r].alternatives[a]) {
                if (e.kind == Element::Kind::Rule) {
                    users[e.index].push_back(id);
                    ++n;
                } else if (g.byte_sets[e.index] == ByteSet{}) {
                    n += alts.size() + g.rules.size();  // never matches: never reaches 0
                }
            }
            missing.push_back(n);
            if (n == 0) mark(r);
        }
    }
    while (!work.empty()) {
        uint32_t r = work.back();
        work.pop_back();
        for (uint32_t id : users[r])
            if (--missing[id] == 0) mark(alts[id].rule);
    }
    if (!productive[g.root]) return make_error("no finite text matches the grammar");
    for (Rule& rule : g.rules) {
        auto& v = rule.alternatives;
        v.erase(std::remove_if(v.begin(), v.end(),
                               [&](const Sequence& s) {
                                   return std::any_of(s.begin(), s.end(), [&](const Element& e) {
                                       return e.kind == Element::Kind::Rule
                                                  ? !productive[e.index]
                                                  : g.byte_sets[e.index] == ByteSet{};
                                   });
                               }),
                v.end());
    }
    return {};
}

}  // namespace ig::grammar
