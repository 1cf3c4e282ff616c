#include "model_tools/generate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <ostream>
#include <random>

#include "model/llama_model.h"
#include "tokenizer/gguf_vocab.h"
#include "tokenizer/spm_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace ig {
namespace {

int32_t argmax(const float* x, int64_t n) {
    return static_cast<int32_t>(std::max_element(x, x + n) - x);  // first maximum on ties
}

// Temperature, then top-k, then top-p (nucleus) over what is left.
int32_t sample(const float* logits, int64_t n, const GenerateOptions& o, std::mt19937_64& rng,
               std::vector<std::pair<float, int32_t>>& cand) {
    if (o.temperature <= 0.0f) return argmax(logits, n);
    cand.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) cand[i] = {logits[i] / o.temperature, static_cast<int32_t>(i)};
    size_t k = cand.size();
    if (o.top_k > 0 && static_cast<size_t>(o.top_k) < k) k = static_cast<size_t>(o.top_k);
    std::partial_sort(cand.begin(), cand.begin() + static_cast<std::ptrdiff_t>(k), cand.end(),
                      [](auto& a, auto& b) { return a.first > b.first; });
    cand.resize(k);
    const float mx = cand[0].first;
    double sum = 0;
    for (auto& c : cand) sum += (c.first = std::exp(c.first - mx));
    double cum = 0;
    size_t keep = cand.size();
    for (size_t i = 0; i < cand.size(); ++i) {
        cum += cand[i].first / sum;
        if (cum >= o.top_p) {
            keep = i + 1;
            break;
        }
    }
    cand.resize(keep);
    double total = 0;
    for (auto& c : cand) total += c.first;
    double r = std::uniform_real_distribution<double>(0.0, total)(rng);
    for (auto& c : cand) {
        r -= c.first;
        if (r <= 0) return c.second;
    }
    return cand.back().second;
}

}  // namespace

Expected<GenerateResult> run_generate(const GenerateOptions& o, std::ostream& out) {
    if (o.n_predict < 0) return make_error("-n must be >= 0");
    if (o.batch < 1) return make_error("--batch must be >= 1");
    if (o.temperature < 0 || !std::isfinite(o.temperature))
        return make_error("--temperature must be >= 0");
    auto kv_type = dtype_from_name(o.kv_type);
    if (!kv_type || (*kv_type != DType::F16 && *kv_type != DType::F32))
        return make_error("--kv-type must be f16 or f32");

    auto model = LlamaModel::load(o.model);
    if (!model.ok()) return make_error("{}: {}", o.model, model.error().message);
    LlamaModel& m = **model;
    const ModelConfig& cfg = m.config();
    // load_tokenizer: a Hugging Face folder's view reads the folder's tokenizer.json.
    auto loaded_tok = load_tokenizer(m.gguf());
    if (!loaded_tok.ok()) return loaded_tok.error();
    if ((*loaded_tok)->n_vocab() != cfg.n_vocab)
        return make_error("tokenizer has {} tokens, model has {}", (*loaded_tok)->n_vocab(),
                          cfg.n_vocab);
    std::unique_ptr<Tokenizer> tok = std::move(loaded_tok).value();

    GenerateResult res;
    res.prompt_ids = tok->encode(o.prompt);
    if (res.prompt_ids.empty()) return make_error("the prompt is empty and the model has no BOS");
    const auto n_prompt = static_cast<int64_t>(res.prompt_ids.size());
    const int64_t total = n_prompt + o.n_predict;
    if (total > cfg.n_ctx_train)
        return make_error("prompt ({} tokens) + -n {} exceeds the context length {}", n_prompt,
                          o.n_predict, cfg.n_ctx_train);

    ThreadPool pool(o.threads);
    const KvLayout layout = m.kv_layout(16, *kv_type);
    const int64_t n_blocks = (total + layout.block_tokens - 1) / layout.block_tokens;
    std::vector<uint8_t> kv_mem(static_cast<size_t>(n_blocks) * layout.block_bytes());
    KvCacheView kv{layout, kv_mem.data(), n_blocks};
    std::vector<int32_t> table(static_cast<size_t>(n_blocks));
    std::iota(table.begin(), table.end(), 0);
    std::vector<float> logits(static_cast<size_t>(cfg.n_vocab));

    using Clock = std::chrono::steady_clock;
    auto t0 = Clock::now();
    for (int64_t p = 0; p < n_prompt; p += o.batch) {
        const int64_t n = std::min(o.batch, n_prompt - p);
        ForwardBatch b;
        b.seqs.push_back({std::span<const int32_t>(res.prompt_ids).subspan(p, n), p, table,
                          p + n == n_prompt ? 1 : 0});
        IG_TRY(m.forward(b, kv, pool, logits));
    }
    auto t1 = Clock::now();
    res.prefill_seconds = std::chrono::duration<double>(t1 - t0).count();

    out << o.prompt << std::flush;
    IncrementalDecoder dec(*tok, o.prompt.empty());
    std::mt19937_64 rng(o.seed);
    std::vector<std::pair<float, int32_t>> cand;
    int32_t next = 0;
    ForwardBatch step;  // reused: the decode loop allocates nothing per token
    step.seqs.reserve(1);
    for (int64_t i = 0; i < o.n_predict; ++i) {
        next = sample(logits.data(), cfg.n_vocab, o, rng, cand);
        res.ids.push_back(next);
        if (tok->is_eog(next) && !o.ignore_eos) break;
        const std::string piece = dec.push(next);
        res.text += piece;
        out << piece << std::flush;
        if (i + 1 == o.n_predict) break;
        step.seqs.clear();
        step.seqs.push_back({std::span<const int32_t>(&next, 1), n_prompt + i, table, 1});
        IG_TRY(m.forward(step, kv, pool, logits));
    }
    const std::string tail = dec.flush();
    res.text += tail;
    out << tail << "\n";
    res.decode_seconds = std::chrono::duration<double>(Clock::now() - t1).count();
    return res;
}

}  // namespace ig
