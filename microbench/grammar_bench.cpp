// Constrained decoding costs: compiling a nested JSON Schema, and the token
// masks along a valid document, cold (a fresh automaton: every state's mask
// computed by the vocabulary-trie scan) and warm (masks cached), over real
// vocabularies from ../shared: Llama 2 SentencePiece (32k tokens) and
// Qwen3 byte-level BPE (151k). Per-token figures are what a decode step
// adds per constrained sequence.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "engine/grammar_automata.h"
#include "gguf/gguf.h"
#include "grammar/grammar_matcher.h"
#include "grammar/json_schema_grammar.h"
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

const char* kSchema = R"({"type":"object","properties":{
  "id":{"type":"string","format":"uuid"},
  "customer":{"type":"object","properties":{"name":{"type":"string"},
    "email":{"type":"string","format":"email"},
    "address":{"type":"object","properties":{"street":{"type":"string"},"city":{"type":"string"},
      "zip":{"type":"string","pattern":"^[0-9]{5}$"}},"required":["street","city","zip"]}},
    "required":["name","email","address"]},
  "items":{"type":"array","items":{"type":"object","properties":{"sku":{"type":"string"},
    "qty":{"type":"integer","minimum":1,"maximum":99},"price":{"type":"number","minimum":0}},
    "required":["sku","qty","price"]}},
  "status":{"enum":["new","paid","shipped"]},"notes":{"type":["string","null"]}},
  "required":["id","customer","items","status","notes"],"additionalProperties":false})";

const char* kDocument =
    R"({"id": "123e4567-e89b-12d3-a456-426614174000", "customer": {"name": "Ada Lovelace", )"
    R"("email": "ada@example.com", "address": {"street": "12 Analytical Way", "city": "London", )"
    R"("zip": "12345"}}, "items": [{"sku": "A-1", "qty": 2, "price": 9.5}, {"sku": "B-22", )"
    R"("qty": 1, "price": 120}], "status": "paid", "notes": null})";

struct Setup {
    std::unique_ptr<ig::Tokenizer> tok;
    std::shared_ptr<const ig::grammar::VocabTrie> trie;
    std::shared_ptr<const ig::grammar::Grammar> grammar;
    std::vector<int32_t> doc;  // the document's tokens
};

std::unique_ptr<Setup> make(std::unique_ptr<ig::Tokenizer> tok) {
    if (!tok) return nullptr;
    auto s = std::make_unique<Setup>();
    s->tok = std::move(tok);
    s->trie = std::make_shared<const ig::grammar::VocabTrie>(ig::token_vocab(*s->tok));
    auto g = ig::grammar::json_schema_grammar(nlohmann::ordered_json::parse(kSchema));
    if (!g.ok()) return nullptr;
    s->grammar = std::make_shared<const ig::grammar::Grammar>(std::move(g).value());
    ig::EncodeOptions opt;
    opt.add_special = false;
    s->doc = s->tok->encode(kDocument, opt);
    // SentencePiece puts a space before the first word ("▁{"); a model
    // continuing a prompt writes "{" instead, which is what the grammar allows.
    if (!s->doc.empty()) {
        const std::string first = s->tok->token_to_piece(s->doc[0]);
        for (int32_t id = 0; first.size() > 1 && first[0] == ' ' && id < s->tok->n_vocab(); ++id)
            if (s->tok->token_to_piece(id) == first.substr(1)) {
                s->doc[0] = id;
                break;
            }
    }
    return s;
}

const Setup* qwen3() {
    static const auto s = [] {
        const std::string dir = shared("tokenizers/hf/qwen3");
        auto r = ig::tokenizer_from_hf_json(slurp(dir + "/tokenizer.json"),
                                            slurp(dir + "/tokenizer_config.json"));
        return make(r.ok() ? std::move(r).value() : nullptr);
    }();
    return s.get();
}

const Setup* llama_spm() {
    static const auto s = [] {
        auto f = ig::GgufFile::open(shared("tokenizers/gguf/ggml-vocab-llama-spm.gguf"));
        if (!f.ok()) return std::unique_ptr<Setup>();
        auto r = ig::load_tokenizer(*f);
        return make(r.ok() ? std::move(r).value() : nullptr);
    }();
    return s.get();
}

// Masks and steps along the document's tokens; false if the grammar refuses one.
bool walk(ig::grammar::TokenAutomaton& a, const std::vector<int32_t>& doc) {
    int32_t st = a.start();
    for (int32_t t : doc) {
        benchmark::DoNotOptimize(a.mask(st).data());
        st = a.step_token(st, t);
        if (st < 0) return false;
    }
    return true;
}

void masks(benchmark::State& state, const Setup* s, bool warm) {
    if (!s) {
        state.SkipWithError("tokenizer data not present in ../shared");
        return;
    }
    auto shared_automaton = std::make_shared<ig::grammar::TokenAutomaton>(s->grammar, s->trie);
    if (warm && !walk(*shared_automaton, s->doc))
        state.SkipWithError("the grammar refuses the document");
    for (auto _ : state) {
        if (warm) {
            walk(*shared_automaton, s->doc);
        } else {
            ig::grammar::TokenAutomaton fresh(s->grammar, s->trie);
            if (!walk(fresh, s->doc)) state.SkipWithError("the grammar refuses the document");
        }
    }
    state.counters["tokens"] = static_cast<double>(s->doc.size());
    state.counters["per_token"] =
        benchmark::Counter(static_cast<double>(state.iterations() * s->doc.size()),
                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_CompileSchema(benchmark::State& state) {
    const auto schema = nlohmann::ordered_json::parse(kSchema);
    for (auto _ : state) {
        auto g = ig::grammar::json_schema_grammar(schema);
        benchmark::DoNotOptimize(g.ok());
    }
}
void BM_MasksCold_LlamaSpm32k(benchmark::State& s) {
    masks(s, llama_spm(), false);
}
void BM_MasksWarm_LlamaSpm32k(benchmark::State& s) {
    masks(s, llama_spm(), true);
}
void BM_MasksCold_Qwen3_151k(benchmark::State& s) {
    masks(s, qwen3(), false);
}
void BM_MasksWarm_Qwen3_151k(benchmark::State& s) {
    masks(s, qwen3(), true);
}

// Applying a cached mask to one sequence's logits (once per step).
void BM_ApplyMask_Qwen3_151k(benchmark::State& state) {
    const Setup* s = qwen3();
    if (!s) {
        state.SkipWithError("tokenizer data not present in ../shared");
        return;
    }
    auto a = std::make_shared<ig::grammar::TokenAutomaton>(s->grammar, s->trie);
    ig::grammar::GrammarMatcher m(a);
    for (size_t i = 0; i < 12 && i < s->doc.size(); ++i) m.accept(s->doc[i]);  // inside a string
    std::vector<float> logits(static_cast<size_t>(s->tok->n_vocab()), 0.5f);
    for (auto _ : state) {
        m.apply(logits);
        benchmark::DoNotOptimize(logits.data());
    }
}

}  // namespace

BENCHMARK(BM_CompileSchema)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MasksCold_LlamaSpm32k)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MasksWarm_LlamaSpm32k)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MasksCold_Qwen3_151k)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MasksWarm_Qwen3_151k)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ApplyMask_Qwen3_151k)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
