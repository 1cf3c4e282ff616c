#pragma once
// llama.cpp's tokenizer test vectors (../shared/tokenizers/gguf/*.inp/.out).
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "support/test_support.h"

namespace ig::test {

struct VectorCase {
    std::string text;
    std::vector<int32_t> ids;
};

// `.inp` holds strings each followed by "\n__ggml_vocab_test__\n"; `.out`
// one line of ids per string.
inline std::vector<VectorCase> read_vectors(const std::string& inp_path,
                                            const std::string& out_path) {
    std::vector<VectorCase> cases;
    const std::string inp = read_text(inp_path);
    std::istringstream out(read_text(out_path));
    const std::string sep = "\n__ggml_vocab_test__\n";
    for (size_t pos = 0; pos < inp.size();) {
        const size_t end = inp.find(sep, pos);
        if (end == std::string::npos) break;
        VectorCase c;
        c.text = inp.substr(pos, end - pos);
        pos = end + sep.size();
        std::string line;
        if (!std::getline(out, line)) break;
        std::istringstream ls(line);
        for (int32_t id; ls >> id;) c.ids.push_back(id);
        cases.push_back(std::move(c));
    }
    return cases;
}

}  // namespace ig::test
