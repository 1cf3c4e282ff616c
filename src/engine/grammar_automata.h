#pragma once
// The engine's automata for constrained decoding, one per grammar in use,
// over the tokenizer's vocabulary. Requests that carry the same compiled
// grammar (the server caches compilations by schema) share one automaton,
// and so its transitions and cached token masks. Engine thread only.
#include <cstdint>
#include <memory>
#include <vector>

#include "grammar/token_automaton.h"
#include "tokenizer/tokenizer.h"

namespace ig {

// The vocabulary as the matcher sees it: each token's bytes (control tokens
// by their text), which tokens are control tokens, which end generation.
grammar::TokenVocab token_vocab(const Tokenizer& tok);

class GrammarAutomata {
  public:
    // Automata no sequence uses are forgotten, least recently used first,
    // past `keep` of them or `max_bytes` in all.
    explicit GrammarAutomata(std::shared_ptr<const Tokenizer> tok, size_t keep = 64,
                             size_t max_bytes = size_t{256} << 20)
        : tok_(std::move(tok)), keep_(keep), max_bytes_(max_bytes) {}

    std::shared_ptr<grammar::TokenAutomaton> get(const std::shared_ptr<const grammar::Grammar>& g);

  private:
    struct Entry {
        std::shared_ptr<const grammar::Grammar> grammar;
        std::shared_ptr<grammar::TokenAutomaton> automaton;
        uint64_t last_use = 0;
    };
    std::shared_ptr<const Tokenizer> tok_;
    std::shared_ptr<const grammar::VocabTrie> trie_;  // built on first use
    std::vector<Entry> entries_;
    size_t keep_;
    size_t max_bytes_;
    uint64_t clock_ = 0;
};

}  // namespace ig
