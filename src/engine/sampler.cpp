#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace ig {

namespace {

// Below this temperature sampling is argmax (vLLM's _SAMPLING_EPS); dividing
// by it would overflow the logits.
constexpr float kGreedyTemperature = 1e-5f;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Candidate order: higher logit first, ties → lower id.
struct Better {
    template <class C>
    bool operator()(const C& a, const C& b) const {
        return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
    }
};

// Vectorised helpers. GCC/Clang vector extensions lower to whatever SIMD the
// target has (SSE2 on baseline x86-64), and every operation is plain IEEE
// arithmetic, so results do not depend on the platform's libm.
namespace sampler_math {

// 16-byte vectors: native on baseline x86-64 (SSE2) and AArch64 (NEON).
using v4f = float __attribute__((vector_size(16)));
using v4i = int32_t __attribute__((vector_size(16)));

constexpr size_t kBlock = 256;  // tokens per block sum
inline size_t num_blocks(size_t n) {
    return (n + kBlock - 1) / kBlock;
}

inline v4f load4(const float* p) {
    v4f v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

// exp(x) for x <= 0 (Cephes expf: range reduction by ln 2, degree-6
// polynomial; about 1 ulp). Inputs below -87 (and NaN) give exp(-87) ≈ 1.6e-38,
// negligible against the maximum term 1. Scalar and vector forms perform the
// same operations, so they agree bit for bit.
constexpr float kLo = -87.0f, kLog2e = 1.44269504088896341f, kMagic = 12582912.0f;
constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
constexpr float kP0 = 1.9875691500e-4f, kP1 = 1.3981999507e-3f, kP2 = 8.3334519073e-3f,
                kP3 = 4.1665795894e-2f, kP4 = 1.6666665459e-1f, kP5 = 5.0000001201e-1f;

inline float exp_neg(float x) {
    x = x > kLo ? x : kLo;
    const float fn = (x * kLog2e + kMagic) - kMagic;  // round to nearest
    const float r = (x - fn * kLn2Hi) - fn * kLn2Lo;
    float p = kP0;
    p = p * r + kP1;
    p = p * r + kP2;
    p = p * r + kP3;
    p = p * r + kP4;
    p = p * r + kP5;
    const float y = (p * (r * r) + r) + 1.0f;
    const int32_t bits = (static_cast<int32_t>(fn) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return y * scale;
}

inline v4f exp_neg(v4f x) {
    const v4f lo = v4f{} + kLo;
    x = x > lo ? x : lo;
    const v4f fn = (x * kLog2e + kMagic) - kMagic;
    const v4f r = (x - fn * kLn2Hi) - fn * kLn2Lo;
    v4f p = v4f{} + kP0;
    p = p * r + kP1;
    p = p * r + kP2;
    p = p * r + kP3;
    p = p * r + kP4;
    p = p * r + kP5;
    const v4f y = (p * (r * r) + r) + 1.0f;
    const v4i bits = (__builtin_convertvector(fn, v4i) + 127) << 23;
    v4f scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return y * scale;
}

// Largest non-NaN value; -inf when there is none.
inline float max_value(const float* x, size_t n) {
    v4f a = v4f{} + kNegInf, b = a;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const v4f u = load4(x + i), w = load4(x + i + 4);
        a = u > a ? u : a;
        b = w > b ? w : b;
    }
    a = b > a ? b : a;
    float m = kNegInf;
    for (int l = 0; l < 4; ++l) m = a[l] > m ? a[l] : m;
    for (; i < n; ++i) m = x[i] > m ? x[i] : m;
    return m;
}

// Lowest index holding v; 0 when none does (v NaN).
inline int32_t first_index_of(const float* x, size_t n, float v) {
    for (size_t i = 0; i < n; ++i)
        if (x[i] == v) return static_cast<int32_t>(i);
    return 0;
}

// Sum of exp((x - m) * inv_t) in double; per-block sums go to block_sum
// (num_blocks(n) entries) when given. The summation order is fixed.
inline double sum_exp(const float* x, size_t n, float m, float inv_t, double* block_sum) {
    double total = 0.0;
    for (size_t lo = 0; lo < n; lo += kBlock) {
        const size_t hi = std::min(n, lo + kBlock);
        double lanes[8] = {};
        size_t i = lo;
        for (; i + 8 <= hi; i += 8) {
            const v4f w0 = exp_neg((load4(x + i) - m) * inv_t);
            const v4f w1 = exp_neg((load4(x + i + 4) - m) * inv_t);
            for (int l = 0; l < 4; ++l) {
                lanes[l] += static_cast<double>(w0[l]);
                lanes[l + 4] += static_cast<double>(w1[l]);
            }
        }
        double s = 0.0;
        for (size_t l = 0; l < 8; ++l) s += lanes[l];
        for (; i < hi; ++i) s += static_cast<double>(exp_neg((x[i] - m) * inv_t));
        if (block_sum) block_sum[lo / kBlock] = s;
        total += s;
    }
    return total;
}

// Nucleus: the shortest prefix whose mass reaches target (always >= 1 token
// when n > 0); a token is kept when the mass before it is below target.
inline size_t nucleus_size(const float* w, size_t n, double target) {
    if (n == 0) return 0;
    size_t k = 1;
    double cum = w[0];
    while (k < n && cum < target) cum += w[k++];
    return k;
}

inline double prefix_mass(const float* w, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; ++i) s += w[i];
    return s;
}

}  // namespace sampler_math

}  // namespace

