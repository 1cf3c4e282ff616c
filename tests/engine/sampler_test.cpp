// Sampler: greedy, temperature, top-k / top-p / min-p keep-sets, seeded
// reproducibility, penalties, logit bias, logprobs, validation, allocation.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <map>
#include <new>
#include <random>
#include <set>
#include <vector>

#include "engine/sampler.h"
#include "engine/sampling_params.h"
#include "support/alloc_counter.h"

namespace ig {
namespace {

std::vector<float> random_logits(size_t n, uint64_t seed, float scale = 3.0f) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

std::vector<float> log_of(const std::vector<double>& p) {
    std::vector<float> v;
    for (double x : p) v.push_back(static_cast<float>(std::log(x)));
    return v;
}

int32_t argmax(const std::vector<float>& v) {
    return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

// Draws n tokens from fresh copies of the same logits.
std::vector<int32_t> draws(Sampler& s, const std::vector<float>& logits, int n) {
    std::vector<int32_t> out;
    std::vector<float> work;
    for (int i = 0; i < n; ++i) {
        work = logits;
        out.push_back(s.sample(work).token);
    }
    return out;
}

std::set<int32_t> support(const std::vector<int32_t>& v) {
    return {v.begin(), v.end()};
}

// Pearson chi-square of observed counts against expected probabilities; bins
// with small expectation are lumped so that the statistic is meaningful.
double chi_square(const std::vector<int32_t>& samples, const std::vector<double>& p, int* dof) {
    std::vector<double> obs(p.size(), 0.0);
    for (int32_t t : samples) obs[static_cast<size_t>(t)] += 1.0;
    const double n = static_cast<double>(samples.size());
    double chi = 0.0, lump_obs = 0.0, lump_exp = 0.0;
    int bins = 0;
    for (size_t i = 0; i < p.size(); ++i) {
        const double e = p[i] * n;
        if (e < 20.0) {
            lump_obs += obs[i];
            lump_exp += e;
            continue;
        }
        chi += (obs[i] - e) * (obs[i] - e) / e;
        ++bins;
    }
    if (lump_exp > 0.0) {
        chi += (lump_obs - lump_exp) * (lump_obs - lump_exp) / lump_exp;
        ++bins;
    }
    *dof = bins - 1;
    return chi;
}

std::vector<double> softmax(const std::vector<float>& l, double t) {
    double m = *std::max_element(l.begin(), l.end());
    std::vector<double> p(l.size());
    double z = 0.0;
    for (size_t i = 0; i < l.size(); ++i) z += p[i] = std::exp((l[i] - m) / t);
    for (auto& x : p) x /= z;
    return p;
}

TEST(Sampler, GreedyIsArgmax) {
    SamplingParams p;
    p.temperature = 0.0f;
    for (uint64_t seed = 0; seed < 20; ++seed) {
        auto l = random_logits(1000 + seed * 37, seed);
        Sampler s(p, static_cast<int32_t>(l.size()), seed);
        auto work = l;
        EXPECT_EQ(s.sample(work).token, argmax(l));
    }
}

TEST(Sampler, GreedyTiesPickLowestId) {
    SamplingParams p;
    p.temperature = 0.0f;
    std::vector<float> l = {1.0f, 3.0f, -2.0f, 3.0f, 3.0f};
    Sampler s(p, 5, 1);
    EXPECT_EQ(s.sample(l).token, 1);
    std::vector<float> all_inf(7, -INFINITY);
    EXPECT_EQ(s.sample(all_inf).token, 0);  // nothing samplable: no crash, token 0
}

TEST(Sampler, TopK1IsGreedyAtAnyTemperature) {
    SamplingParams p;
    p.temperature = 1.5f;
    p.top_k = 1;
    auto l = random_logits(5000, 3, 0.1f);  // flat: sampling would rarely hit the argmax
    Sampler s(p, 5000, 42);
    for (int32_t t : draws(s, l, 50)) EXPECT_EQ(t, argmax(l));
}

TEST(Sampler, LowTemperatureApproachesArgmax) {
    auto l = random_logits(3000, 5);
    const int32_t best = argmax(l);
    for (float t : {1e-3f, 1e-6f}) {  // 1e-6 is below the greedy cut-off, 1e-3 samples
        SamplingParams p;
        p.temperature = t;
        Sampler s(p, 3000, 7);
        for (int32_t tok : draws(s, l, 200)) EXPECT_EQ(tok, best) << "temperature " << t;
    }
}

TEST(Sampler, TopPKeepSetIsSmallestPrefixReachingP) {
    const auto l = log_of({0.05, 0.5, 0.15, 0.3});  // sorted: 1 (.5), 3 (.3), 2 (.15), 0 (.05)
    struct Case {
        float top_p;
        std::set<int32_t> keep;
    };
    for (const Case& c : {Case{0.45f, {1}}, Case{0.7f, {1, 3}}, Case{0.85f, {1, 3, 2}},
                          Case{0.97f, {0, 1, 2, 3}}, Case{1.0f, {0, 1, 2, 3}}}) {
        SamplingParams p;
        p.top_p = c.top_p;
        Sampler s(p, 4, 11);
        EXPECT_EQ(support(draws(s, l, 3000)), c.keep) << "top_p " << c.top_p;
    }
}

TEST(Sampler, MinPKeepSetIsRelativeToMaxProb) {
    const auto l = log_of({0.05, 0.5, 0.15, 0.3});
    struct Case {
        float min_p;
        std::set<int32_t> keep;
    };
    for (const Case& c :
         {Case{0.05f, {0, 1, 2, 3}}, Case{0.2f, {1, 2, 3}}, Case{0.5f, {1, 3}}, Case{0.9f, {1}}}) {
        SamplingParams p;
        p.min_p = c.min_p;
        Sampler s(p, 4, 12);
        EXPECT_EQ(support(draws(s, l, 3000)), c.keep) << "min_p " << c.min_p;
    }
}

TEST(Sampler, TopKThenTopPThenMinP) {
    // 10 tokens with probabilities ∝ 2^-i at ids in reverse order.
    std::vector<float> l(10);
    for (int i = 0; i < 10; ++i) l[static_cast<size_t>(9 - i)] = -static_cast<float>(i) * 0.6931f;
    SamplingParams p;
    p.top_k = 4;  // ids 9, 8, 7, 6 with renormalised mass 8/15, 4/15, 2/15, 1/15
    {
        Sampler s(p, 10, 1);
        EXPECT_EQ(support(draws(s, l, 3000)), (std::set<int32_t>{6, 7, 8, 9}));
    }
    p.top_p = 0.75f;  // 8/15 = .53 < .75, 12/15 = .8 → {9, 8}
    {
        Sampler s(p, 10, 2);
        EXPECT_EQ(support(draws(s, l, 3000)), (std::set<int32_t>{8, 9}));
    }
    p.top_p = 0.9f;  // {9, 8, 7}; min_p 0.3 then drops 7 (1/4 of the max)
    p.min_p = 0.3f;
    {
        Sampler s(p, 10, 3);
        EXPECT_EQ(support(draws(s, l, 3000)), (std::set<int32_t>{8, 9}));
    }
}

TEST(Sampler, TopPWithHeavyTailNeedsTheSafeThreshold) {
    // One token of weight 1 and 20000 tokens of weight 5e-5 each (mass 1 in
    // total): the nucleus for top_p = 0.75 holds token 0 plus 10000 tail
    // tokens (ties → lowest ids), far below the first guessed threshold.
    const size_t v = 20001;
    std::vector<float> l(v, std::log(5e-5f));
    l[0] = 0.0f;
    SamplingParams p;
    p.top_p = 0.75f;
    Sampler s(p, static_cast<int32_t>(v), 9);
    const auto d = draws(s, l, 1000);
    const int32_t hi = *std::max_element(d.begin(), d.end());
    EXPECT_LE(hi, 10001);
    EXPECT_GT(hi, 9500);
    const auto zeros = std::count(d.begin(), d.end(), 0);
    EXPECT_NEAR(static_cast<double>(zeros) / 1000.0, 2.0 / 3.0, 0.05);
}

TEST(Sampler, EmpiricalDistributionMatchesSoftmax) {
    // Fixed seeds: deterministic, so the bounds cannot flake. The bound is the
    // 99.99 % chi-square quantile for the degrees of freedom used.
    auto check = [](const std::vector<float>& l, const SamplingParams& p,
                    const std::vector<double>& expect, uint64_t seed) {
        Sampler s(p, static_cast<int32_t>(l.size()), seed);
        const auto d = draws(s, l, 20000);
        int dof = 0;
        const double chi = chi_square(d, expect, &dof);
        ASSERT_GE(dof, 3);
        const double bound = dof + 4.0 * std::sqrt(2.0 * dof) + 10.0;
        EXPECT_LT(chi, bound) << "dof " << dof;
    };
    {  // small vocabulary, temperature 1: the whole-vocabulary path
        const auto l = random_logits(12, 1, 1.0f);
        check(l, SamplingParams{}, softmax(l, 1.0), 100);
    }
    {  // several 256-token blocks
        const auto l = random_logits(900, 2, 1.5f);
        check(l, SamplingParams{}, softmax(l, 1.0), 101);
    }
    {  // temperature 0.7 with min_p: renormalised over the kept tokens
        const auto l = random_logits(300, 3, 1.0f);
        SamplingParams p;
        p.temperature = 0.7f;
        p.min_p = 0.05f;
        auto e = softmax(l, 0.7);
        const double mx = *std::max_element(e.begin(), e.end());
        double z = 0.0;
        for (auto& x : e) z += x = x < 0.05 * mx ? 0.0 : x;
        for (auto& x : e) x /= z;
        check(l, p, e, 102);
    }
    {  // top_k 20 + top_p 0.9 at temperature 1.3
        const auto l = random_logits(500, 4, 2.0f);
        SamplingParams p;
        p.temperature = 1.3f;
        p.top_k = 20;
        p.top_p = 0.9f;
        auto e = softmax(l, 1.3);
        std::vector<int32_t> order(l.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
        std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return e[a] > e[b]; });
        double zk = 0.0;
        for (int i = 0; i < 20; ++i) zk += e[static_cast<size_t>(order[i])];
        std::vector<double> keep(l.size(), 0.0);
        double cum = 0.0;
        for (int i = 0; i < 20 && cum < 0.9; ++i) {
            const size_t id = static_cast<size_t>(order[i]);
            keep[id] = e[id] / zk;
            cum += keep[id];
        }
        for (auto& x : keep) x /= cum;
        check(l, p, keep, 103);
    }
}

TEST(Sampler, SameSeedSameSequenceDifferentSeedDiffers) {
    const auto l = random_logits(200, 8, 0.5f);
    for (SamplingParams p : {SamplingParams{}, [] {
                                 SamplingParams q;
                                 q.top_p = 0.9f;
                                 q.top_k = 50;
                                 return q;
                             }()}) {
        Sampler a(p, 200, 1234), b(p, 200, 1234), c(p, 200, 1235);
        const auto da = draws(a, l, 100), db = draws(b, l, 100), dc = draws(c, l, 100);
        EXPECT_EQ(da, db);
        EXPECT_NE(da, dc);
        // fork: same state, new stream; forking with the same seed replays it.
        Sampler f1 = a.fork(77), f2 = a.fork(77);
        EXPECT_EQ(draws(f1, l, 50), draws(f2, l, 50));
    }
}

TEST(Sampler, PenaltiesArithmetic) {
    SamplingParams p;
    p.temperature = 0.0f;
    p.repetition_penalty = 1.5f;
    p.presence_penalty = 0.5f;
    p.frequency_penalty = 0.25f;
    p.logit_bias = {{4, 2.0f}, {1, -1.0f}};
    Sampler s(p, 6, 1);
    const std::vector<int32_t> prompt = {1, 2};
    s.add_prompt(prompt);
    s.accept(2);
    s.accept(3);
    s.accept(3);
    std::vector<float> l = {0.3f, 2.0f, -1.0f, 3.0f, 0.7f, 9.0f};
    const std::vector<float> in = l;
    s.sample(l);
    const float rep = 1.5f;
    auto repf = [&](float x) { return x > 0.0f ? x / rep : x * rep; };
    EXPECT_EQ(l[0], in[0]);
    EXPECT_EQ(l[1], repf(in[1] - 1.0f));  // bias, then prompt-only: repetition only
    float t2 = repf(in[2]);
    t2 -= 0.25f * 1.0f;
    t2 -= 0.5f;
    EXPECT_EQ(l[2], t2);
    float t3 = repf(in[3]);
    t3 -= 0.25f * 2.0f;
    t3 -= 0.5f;
    EXPECT_EQ(l[3], t3);
    EXPECT_EQ(l[4], in[4] + 2.0f);
    EXPECT_EQ(l[5], in[5]);

    // A penalty can change the greedy choice; a fork carries the state.
    SamplingParams q;
    q.temperature = 0.0f;
    q.frequency_penalty = 2.0f;
    Sampler g(q, 3, 1);
    g.accept(0);
    Sampler f = g.fork(5);
    std::vector<float> a = {1.0f, 0.0f, -5.0f}, b = a;
    EXPECT_EQ(g.sample(a).token, 1);
    EXPECT_EQ(f.sample(b).token, 1);
}

TEST(Sampler, LogitBiasBansAndForces) {
    std::vector<float> l(4, 0.0f);
    SamplingParams p;
    p.logit_bias = {{2, -100.0f}};
    Sampler s(p, 4, 3);
    const auto d = draws(s, l, 5000);
    EXPECT_EQ(support(d), (std::set<int32_t>{0, 1, 3}));
    SamplingParams g;
    g.temperature = 0.0f;
    g.logit_bias = {{3, 5.0f}};
    Sampler sg(g, 4, 3);
    auto work = random_logits(4, 1, 1.0f);
    EXPECT_EQ(sg.sample(work).token, 3);
}

TEST(Sampler, LogprobsMatchDoubleLogSoftmaxOfRawLogits) {
    auto l = random_logits(32000, 21, 4.0f);
    l[17] = l[29] = 30.0f;  // tie at the top: lower id first
    std::vector<double> ref(l.size());
    const double m = *std::max_element(l.begin(), l.end());
    double z = 0.0;
    for (float x : l) z += std::exp(static_cast<double>(x) - m);
    for (size_t i = 0; i < l.size(); ++i) ref[i] = l[i] - m - std::log(z);

    SamplingParams p;
    p.logprobs = true;
    p.top_logprobs = 5;
    p.temperature = 0.8f;
    p.top_p = 0.95f;
    p.repetition_penalty = 1.3f;  // modifies logits: logprobs stay raw
    p.logit_bias = {{17, -50.0f}};
    Sampler s(p, 32000, 5);
    const std::vector<int32_t> prompt = {29, 100, 200};
    s.add_prompt(prompt);
    auto work = l;
    const SampledToken t = s.sample(work);
    ASSERT_GE(t.token, 0);
    EXPECT_NEAR(t.logprob, ref[static_cast<size_t>(t.token)], 1e-5);
    std::vector<int32_t> order(l.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return l[a] > l[b]; });
    ASSERT_EQ(t.top.size(), 5u);
    for (size_t i = 0; i < 5; ++i) {
        EXPECT_EQ(t.top[i].token, order[i]) << i;
        EXPECT_NEAR(t.top[i].logprob, ref[static_cast<size_t>(order[i])], 1e-5);
    }
    EXPECT_EQ(t.top[0].token, 17);
    EXPECT_EQ(t.top[1].token, 29);

