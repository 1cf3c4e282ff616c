#pragma once
// Shared by the engine tests: a synthesised (or shared) model loaded with its
// tokenizer, an engine over it, and helpers that run requests to completion.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "model/llama_model.h"
#include "model_tools/synth.h"
#include "support/test_support.h"
#include "tokenizer/gguf_vocab.h"
#include "tokenizer/tokenizer.h"

namespace ig::test {

struct LoadedModel {
    std::shared_ptr<LlamaModel> model;
    std::shared_ptr<const Tokenizer> tokenizer;
};

inline LoadedModel load_model(const std::string& path) {
    LoadedModel m;
    auto model = LlamaModel::load(path);
    EXPECT_TRUE(model.ok()) << (model.ok() ? "" : model.error().message);
    if (!model.ok()) return m;
    m.model = std::shared_ptr<LlamaModel>(std::move(model).value());
    auto vocab = vocab_from_gguf(m.model->gguf());
    EXPECT_TRUE(vocab.ok());
    if (!vocab.ok()) return m;
    auto tok = make_tokenizer(std::move(vocab).value());
    EXPECT_TRUE(tok.ok());
    if (tok.ok()) m.tokenizer = std::shared_ptr<const Tokenizer>(std::move(tok).value());
    return m;
}

inline LoadedModel synth_and_load(const TempDir& dir, const std::string& preset, DType type,
                                  uint64_t seed = 7) {
    ThreadPool pool(1);
    const std::string path = dir.file(preset + ".gguf");
    auto spec = synth_preset(preset);
    EXPECT_TRUE(spec.has_value());
    EXPECT_TRUE(synth_model(*spec, type, seed, path, pool).ok());
    return load_model(path);
}

inline std::unique_ptr<Engine> make_engine(const LoadedModel& m, EngineConfig cfg) {
    auto e = Engine::create(m.model, m.tokenizer, cfg);
    EXPECT_TRUE(e.ok()) << (e.ok() ? "" : e.error().message);
    return e.ok() ? std::move(e).value() : nullptr;
}

// Everything one choice produced.
struct ChoiceResult {
    std::vector<int32_t> tokens;
    std::string text;
    std::optional<FinishReason> finish;
    std::string error;
    Usage usage;
    int finals = 0;  // final events seen (must be exactly 1)
};

// Pops until every choice has had its final event (or the timeout).
inline std::vector<ChoiceResult> collect(RequestStream& s,
                                         std::chrono::seconds timeout = std::chrono::seconds(60)) {
    std::vector<ChoiceResult> out(static_cast<size_t>(s.n_choices()));
    const auto end = std::chrono::steady_clock::now() + timeout;
    int finals = 0;
    while (finals < s.n_choices() && std::chrono::steady_clock::now() < end) {
        StreamEvent ev;
        if (!s.pop(ev, std::chrono::milliseconds(50))) continue;
        ChoiceResult& c = out.at(static_cast<size_t>(ev.choice));
        c.tokens.insert(c.tokens.end(), ev.tokens.begin(), ev.tokens.end());
        c.text += ev.text;
        if (ev.finish) {
            ++c.finals;
            ++finals;
            c.finish = ev.finish;
            c.error = ev.error;
            c.usage = ev.usage;
        }
    }
    return out;
}

inline GenerationRequest greedy(std::vector<int32_t> prompt, int64_t max_tokens) {
    return GenerationRequest::greedy(std::move(prompt), max_tokens);
}
inline std::vector<int32_t> random_tokens(std::mt19937_64& rng, int64_t n, int32_t n_vocab) {
    std::vector<int32_t> v(static_cast<size_t>(n));
    for (auto& t : v) t = static_cast<int32_t>(rng() % static_cast<uint64_t>(n_vocab));
    return v;
}

}  // namespace ig::test