Sampler::Sampler(const SamplingParams& p, int32_t n_vocab, uint64_t seed)
    : p_(p), n_vocab_(std::max<int32_t>(n_vocab, 0)), rng_(seed) {
    const bool penalties = p_.repetition_penalty != 1.0f || p_.presence_penalty != 0.0f ||
                           p_.frequency_penalty != 0.0f;
    if (penalties && n_vocab_ > 0) {
        // Sized once so that accept() never allocates.
        out_count_.assign(static_cast<size_t>(n_vocab_), 0);
        seen_.assign(static_cast<size_t>(n_vocab_), 0);
        seen_ids_.reserve(static_cast<size_t>(n_vocab_));
    }
}

void Sampler::mark_seen(int32_t token) {
    if (!seen_[static_cast<size_t>(token)]) {
        seen_[static_cast<size_t>(token)] = 1;
        seen_ids_.push_back(token);
    }
}

void Sampler::add_prompt(std::span<const int32_t> prompt) {
    // The prompt only matters to the repetition penalty (presence/frequency count the output).
    if (!penalised() || p_.repetition_penalty == 1.0f) return;
    for (int32_t t : prompt)
        if (t >= 0 && t < n_vocab_) mark_seen(t);
}

void Sampler::accept(int32_t token) {
    if (!penalised() || token < 0 || token >= n_vocab_) return;
    mark_seen(token);
    ++out_count_[static_cast<size_t>(token)];
}

Sampler Sampler::fork(uint64_t seed) const {
    Sampler s(*this);
    s.rng_.seed(seed);
    // Scratch is per instance; the copy regrows its own on first use.
    s.raw_ = {};
    s.cand_ = {};
    s.weight_ = {};
    s.block_sum_ = {};
    return s;
}

double Sampler::uniform() {
    // 53 random bits → a double in [0, 1); same on every platform.
    return static_cast<double>(rng_() >> 11) * 0x1.0p-53;
}

void Sampler::apply_bias_and_penalties(std::span<float> logits) const {
    const size_t v = logits.size();
    for (const auto& [id, bias] : p_.logit_bias)
        if (id >= 0 && static_cast<size_t>(id) < v) logits[static_cast<size_t>(id)] += bias;
    if (!penalised()) return;
    const float rep = p_.repetition_penalty;
    const float presence = p_.presence_penalty;
    const float frequency = p_.frequency_penalty;
    for (int32_t id : seen_ids_) {
        const size_t i = static_cast<size_t>(id);
        if (i >= v) continue;
        float x = logits[i];
        if (rep != 1.0f) x = x > 0.0f ? x / rep : x * rep;  // HF: shrink toward "less likely"
        if (const int32_t c = out_count_[i]; c > 0) {
            x -= frequency * static_cast<float>(c);
            x -= presence;
        }
        logits[i] = x;
    }
}

