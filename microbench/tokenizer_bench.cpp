// Tokenizer throughput (MB/s of input text, single thread) on a few MB of
// generated English, code and CJK: Llama 3 byte-level BPE (tokenizer.json)
// and Llama 2 SentencePiece-style (vocab-only GGUF), from ../shared; a
// benchmark whose data is absent is skipped.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>

#include "gguf/gguf.h"
#include "tokenizer/gguf_vocab.h"
#include "tokenizer/hf_tokenizer_json.h"

namespace {

std::string shared(const std::string& rel) {
    const char* env = std::getenv("IG_SHARED_DIR");
    return std::string(env ? env : IG_BENCH_SHARED_DIR) + "/" + rel;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Deterministic text: sentences of common words with punctuation, numbers
// and contractions; C++-like code; Chinese and Japanese.
std::string make_text(size_t bytes, int english_pct, int code_pct) {
    static const char* words[] = {
        "the",        "of",        "and",   "to",     "in",    "is",     "was",       "that",
        "for",        "it",        "with",  "as",     "on",    "be",     "at",        "by",
        "this",       "had",       "not",   "are",    "but",   "from",   "or",        "have",
        "an",         "they",      "which", "one",    "you",   "were",   "her",       "all",
        "she",        "there",     "would", "their",  "we",    "him",    "been",      "has",
        "when",       "who",       "will",  "more",   "no",    "if",     "out",       "so",
        "said",       "what",      "up",    "its",    "about", "into",   "than",      "them",
        "can",        "only",      "other", "new",    "some",  "could",  "time",      "these",
        "two",        "may",       "then",  "do",     "first", "any",    "my",        "now",
        "such",       "like",      "our",   "over",   "man",   "me",     "even",      "most",
        "made",       "after",     "also",  "did",    "many",  "before", "must",      "through",
        "back",       "years",     "where", "much",   "your",  "way",    "well",      "down",
        "should",     "because",   "each",  "just",   "those", "people", "tokenizer", "inference",
        "throughput", "Wikipedia", "Hello", "didn't", "we're", "it's"};
    static const char* code[] = {"for (size_t i = 0; i < n; ++i) {\n",
                                 "    sum += a[i] * b[i];\n",
                                 "}\n",
                                 "return std::make_unique<Tokenizer>(std::move(v));\n",
                                 "if (x == nullptr) return -1;\n",
                                 "def forward(self, x):\n    return self.proj(x) + 0.5\n",
                                 "    // TODO: handle 0x7fff\n"};
    static const char* cjk[] = {
        "\xE6\x88\x91\xE6\x83\xB3\xE5\x9C\xA8",
        "\xE5\xB7\xA5\xE4\xBD\x9C",
        "\xE4\xBB\x8A\xE5\xA4\xA9\xE5\xA4\xA9\xE6\xB0\x94\xE5\xBE\x88\xE5\xA5\xBD",
        "\xE3\x81\x93\xE3\x82\x93\xE3\x81\xAB\xE3\x81\xA1\xE3\x81\xAF",
        "\xE3\x80\x82",
        "\xEF\xBC\x8C"};
    std::mt19937 rng(42);
    std::string s;
    s.reserve(bytes + 256);
    while (s.size() < bytes) {
        const int r = static_cast<int>(rng() % 100);
        if (r < english_pct) {
            const int n = 5 + static_cast<int>(rng() % 15);
            for (int i = 0; i < n; ++i) {
                s += words[rng() % std::size(words)];
                if (rng() % 17 == 0) s += std::to_string(rng() % 10000);
                s += (i + 1 < n) ? (rng() % 11 == 0 ? ", " : " ") : ". ";
            }
            if (rng() % 5 == 0) s += "\n\n";
        } else if (r < english_pct + code_pct) {
            s += code[rng() % std::size(code)];
        } else {
            for (int i = 0; i < 8; ++i) s += cjk[rng() % std::size(cjk)];
            s += "\n";
        }
    }
    return s;
}

const ig::Tokenizer* llama3() {
    static const std::unique_ptr<ig::Tokenizer> t = [] {
        const std::string dir = shared("tokenizers/hf/llama3");
        auto r = ig::tokenizer_from_hf_json(slurp(dir + "/tokenizer.json"),
                                            slurp(dir + "/tokenizer_config.json"));
        return r.ok() ? std::move(r).value() : nullptr;
    }();
    return t.get();
}

const ig::Tokenizer* llama_spm() {
    static const std::unique_ptr<ig::Tokenizer> t = []() -> std::unique_ptr<ig::Tokenizer> {
        auto f = ig::GgufFile::open(shared("tokenizers/gguf/ggml-vocab-llama-spm.gguf"));
        if (!f.ok()) return nullptr;
        auto r = ig::load_tokenizer(*f);
        return r.ok() ? std::move(r).value() : nullptr;
    }();
    return t.get();
}

void run(benchmark::State& state, const ig::Tokenizer* tok, const std::string& text) {
    if (tok == nullptr) {
        state.SkipWithError("tokenizer data not present in ../shared");
        return;
    }
    size_t n_tokens = 0;
    for (auto _ : state) {
        auto ids = tok->encode(text);
        n_tokens = ids.size();
        benchmark::DoNotOptimize(ids.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
    state.counters["bytes/token"] =
        static_cast<double>(text.size()) / static_cast<double>(n_tokens);
}

const std::string& english() {
    static const std::string s = make_text(4 << 20, 100, 0);
    return s;
}
const std::string& mixed() {
    static const std::string s = make_text(4 << 20, 60, 25);
    return s;
}

void BM_Llama3Bpe_English(benchmark::State& s) {
    run(s, llama3(), english());
}
void BM_Llama3Bpe_Mixed(benchmark::State& s) {
    run(s, llama3(), mixed());
}
void BM_LlamaSpm_English(benchmark::State& s) {
    run(s, llama_spm(), english());
}
void BM_LlamaSpm_Mixed(benchmark::State& s) {
    run(s, llama_spm(), mixed());
}

BENCHMARK(BM_Llama3Bpe_English)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Llama3Bpe_Mixed)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LlamaSpm_English)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LlamaSpm_Mixed)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
