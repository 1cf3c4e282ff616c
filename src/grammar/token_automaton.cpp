#include "grammar/token_automaton.h"

#include <algorithm>
#include <cstring>

namespace ig::grammar {

TokenAutomaton::TokenAutomaton(std::shared_ptr<const Grammar> grammar,
                               std::shared_ptr<const VocabTrie> vocab, AutomatonLimits limits)
    : grammar_(std::move(grammar)), vocab_(std::move(vocab)), limits_(limits) {
    alt_starts_.resize(grammar_->rules.size());
    for (size_t r = 0; r < grammar_->rules.size(); ++r)
        for (const Sequence& alt : grammar_->rules[r].alternatives) {
            alt_starts_[r].push_back(static_cast<uint32_t>(flat_.size()));
            for (const Element& e : alt)
                flat_.push_back(Flat{
                    e.kind == Element::Kind::Bytes ? uint8_t{kBytes} : uint8_t{kRule}, e.index});
            flat_.push_back(Flat{kEnd, 0});
        }
    // The start: every alternative of the root with an empty stack below.
    std::vector<uint32_t> ready;
    bool accept = false;
    for (uint32_t a : alt_starts_[grammar_->root]) {
        const Closure c = closure(node(a, kEmpty));
        ready.insert(ready.end(), closure_pool_.begin() + c.first,
                     closure_pool_.begin() + c.first + c.count);
        accept = accept || c.accept;
    }
    start_ = intern_state(std::move(ready), accept);
    scan_states_.resize(static_cast<size_t>(vocab_->max_depth()) + 1);
}

uint32_t TokenAutomaton::node(uint32_t pos, uint32_t parent) {
    const uint64_t key = (uint64_t{pos} << 32) | parent;
    auto [it, fresh] = node_index_.try_emplace(key, static_cast<uint32_t>(nodes_.size()));
    if (fresh) {
        nodes_.push_back(StackNode{pos, parent});
        closures_.emplace_back();
        if (nodes_.size() > limits_.max_nodes) overflowed_ = true;
    }
    return it->second;
}

// Every node reachable from `n` without consuming a byte whose position is a
// byte set, and whether the whole stack can empty (the grammar may end).
const TokenAutomaton::Closure& TokenAutomaton::closure(uint32_t n) {
    if (closures_[n].done) return closures_[n];
    std::vector<uint32_t> ready, work{n}, seen;
    bool accept = false;
    while (!work.empty()) {
        const uint32_t x = work.back();
        work.pop_back();
        if (std::find(seen.begin(), seen.end(), x) != seen.end()) continue;
        seen.push_back(x);
        const StackNode sn = nodes_[x];
        const Flat f = flat_[sn.pos];
        if (f.kind == kBytes) {
            ready.push_back(x);
        } else if (f.kind == kEnd) {
            if (sn.parent == kEmpty)
                accept = true;
            else
                work.push_back(sn.parent);
        } else {
            // A reference that ends its sequence returns straight to the
            // parent: repetition by right recursion keeps the stack flat.
            const uint32_t cont =
                flat_[sn.pos + 1].kind == kEnd ? sn.parent : node(sn.pos + 1, sn.parent);
            for (uint32_t a : alt_starts_[f.index]) work.push_back(node(a, cont));
        }
        if (overflowed_) break;
    }
    std::sort(ready.begin(), ready.end());
    ready.erase(std::unique(ready.begin(), ready.end()), ready.end());
    Closure& c = closures_[n];
    c.first = static_cast<uint32_t>(closure_pool_.size());
    c.count = static_cast<uint32_t>(ready.size());
    c.accept = accept;
    c.done = true;
    closure_pool_.insert(closure_pool_.end(), ready.begin(), ready.end());
    return c;
}

int32_t TokenAutomaton::intern_state(std::vector<uint32_t> ready, bool accept) {
    std::sort(ready.begin(), ready.end());
    ready.erase(std::unique(ready.begin(), ready.end()), ready.end());
    if (ready.empty() && !accept) return kDead;
    std::string key(reinterpret_cast<const char*>(ready.data()), ready.size() * sizeof(uint32_t));
    key.push_back(accept ? '\1' : '\0');
    auto it = state_index_.find(key);
    if (it != state_index_.end()) return it->second;
    if (overflowed_ || states_.size() >= limits_.max_states) {
        overflowed_ = true;
        return kDead;
    }
    const auto id = static_cast<int32_t>(states_.size());
    states_.push_back(State{std::move(ready), accept});
    trans_.resize(trans_.size() + 256, kUnknown);
    state_index_.emplace(std::move(key), id);
    return id;
}

int32_t TokenAutomaton::step(int32_t state, uint8_t byte) {
    int32_t& t = trans_[static_cast<size_t>(state) * 256 + byte];
    if (t != kUnknown) return t;
    const int32_t next = compute_step(state, byte);
    trans_[static_cast<size_t>(state) * 256 + byte] = next;  // trans_ may have grown
    return next;
}

int32_t TokenAutomaton::compute_step(int32_t state, uint8_t byte) {
    const std::vector<uint32_t> from = states_[static_cast<size_t>(state)].ready;
    std::vector<uint32_t> next;
    bool accept = false;
    for (uint32_t x : from) {
        const StackNode sn = nodes_[x];
        if (!grammar_->byte_sets[flat_[sn.pos].index].has(byte)) continue;
        const Closure c = closure(node(sn.pos + 1, sn.parent));
        next.insert(next.end(), closure_pool_.begin() + c.first,
                    closure_pool_.begin() + c.first + c.count);
        accept = accept || c.accept;
    }
    if (overflowed_) return kDead;
    return intern_state(std::move(next), accept);
}

int32_t TokenAutomaton::step_token(int32_t state, int32_t token) {
    if (token < 0 || token >= vocab_->n_vocab()) return kDead;
    if (vocab_->is_end(token)) return accepting(state) ? kEnded : kDead;
    if (vocab_->is_control(token) && !grammar_->match_control_tokens) return kDead;
    const std::string& piece = vocab_->piece(token);
    if (piece.empty()) return kDead;
    for (char c : piece) {
        state = step(state, static_cast<uint8_t>(c));
        if (state == kDead) return kDead;
    }
    return state;
}

void TokenAutomaton::compute_mask(int32_t state, std::vector<uint64_t>& bits) {
    bits.assign((static_cast<size_t>(vocab_->n_vocab()) + 63) / 64, 0);
    const auto& nodes = vocab_->nodes();
    const auto& ids = vocab_->token_ids();
    const bool control_ok = grammar_->match_control_tokens;
    scan_states_[0] = state;
    for (size_t i = 0; i < nodes.size();) {
        const VocabTrie::Node& nd = nodes[i];
        const int32_t s = step(scan_states_[nd.depth - 1u], nd.byte);
        if (s == kDead) {
            i = nd.end;  // no token with this prefix can follow
            continue;
        }
        scan_states_[nd.depth] = s;
        for (uint32_t k = 0; k < nd.n_tokens; ++k) {
            const int32_t t = ids[nd.first_token + k];
            if (!control_ok && vocab_->is_control(t)) continue;
            bits[static_cast<size_t>(t) >> 6] |= uint64_t{1} << (t & 63);
        }
        ++i;
    }
    if (accepting(state))
        for (int32_t t : vocab_->end_tokens())
            if (t >= 0 && t < vocab_->n_vocab())
                bits[static_cast<size_t>(t) >> 6] |= uint64_t{1} << (t & 63);
}

size_t TokenAutomaton::memory_bytes() const {
    return trans_.capacity() * sizeof(int32_t) + nodes_.capacity() * sizeof(StackNode) +
           closures_.capacity() * sizeof(Closure) + closure_pool_.capacity() * sizeof(uint32_t) +
           node_index_.size() * 32 + state_index_.size() * 64 + mask_bytes_;
}

std::span<const uint64_t> TokenAutomaton::mask(int32_t state) {
    auto it = masks_.find(state);
    if (it != masks_.end()) return it->second;
    std::vector<uint64_t> bits;
    compute_mask(state, bits);
    ++masks_computed_;
    const size_t bytes = bits.size() * sizeof(uint64_t);
    if (mask_bytes_ + bytes > limits_.mask_cache_bytes) {
        masks_.clear();
        mask_bytes_ = 0;
    }
    mask_bytes_ += bytes;
    return masks_.emplace(state, std::move(bits)).first->second;
}

}  // namespace ig::grammar
