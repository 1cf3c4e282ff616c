#pragma once
// `infergrid generate`: one prompt, one sequence, text to stdout and speed to
// stderr. The serving engine replaces this loop for the server.
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "util/expected.h"

namespace ig {

struct GenerateOptions {
    std::string model;
    std::string prompt;
    int64_t n_predict = 64;
    float temperature = 0.0f;  // 0: greedy
    int32_t top_k = 40;
    float top_p = 0.95f;
    uint64_t seed = 0;
    int threads = 0;  // 0: all cores
    std::string kv_type = "f16";
    int64_t batch = 512;  // prefill chunk
    bool ignore_eos = false;
    bool print_ids = false;
};

struct GenerateResult {
    std::vector<int32_t> prompt_ids;
    std::vector<int32_t> ids;  // generated
    std::string text;          // generated text
    double prefill_seconds = 0;
    double decode_seconds = 0;
};

// Streams the generated text to `out` as it is produced.
Expected<GenerateResult> run_generate(const GenerateOptions& opt, std::ostream& out);

}  // namespace ig
