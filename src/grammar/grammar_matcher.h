#pragma once
// One sequence's position in a grammar: masks the logits before sampling
// and advances on the sampled token. Copyable (n > 1 choices fork it); all
// matchers of an automaton live on the automaton's thread.
#include <cstdint>
#include <memory>
#include <span>

#include "grammar/token_automaton.h"

namespace ig::grammar {

class GrammarMatcher {
  public:
    explicit GrammarMatcher(std::shared_ptr<TokenAutomaton> automaton)
        : a_(std::move(automaton)), state_(a_->start()) {}

    // Sets every token the grammar does not allow next to -inf. Returns false
    // when no token is allowed (the vocabulary cannot spell what must come
    // next, or the automaton outgrew its limits).
    bool apply(std::span<float> logits);
    // Advances on a sampled token; false if the grammar does not allow it.
    bool accept(int32_t token);
    bool allows(int32_t token) {
        return ended() ? false : a_->step_token(state_, token) != TokenAutomaton::kDead;
    }

    // Only the end can follow: the output is complete.
    bool complete() const { return ended() || a_->complete(state_); }
    bool ended() const { return state_ == TokenAutomaton::kEnded; }
    bool overflowed() const { return a_->overflowed(); }
    const TokenAutomaton& automaton() const { return *a_; }

  private:
    std::shared_ptr<TokenAutomaton> a_;
    int32_t state_;
};

}  // namespace ig::grammar
