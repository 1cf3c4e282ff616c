#include "bench/workload.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ig {
namespace {

constexpr std::array<std::string_view, 128> kWords = {
    "the",   "of",    "and",   "to",     "in",    "is",    "you",     "that",   "it",    "he",
    "was",   "for",   "on",    "are",    "as",    "with",  "his",     "they",   "at",    "be",
    "this",  "have",  "from",  "or",     "one",   "had",   "by",      "word",   "but",   "not",
    "what",  "all",   "were",  "we",     "when",  "your",  "can",     "said",   "there", "use",
    "an",    "each",  "which", "she",    "do",    "how",   "their",   "if",     "will",  "up",
    "other", "about", "out",   "many",   "then",  "them",  "these",   "so",     "some",  "her",
    "would", "make",  "like",  "him",    "into",  "time",  "has",     "look",   "two",   "more",
    "write", "go",    "see",   "number", "no",    "way",   "could",   "people", "my",    "than",
    "first", "water", "been",  "call",   "who",   "oil",   "its",     "now",    "find",  "long",
    "down",  "day",   "did",   "get",    "come",  "made",  "may",     "part",   "over",  "new",
    "sound", "take",  "only",  "little", "work",  "know",  "place",   "year",   "live",  "me",
    "back",  "give",  "most",  "very",   "after", "thing", "our",     "just",   "name",  "good",
    "man",   "think", "say",   "great",  "where", "help",  "through", "much",
};

Status positive(const char* flag, int64_t v) {
    if (v <= 0) return make_error("{} must be positive (got {})", flag, v);
    return {};
}

Expected<std::vector<Session>> from_dataset(const WorkloadOptions& o) {
    std::ifstream in(o.dataset);
    if (!in) return make_error("--dataset {}: cannot open", o.dataset);
    std::vector<Session> lines;
    std::string line;
    for (int lineno = 1; std::getline(in, line); ++lineno) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object())
            return make_error("--dataset {}:{}: not a JSON object", o.dataset, lineno);
        if (!j.contains("prompt") || !j["prompt"].is_string())
            return make_error("--dataset {}:{}: needs a string \"prompt\"", o.dataset, lineno);
        Turn t;
        t.user = j["prompt"].get<std::string>();
        t.output_len = o.output_len;
        if (j.contains("output_len")) {
            if (!j["output_len"].is_number_integer() || j["output_len"].get<int64_t>() <= 0 ||
                j["output_len"].get<int64_t>() > (1 << 24))
                return make_error("--dataset {}:{}: \"output_len\" must be a positive integer",
                                  o.dataset, lineno);
            t.output_len = j["output_len"].get<int32_t>();
        }
        lines.push_back(Session{{std::move(t)}});
    }
    if (lines.empty()) return make_error("--dataset {}: no prompts", o.dataset);
    std::vector<Session> out;
    for (int32_t i = 0; i < o.num_prompts; ++i) out.push_back(lines[i % lines.size()]);
    return out;
}

}  // namespace

std::string random_words(std::mt19937_64& rng, int32_t n) {
    std::string s;
    s.reserve(static_cast<size_t>(n) * 6);
    for (int32_t i = 0; i < n; ++i) {
        if (i) s += ' ';
        s += kWords[rng() % kWords.size()];
    }
    return s;
}

int32_t sample_len(std::mt19937_64& rng, int32_t len, double r) {
    if (r <= 0) return std::max(1, len);
    const auto lo = std::max<int64_t>(1, std::llround(len * (1.0 - r)));
    const auto hi = std::max<int64_t>(lo, std::llround(len * (1.0 + r)));
    return static_cast<int32_t>(lo +
                                static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1)));
}

Status validate(const WorkloadOptions& o) {
    if (!(o.range_ratio >= 0.0 && o.range_ratio < 1.0))
        return make_error("--range-ratio must be in [0, 1) (got {})", o.range_ratio);
    IG_TRY(positive("--output-len", o.output_len));
    if (o.kind == "random") {
        IG_TRY(positive("--num-prompts", o.num_prompts));
        IG_TRY(positive("--input-len", o.input_len));
    } else if (o.kind == "shared-prefix") {
        IG_TRY(positive("--num-prefixes", o.num_prefixes));
        IG_TRY(positive("--prefix-len", o.prefix_len));
        IG_TRY(positive("--questions-per-prefix", o.questions_per_prefix));
        IG_TRY(positive("--question-len", o.question_len));
    } else if (o.kind == "multi-turn") {
        IG_TRY(positive("--num-sessions", o.num_sessions));
        IG_TRY(positive("--turns", o.turns));
        IG_TRY(positive("--input-len", o.input_len));
        if (o.first_turn_len < 0)
            return make_error("--first-turn-len must be >= 0 (got {})", o.first_turn_len);
    } else if (o.kind == "dataset") {
        IG_TRY(positive("--num-prompts", o.num_prompts));
        if (o.dataset.empty()) return make_error("--workload dataset needs --dataset FILE.jsonl");
    } else {
        return make_error("unknown --workload '{}' (random, shared-prefix, multi-turn, dataset)",
                          o.kind);
    }
    return {};
}

Expected<std::vector<Session>> make_workload(const WorkloadOptions& o) {
    IG_TRY(validate(o));
    std::mt19937_64 rng(o.seed);
    std::vector<Session> out;
    if (o.kind == "dataset") return from_dataset(o);
    if (o.kind == "random") {
        for (int32_t i = 0; i < o.num_prompts; ++i) {
            Turn t;
            t.user = random_words(rng, sample_len(rng, o.input_len, o.range_ratio));
            t.output_len = sample_len(rng, o.output_len, o.range_ratio);
            out.push_back(Session{{std::move(t)}});
        }
    } else if (o.kind == "shared-prefix") {
        std::vector<std::string> prefixes;
        for (int32_t p = 0; p < o.num_prefixes; ++p)
            prefixes.push_back(random_words(rng, o.prefix_len));
        for (int32_t q = 0; q < o.questions_per_prefix; ++q)
            for (int32_t p = 0; p < o.num_prefixes; ++p) {
                Turn t;
                t.system = prefixes[static_cast<size_t>(p)];
                t.user = random_words(rng, sample_len(rng, o.question_len, o.range_ratio));
                t.output_len = sample_len(rng, o.output_len, o.range_ratio);
                out.push_back(Session{{std::move(t)}});
            }
        std::shuffle(out.begin(), out.end(), rng);
    } else {  // multi-turn
        for (int32_t s = 0; s < o.num_sessions; ++s) {
            Session session;
            for (int32_t k = 0; k < o.turns; ++k) {
                // A long first turn (a document, an agent's context) then
                // short follow-ups: the shape where re-use matters most.
                const int32_t len = k == 0 ? o.first_turn_words() : o.input_len;
                Turn t;
                t.user = random_words(rng, sample_len(rng, len, o.range_ratio));
                t.output_len = sample_len(rng, o.output_len, o.range_ratio);
                session.turns.push_back(std::move(t));
            }
            out.push_back(std::move(session));
        }
    }
    return out;
}

}  // namespace ig
