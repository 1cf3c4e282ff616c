#include "engine/grammar_automata.h"

#include <algorithm>

namespace ig {

grammar::TokenVocab token_vocab(const Tokenizer& tok) {
    grammar::TokenVocab v;
    const int32_t n = tok.n_vocab();
    v.pieces.resize(static_cast<size_t>(n));
    v.control.assign(static_cast<size_t>(n), 0);
    for (int32_t i = 0; i < n; ++i) {
        const bool control = tok.vocab().type(i) == TokenType::Control;
        v.control[static_cast<size_t>(i)] = control ? 1 : 0;
        v.pieces[static_cast<size_t>(i)] = tok.token_to_piece(i, control);
        if (tok.is_eog(i)) v.end_tokens.push_back(i);
    }
    return v;
}

std::shared_ptr<grammar::TokenAutomaton> GrammarAutomata::get(
    const std::shared_ptr<const grammar::Grammar>& g) {
    ++clock_;
    for (Entry& e : entries_)
        if (e.grammar == g) {
            e.last_use = clock_;
            return e.automaton;
        }
    if (!trie_) trie_ = std::make_shared<const grammar::VocabTrie>(token_vocab(*tok_));
    // Forget the least recently used automata that no sequence holds.
    auto total = [&] {
        size_t bytes = 0;
        for (const Entry& e : entries_) bytes += e.automaton->memory_bytes();
        return bytes;
    };
    while (!entries_.empty() && (entries_.size() >= keep_ || total() > max_bytes_)) {
        auto victim = entries_.end();
        for (auto it = entries_.begin(); it != entries_.end(); ++it)
            if (it->automaton.use_count() == 1 &&
                (victim == entries_.end() || it->last_use < victim->last_use))
                victim = it;
        if (victim == entries_.end()) break;  // all in use
        entries_.erase(victim);
    }
    auto a = std::make_shared<grammar::TokenAutomaton>(g, trie_);
    entries_.push_back(Entry{g, a, clock_});
    return a;
}

}  // namespace ig
