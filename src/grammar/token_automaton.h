#pragma once
// The grammar as a lazily built automaton over bytes, and the token masks
// of its states.
//
// A matcher position is a set of pushdown stacks (the grammar is context
// free), each stack interned as a linked list of (position, parent) nodes.
// A set of stacks is a *state*; states are interned too, so the transition
// (state, byte) -> state is computed once and then looked up: in practice
// the pushdown automaton becomes a DFA over the states that outputs reach,
// built on demand.
//
// A state's token mask (which tokens of the vocabulary may come next) is a
// depth-first scan of the VocabTrie through those transitions, cached per
// state: inside a JSON string or between the keys of an object the same
// states recur, so after the first few tokens most masks are a lookup
// (the observation behind XGrammar's adaptive token-mask cache).
//
// Not thread-safe: one engine thread owns an automaton and every matcher
// over it.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "grammar/grammar.h"
#include "grammar/vocab_trie.h"

namespace ig::grammar {

struct AutomatonLimits {
    size_t max_nodes = 4'000'000;        // interned stack nodes
    size_t max_states = 50'000;          // interned states (1 KiB of transitions each)
    size_t mask_cache_bytes = 32 << 20;  // cached masks; cleared whole past this
};

class TokenAutomaton {
  public:
    static constexpr int32_t kDead = -1;

    TokenAutomaton(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const VocabTrie> vocab,
                   AutomatonLimits limits = {});

    int32_t start() const { return start_; }
    // The state after `byte`, or kDead. kDead also when the automaton outgrew
    // its limits (overflowed() tells).
    int32_t step(int32_t state, uint8_t byte);
    // The state after the token's bytes, or kDead. An end token leads to
    // kEnded where the grammar may end.
    int32_t step_token(int32_t state, int32_t token);
    static constexpr int32_t kEnded = -2;

    bool accepting(int32_t state) const { return states_[static_cast<size_t>(state)].accept; }
    // Nothing but the end may follow (the grammar is complete).
    bool complete(int32_t state) const { return states_[static_cast<size_t>(state)].ready.empty(); }

    // One bit per token id (bit t of word t/64): allowed next. End tokens are
    // set exactly when the state is accepting. The span stays valid until the
    // next call to mask().
    std::span<const uint64_t> mask(int32_t state);

    bool overflowed() const { return overflowed_; }
    const Grammar& grammar() const { return *grammar_; }
    const VocabTrie& vocab() const { return *vocab_; }
    size_t state_count() const { return states_.size(); }
    size_t masks_computed() const { return masks_computed_; }
    // Bytes held by transitions, stacks, closures and cached masks.
    size_t memory_bytes() const;

  private:
    struct StackNode {
        uint32_t pos;     // into flat_
        uint32_t parent;  // node index; kEmpty: the bottom of the stack
    };
    struct State {
        std::vector<uint32_t> ready;  // nodes whose position is a byte set, sorted
        bool accept = false;
    };
    struct Closure {
        uint32_t first = 0, count = 0;  // into closure_pool_
        bool accept = false;
        bool done = false;
    };
    static constexpr uint32_t kEmpty = 0xFFFFFFFFu;
    static constexpr int32_t kUnknown = -3;

    uint32_t node(uint32_t pos, uint32_t parent);
    const Closure& closure(uint32_t n);
    int32_t intern_state(std::vector<uint32_t> ready, bool accept);
    int32_t compute_step(int32_t state, uint8_t byte);
    void compute_mask(int32_t state, std::vector<uint64_t>& bits);

    std::shared_ptr<const Grammar> grammar_;
    std::shared_ptr<const VocabTrie> vocab_;
    AutomatonLimits limits_;

    // The grammar flattened: every alternative's elements then an end marker.
    enum : uint8_t { kBytes, kRule, kEnd };
    struct Flat {
        uint8_t kind;
        uint32_t index;
    };
    std::vector<Flat> flat_;
    std::vector<std::vector<uint32_t>> alt_starts_;  // per rule: flat_ index of each alternative

    std::vector<StackNode> nodes_;
    std::unordered_map<uint64_t, uint32_t> node_index_;
    std::vector<Closure> closures_;
    std::vector<uint32_t> closure_pool_;

    std::vector<State> states_;
    std::unordered_map<std::string, int32_t> state_index_;
    std::vector<int32_t> trans_;  // 256 per state, kUnknown until computed

    std::unordered_map<int32_t, std::vector<uint64_t>> masks_;
    size_t mask_bytes_ = 0;
    size_t masks_computed_ = 0;
    std::vector<int32_t> scan_states_;  // per trie depth, scratch of the mask scan

    int32_t start_ = kDead;
    bool overflowed_ = false;
};

}  // namespace ig::grammar