    // Not requested: not computed.
    SamplingParams q;
    Sampler s2(q, 32000, 5);
    work = l;
    const SampledToken u = s2.sample(work);
    EXPECT_EQ(u.logprob, 0.0f);
    EXPECT_TRUE(u.top.empty());
}

TEST(Sampler, ValidateNamesFieldAndRange) {
    auto msg = [](auto edit) {
        SamplingParams p;
        edit(p);
        const Status st = p.validate(100);
        return st.ok() ? std::string("ok") : st.error().message;
    };
    EXPECT_EQ(msg([](SamplingParams&) {}), "ok");
    EXPECT_EQ(msg([](SamplingParams& p) { p.top_p = 1.5f; }), "top_p must be in (0, 1], got 1.5");
    EXPECT_EQ(msg([](SamplingParams& p) { p.top_p = 0.0f; }), "top_p must be in (0, 1], got 0");
    EXPECT_EQ(msg([](SamplingParams& p) { p.temperature = -0.5f; }),
              "temperature must be in [0, 100], got -0.5");
    EXPECT_NE(msg([](SamplingParams& p) { p.temperature = NAN; }).find("temperature"),
              std::string::npos);
    EXPECT_NE(msg([](SamplingParams& p) { p.temperature = INFINITY; }).find("temperature"),
              std::string::npos);
    EXPECT_EQ(msg([](SamplingParams& p) { p.temperature = 2.0f; }), "ok");
    EXPECT_EQ(msg([](SamplingParams& p) { p.top_k = -2; }),
              "top_k must be -1, 0 (disabled) or >= 1, got -2");
    EXPECT_EQ(msg([](SamplingParams& p) { p.top_k = -1; }), "ok");
    EXPECT_EQ(msg([](SamplingParams& p) { p.min_p = 1.1f; }), "min_p must be in [0, 1], got 1.1");
    EXPECT_EQ(msg([](SamplingParams& p) { p.repetition_penalty = 0.0f; }),
              "repetition_penalty must be finite and > 0, got 0");
    EXPECT_EQ(msg([](SamplingParams& p) { p.presence_penalty = 2.5f; }),
              "presence_penalty must be in [-2, 2], got 2.5");
    EXPECT_EQ(msg([](SamplingParams& p) { p.frequency_penalty = -3.0f; }),
              "frequency_penalty must be in [-2, 2], got -3");
    EXPECT_EQ(msg([](SamplingParams& p) {
                  p.logit_bias = {{100, 1.0f}};
              }),
              "logit_bias token id must be in [0, 100), got 100");
    EXPECT_EQ(msg([](SamplingParams& p) {
                  p.logit_bias = {{-1, 1.0f}};
              }),
              "logit_bias token id must be in [0, 100), got -1");
    EXPECT_EQ(msg([](SamplingParams& p) {
                  p.logit_bias = {{5, 101.0f}};
              }),
              "logit_bias value for token 5 must be in [-100, 100], got 101");
    EXPECT_EQ(msg([](SamplingParams& p) {
                  p.logprobs = true;
                  p.top_logprobs = 21;
              }),
              "top_logprobs must be in [0, 20], got 21");
    EXPECT_EQ(msg([](SamplingParams& p) { p.top_logprobs = 3; }),
              "top_logprobs requires logprobs to be true, got top_logprobs=3");
}

TEST(Sampler, NoAllocationAfterFirstCall) {
    if (!test::counting_allocations())
        GTEST_SKIP() << "allocation counting is off under sanitizers";
    const auto l = random_logits(20000, 31, 2.0f);
    std::vector<SamplingParams> modes(6);
    modes[0].temperature = 0.0f;
    modes[1].top_p = 0.9f;
    modes[2].top_k = 40;
    modes[3].min_p = 0.05f;
    modes[4].logprobs = true;  // top_logprobs > 0 returns a vector: that one allocates
    modes[5].repetition_penalty = 1.2f;
    modes[5].frequency_penalty = 0.5f;
    modes[5].presence_penalty = 0.3f;
    modes[5].logit_bias = {{3, 1.0f}};
    modes[5].logprobs = true;
    modes[5].temperature = 0.0f;
    for (size_t i = 0; i < modes.size(); ++i) {
        Sampler s(modes[i], 20000, 1);
        std::vector<float> work = l;
        s.accept(s.sample(work).token);  // warm-up sizes the scratch
        const int64_t before = test::allocations();
        for (int step = 0; step < 30; ++step) {
            std::copy(l.begin(), l.end(), work.begin());
            s.accept(s.sample(work).token);
        }
        EXPECT_EQ(test::allocations() - before, 0) << "mode " << i;
    }
    // A fork carries the penalty state and allocates nothing once warmed up either.
    Sampler parent(modes[5], 20000, 1);
    Sampler child = parent.fork(2);
    std::vector<float> work = l;
    child.accept(child.sample(work).token);
    const int64_t before = test::allocations();
    for (int step = 0; step < 30; ++step) {
        std::copy(l.begin(), l.end(), work.begin());
        child.accept(child.sample(work).token);
    }
    EXPECT_EQ(test::allocations() - before, 0) << "fork";
}

TEST(Sampler, UnvalidatedInputDoesNotCrash) {
    // The engine validates first; the sampler still stays defined on bad input.
    SamplingParams p;
    p.min_p = 2.0f;  // keeps only the most likely token
    Sampler s(p, 5, 1);
    std::vector<float> l = {0.0f, 1.0f, 3.0f, 2.0f, -1.0f};
    for (int32_t t : draws(s, l, 50)) EXPECT_EQ(t, 2);
    SamplingParams q;
    q.top_p = 0.9f;
    Sampler nan_s(q, 4, 1);
    std::vector<float> nan_logits = {NAN, 1.0f, NAN, 1.5f};
    for (int32_t t : draws(nan_s, nan_logits, 200)) EXPECT_TRUE(t == 1 || t == 3);
    std::vector<float> inf_logits = {0.0f, INFINITY, 1.0f};
    Sampler inf_s(SamplingParams{}, 3, 1);
    EXPECT_EQ(inf_s.sample(inf_logits).token, 1);
    SampledToken empty = inf_s.sample(std::span<float>());
    EXPECT_EQ(empty.token, -1);
    inf_s.accept(-5);  // out of range: ignored
    inf_s.accept(1000);
}

}  // namespace
}  // namespace ig
