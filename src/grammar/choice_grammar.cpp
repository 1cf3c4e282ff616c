#include "grammar/choice_grammar.h"

#include <algorithm>

#include "util/utf8.h"

namespace ig::grammar {

namespace {

constexpr size_t kMaxChoiceBytes = 1 << 20;

// The strings in sorted [lo, hi) all share their first `depth` bytes; the
// rule matches the rest of each.
uint32_t trie_rule(GrammarBuilder& b, const std::vector<std::string>& s, size_t lo, size_t hi,
                   size_t depth, const std::string& name) {
    std::vector<Sequence> alts;
    size_t i = lo;
    if (s[i].size() == depth) {
        alts.push_back({});  // one string ends here (sorted first; unique)
        ++i;
    }
    while (i < hi && !b.over_limit()) {
        size_t j = i + 1;
        while (j < hi && s[j][depth] == s[i][depth]) ++j;
        // Bytes shared by the whole group [i, j) go in one run.
        size_t end = depth + 1;
        while (end < s[i].size() &&
               std::all_of(s.begin() + i + 1, s.begin() + j, [&](const std::string& t) {
                   return t.size() > end && t[end] == s[i][end];
               }))
            ++end;
        Sequence seq = b.literal(std::string_view(s[i]).substr(depth, end - depth));
        if (j - i > 1 || s[i].size() > end)
            seq.push_back(GrammarBuilder::ref(trie_rule(b, s, i, j, end, name)));
        alts.push_back(std::move(seq));
        i = j;
    }
    return b.add_rule(name, std::move(alts));
}

}  // namespace

uint32_t add_string_choice(GrammarBuilder& b, std::vector<std::string> texts,
                           const std::string& name) {
    std::sort(texts.begin(), texts.end());
    texts.erase(std::unique(texts.begin(), texts.end()), texts.end());
    if (texts.empty()) return b.add_rule(name, {});
    return trie_rule(b, texts, 0, texts.size(), 0, name);
}

Expected<Grammar> choice_grammar(const std::vector<std::string>& choices) {
    if (choices.empty()) return make_error("guided_choice: the list of choices is empty");
    size_t total = 0;
    for (size_t i = 0; i < choices.size(); ++i) {
        total += choices[i].size();
        if (total > kMaxChoiceBytes)
            return make_error("guided_choice: the choices are longer than {} bytes in all",
                              kMaxChoiceBytes);
        for (size_t k = 0; k < choices[i].size();) {
            size_t n = utf8::valid_at(choices[i], k);
            if (n == 0) return make_error("guided_choice[{}]: not valid UTF-8", i);
            k += n;
        }
    }
    GrammarBuilder b;
    uint32_t root = add_string_choice(b, choices, "choice");
    auto g = b.finish(root);
    if (!g) return make_error("guided_choice: {}", g.error().message);
    return g;
}

}  // namespace ig::grammar
