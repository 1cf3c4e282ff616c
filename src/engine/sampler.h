#pragma once
// Per-sequence token sampler: logit bias, repetition / presence / frequency
// penalties, temperature, top-k, top-p, min-p, seeded sampling and logprobs.
//
// Hot path: sample() and accept() allocate nothing after the first sample()
// (grow-only member scratch); the per-token penalty state is sized once.
// Results are bit-identical across platforms and compilers for the same seed:
// the RNG is std::mt19937_64 (fully specified) and the draw is a 53-bit
// uniform double walked over the candidates in a fixed order.
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "engine/sampling_params.h"

namespace ig {

struct TokenLogprob {
    int32_t token;
    float logprob;
};

struct SampledToken {
    int32_t token = -1;
    float logprob = 0.0f;           // of the sampled token under the model's raw log-softmax
    std::vector<TokenLogprob> top;  // top_logprobs entries, highest first (raw log-softmax)
};

class Sampler {
  public:
    Sampler(const SamplingParams& p, int32_t n_vocab,
            uint64_t seed);                            // engine resolves a missing seed
    void add_prompt(std::span<const int32_t> prompt);  // for repetition_penalty
    SampledToken sample(std::span<float> logits);      // logits of this sequence, modified in place
    void accept(int32_t token);                        // record an output token (penalties)
    Sampler fork(uint64_t seed) const;                 // n > 1: same state, new rng stream

  private:
    struct Cand {
        float logit;
        int32_t id;
    };

    bool penalised() const { return !out_count_.empty(); }
    void mark_seen(int32_t token);
    void apply_bias_and_penalties(std::span<float> logits) const;
    void compute_logprobs(std::span<const float> raw, int32_t token, SampledToken& out) const;
    int32_t sample_random(std::span<const float> logits, float max_logit);
    int32_t sample_whole_vocab(std::span<const float> logits, float max_logit, float inv_t);
    void collect_top_k(std::span<const float> logits, int32_t k);
    void collect_at_least(std::span<const float> logits, float threshold);
    void weigh_candidates(float max_logit, float inv_t);
    int32_t draw(size_t n);
    double uniform();

    SamplingParams p_;
    int32_t n_vocab_ = 0;
    std::mt19937_64 rng_;

    // Penalty state, dense over the vocabulary, sized once and only when a penalty is on.
    std::vector<int32_t> out_count_;  // occurrences in the output
    std::vector<uint8_t> seen_;       // in prompt or output
    std::vector<int32_t> seen_ids_;   // ids with seen_ set, first-seen order (capacity n_vocab)

    // Scratch, grow-only; not copied by fork().
    std::vector<float> raw_;         // raw logits when logprobs need them after modification
    std::vector<Cand> cand_;         // candidates kept by top-k / top-p / min-p
    std::vector<float> weight_;      // unnormalised probabilities of cand_, same order
    std::vector<double> block_sum_;  // per-block sums of unnormalised probabilities
};

}  // namespace ig
