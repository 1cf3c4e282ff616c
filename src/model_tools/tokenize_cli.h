#pragma once
// `infergrid tokenize` / `infergrid detokenize`: text <-> ids with the
// tokenizer of a GGUF file or of a Hugging Face tokenizer.json.
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"
#include "util/expected.h"

namespace ig {

struct TokenizeCliOptions {
    std::string model;            // GGUF file (vocab-only files work)
    std::string tokenizer_json;   // tokenizer.json; tokenizer_config.json beside it is read too
    bool no_bos = false;          // no BOS/EOS added
    bool parse_special = false;   // text of control tokens becomes those tokens
    bool render_special = false;  // detokenize: print control tokens' text
    bool jsonl = false;           // one JSON value per stdin line
    std::string text;             // tokenize: the text (stdin when empty and not jsonl)
    std::vector<int32_t> ids;     // detokenize: the ids (unless jsonl)
};

// tokenizer_json wins over model; one of them is required.
Expected<std::unique_ptr<Tokenizer>> load_cli_tokenizer(const std::string& model,
                                                        const std::string& tokenizer_json);

// Prints ids separated by spaces, one line per text. With jsonl each stdin
// line is a JSON string.
Status run_tokenize(const TokenizeCliOptions& o, std::istream& in, std::ostream& out);
// Prints the text of the ids. With jsonl each stdin line is a JSON array of
// ids and each output line the text as a JSON string.
Status run_detokenize(const TokenizeCliOptions& o, std::istream& in, std::ostream& out);

}  // namespace ig