SampledToken Sampler::sample(std::span<float> logits) {
    SampledToken out;
    if (logits.empty()) return out;
    const bool modifies = !p_.logit_bias.empty() || penalised();
    std::span<const float> raw = logits;
    if (p_.logprobs && modifies) {
        // Logprobs are of the raw distribution (vLLM's default), so keep it.
        raw_.resize(logits.size());
        std::memcpy(raw_.data(), logits.data(), logits.size() * sizeof(float));
        raw = raw_;
    }
    if (modifies) apply_bias_and_penalties(logits);

    const float m = sampler_math::max_value(logits.data(), logits.size());
    const bool greedy = p_.temperature < kGreedyTemperature || p_.top_k == 1;
    if (greedy || !std::isfinite(m)) {
        // Every logit -inf or NaN: nothing is samplable; token 0 keeps the caller going.
        out.token = sampler_math::first_index_of(logits.data(), logits.size(), m);
    } else {
        out.token = sample_random(logits, m);
    }
    if (p_.logprobs) compute_logprobs(raw, out.token, out);
    return out;
}

void Sampler::collect_top_k(std::span<const float> logits, int32_t k) {
    // Streaming selection: keep a buffer of up to 2k candidates above a
    // threshold; when full, cut it to the best k and raise the threshold to
    // the k-th logit. Later equal logits have higher ids and lose the tie.
    const size_t kk = static_cast<size_t>(k);
    const size_t cap = std::max<size_t>(2 * kk, 64);
    cand_.clear();
    if (cand_.capacity() < cap) cand_.reserve(cap);
    float thr = kNegInf;
    const float* x = logits.data();
    const size_t v = logits.size();
    for (size_t i = 0; i < v; ++i) {
        if (x[i] > thr) {
            cand_.push_back({x[i], static_cast<int32_t>(i)});
            if (cand_.size() == cap) {
                std::nth_element(cand_.begin(), cand_.begin() + static_cast<ptrdiff_t>(kk - 1),
                                 cand_.end(), Better{});
                cand_.resize(kk);
                thr = cand_[kk - 1].logit;
            }
        }
    }
    if (cand_.size() > kk) {
        std::nth_element(cand_.begin(), cand_.begin() + static_cast<ptrdiff_t>(kk - 1), cand_.end(),
                         Better{});
        cand_.resize(kk);
    }
    std::sort(cand_.begin(), cand_.end(), Better{});
}

void Sampler::collect_at_least(std::span<const float> logits, float threshold) {
    cand_.clear();
    const float* x = logits.data();
    const size_t v = logits.size();
    for (size_t i = 0; i < v; ++i)
        if (x[i] >= threshold) cand_.push_back({x[i], static_cast<int32_t>(i)});
}

void Sampler::weigh_candidates(float max_logit, float inv_t) {
    weight_.resize(cand_.size());
    for (size_t i = 0; i < cand_.size(); ++i)
        weight_[i] = sampler_math::exp_neg((cand_[i].logit - max_logit) * inv_t);
}

int32_t Sampler::draw(size_t n) {
    // Cumulative walk over the first n candidates in their stored order.
    double total = 0.0;
    for (size_t i = 0; i < n; ++i) total += weight_[i];
    const double u = uniform() * total;
    double cum = 0.0;
    for (size_t i = 0; i < n; ++i) {
        cum += weight_[i];
        if (u < cum) return cand_[i].id;
    }
    // Rounding left u at the very end: the last candidate with weight.
    for (size_t i = n; i-- > 0;)
        if (weight_[i] > 0.0f) return cand_[i].id;
    return cand_[0].id;
}

