#pragma once
// Workloads of `infergrid bench serve`: what each simulated user sends.
// Prompts are text built from a word list, so any server's tokenizer can
// take them; the server reports the true token counts in `usage`.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "util/expected.h"

namespace ig {

struct WorkloadOptions {
    std::string kind = "random";       // random | shared-prefix | multi-turn | dataset
    int32_t num_prompts = 100;         // random, dataset (the file repeats or is cut)
    int32_t input_len = 200;           // words per prompt (random) / per user turn (multi-turn)
    int32_t output_len = 64;           // max_tokens (= min_tokens with ignore_eos)
    double range_ratio = 0.0;          // lengths uniform in [len*(1-r), len*(1+r)]
    int32_t num_prefixes = 4;          // shared-prefix: distinct system prompts ...
    int32_t prefix_len = 512;          // ... of this many words ...
    int32_t questions_per_prefix = 8;  // ... each followed by this many questions
    int32_t question_len = 32;
    int32_t num_sessions = 8;    // multi-turn conversations ...
    int32_t turns = 4;           // ... of this many turns
    int32_t first_turn_len = 0;  // multi-turn: words of the first turn (0: input_len)
    std::string dataset;         // JSONL: {"prompt": "...", "output_len"?: N} per line
    uint64_t seed = 0;

    int32_t first_turn_words() const { return first_turn_len > 0 ? first_turn_len : input_len; }
};

struct Turn {
    std::string system;  // empty: none (shared-prefix puts its prefix here)
    std::string user;
    int32_t output_len = 0;
};

// One simulated user: a single request, or a conversation whose later turns
// re-send the whole history including the server's previous answers.
struct Session {
    std::vector<Turn> turns;
};

Status validate(const WorkloadOptions& o);
Expected<std::vector<Session>> make_workload(const WorkloadOptions& o);

// `n` words drawn from a fixed list of common English words (mostly one
// token each in Llama/GPT-style vocabularies).
std::string random_words(std::mt19937_64& rng, int32_t n);
// Length around `len`: uniform in [len*(1-r), len*(1+r)], at least 1.
int32_t sample_len(std::mt19937_64& rng, int32_t len, double range_ratio);

}  // namespace ig
