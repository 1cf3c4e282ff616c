#pragma once
// The vocabulary as a byte trie, stored in depth-first order so that the
// mask search is one forward scan that skips a whole subtree when its
// prefix is already impossible (a token's bytes are walked once per shared
// prefix, not once per token).
#include <cstdint>
#include <string>
#include <vector>

namespace ig::grammar {

// What the matcher needs to know of a tokenizer's vocabulary.
struct TokenVocab {
    std::vector<std::string> pieces;  // bytes each token adds to the text ("" for none)
    std::vector<uint8_t> control;  // 1: a control token (matched only by grammars that allow them)
    std::vector<int32_t>
        end_tokens;  // end of generation: allowed exactly where the grammar may end
};

class VocabTrie {
  public:
    struct Node {
        uint32_t end = 0;          // index just past this node's subtree
        uint32_t first_token = 0;  // tokens ending here: token_ids()[first_token, +n_tokens)
        uint32_t n_tokens = 0;
        uint16_t depth = 0;  // 1 for a first byte
        uint8_t byte = 0;
    };

    explicit VocabTrie(const TokenVocab& vocab);

    const std::vector<Node>& nodes() const { return nodes_; }
    const std::vector<int32_t>& token_ids() const { return token_ids_; }
    const std::vector<int32_t>& end_tokens() const { return end_tokens_; }
    const std::string& piece(int32_t id) const { return pieces_[static_cast<size_t>(id)]; }
    bool is_control(int32_t id) const { return control_[static_cast<size_t>(id)] != 0; }
    bool is_end(int32_t id) const { return is_end_[static_cast<size_t>(id)] != 0; }
    int32_t n_vocab() const { return static_cast<int32_t>(pieces_.size()); }
    int max_depth() const { return max_depth_; }

  private:
    std::vector<Node> nodes_;
    std::vector<int32_t> token_ids_;
    std::vector<int32_t> end_tokens_;
    std::vector<std::string> pieces_;
    std::vector<uint8_t> control_;
    std::vector<uint8_t> is_end_;
    int max_depth_ = 0;
};

}  // namespace ig::grammar