int32_t Sampler::sample_random(std::span<const float> logits, float m) {
    const float t = p_.temperature;
    const float inv_t = 1.0f / t;
    const size_t v = logits.size();
    const bool use_k = p_.top_k > 0 && static_cast<size_t>(p_.top_k) < v;
    const bool use_p = p_.top_p < 1.0f;
    // min_p keeps prob >= min_p * max prob, i.e. (logit - m) / t >= ln(min_p).
    const float min_p_logit = p_.min_p > 0.0f ? m + t * std::log(p_.min_p) : kNegInf;

    if (use_k) {
        collect_top_k(logits, p_.top_k);
        weigh_candidates(m, inv_t);
        size_t n = cand_.size();
        if (use_p) {
            double total = 0.0;
            for (size_t i = 0; i < n; ++i) total += weight_[i];
            n = sampler_math::nucleus_size(weight_.data(), n, p_.top_p * total);
        }
        while (n > 1 && cand_[n - 1].logit < min_p_logit) --n;
        return draw(n);
    }
    if (use_p) {
        // The nucleus is a prefix of the sorted distribution, so only tokens
        // above some probability threshold need sorting. Every token below
        // r_safe = (1 - top_p) * Z / V together holds less than 1 - top_p of
        // the mass, so that threshold always suffices; a tighter guess first
        // keeps the sort short on peaked distributions.
        block_sum_.resize(sampler_math::num_blocks(v));
        const double z = sampler_math::sum_exp(logits.data(), v, m, inv_t, block_sum_.data());
        const double target = p_.top_p * z;
        const double r_safe = (1.0 - p_.top_p) * z / static_cast<double>(v);
        const double guesses[2] = {1e-4, r_safe};
        for (int g = 0; g < 2; ++g) {
            const bool last = g == 1 || guesses[0] <= r_safe;
            const double r = last ? r_safe : guesses[0];
            const float thr = std::max(m + t * static_cast<float>(std::log(r)), min_p_logit);
            collect_at_least(logits, thr);
            std::sort(cand_.begin(), cand_.end(), Better{});
            weigh_candidates(m, inv_t);
            const size_t n = sampler_math::nucleus_size(weight_.data(), cand_.size(), target);
            // Stop when the walk reached top_p inside the set, when min_p (not
            // the guess) bounded the set, or when the guess was the safe one.
            const bool reached =
                n < cand_.size() || sampler_math::prefix_mass(weight_.data(), n) >= target;
            if (reached || thr == min_p_logit || last) return draw(n);
        }
    }
    if (p_.min_p > 0.0f) {
        collect_at_least(logits, min_p_logit);
        weigh_candidates(m, inv_t);
        return draw(cand_.size());
    }
    return sample_whole_vocab(logits, m, inv_t);
}

int32_t Sampler::sample_whole_vocab(std::span<const float> logits, float m, float inv_t) {
    // Two levels: block sums from one vectorised pass, then a walk over the
    // blocks and, inside the chosen block, over its tokens in id order.
    const size_t v = logits.size();
    const size_t nb = sampler_math::num_blocks(v);
    block_sum_.resize(nb);
    sampler_math::sum_exp(logits.data(), v, m, inv_t, block_sum_.data());
    double total = 0.0;
    for (size_t b = 0; b < nb; ++b) total += block_sum_[b];
    double u = uniform() * total;
    size_t b = 0;
    for (; b + 1 < nb; ++b) {
        if (u < block_sum_[b]) break;
        u -= block_sum_[b];
    }
    const size_t lo = b * sampler_math::kBlock;
    const size_t hi = std::min(v, lo + sampler_math::kBlock);
    double cum = 0.0;
    size_t last = hi;
    for (size_t i = lo; i < hi; ++i) {
        const float w = sampler_math::exp_neg((logits[i] - m) * inv_t);
        if (w > 0.0f) last = i;
        cum += w;
        if (u < cum) return static_cast<int32_t>(i);
    }
    if (last < hi) return static_cast<int32_t>(last);
    return sampler_math::first_index_of(logits.data(), v, m);
}

void Sampler::compute_logprobs(std::span<const float> raw, int32_t token, SampledToken& out) const {
    const size_t v = raw.size();
    const float m = sampler_math::max_value(raw.data(), v);
    const double lse =
        static_cast<double>(m) + std::log(sampler_math::sum_exp(raw.data(), v, m, 1.0f, nullptr));
    out.logprob = static_cast<float>(static_cast<double>(raw[static_cast<size_t>(token)]) - lse);
    const int32_t n = std::min<int32_t>(p_.top_logprobs, static_cast<int32_t>(v));
    if (n <= 0) return;
    // Best n by one pass with a small sorted buffer; equal logits keep the lower id.
    Cand best[32];
    int32_t count = 0;
    for (size_t i = 0; i < v; ++i) {
        const float x = raw[i];
        if (count == n ? !(x > best[n - 1].logit) : std::isnan(x)) continue;
        int32_t j = count < n ? count++ : n - 1;
        while (j > 0 && best[j - 1].logit < x) {
            best[j] = best[j - 1];
            --j;
        }
        best[j] = {x, static_cast<int32_t>(i)};
    }
    out.top.resize(static_cast<size_t>(count));
    for (int32_t i = 0; i < count; ++i)
        out.top[static_cast<size_t>(i)] = {
            best[i].id, static_cast<float>(static_cast<double>(best[i].logit) - lse)};
}

}  // namespace ig
