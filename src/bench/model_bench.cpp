#include "bench/model_bench.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <numeric>
#include <ostream>
#include <random>

#include <fmt/format.h>

#include "bench/bandwidth_probe.h"
#include "bench/sync_probe.h"
#include "model/llama_model.h"
#include "util/seconds_since.h"

namespace ig {
namespace {

using Clock = std::chrono::steady_clock;

// Bytes a decode step reads: every weight once, except the embedding table
// (one row) unless it doubles as the output projection.
int64_t weight_bytes_per_token(const LlamaModel& m) {
    int64_t total = 0;
    for (const GgufTensorInfo& t : m.gguf().tensors()) {
        if (t.name == "token_embd.weight" && !m.config().tied_output) {
            total += static_cast<int64_t>(
                t.n_bytes / std::max<uint64_t>(1, t.shape.size() > 1 ? t.shape[1] : 1));
            continue;
        }
        total += static_cast<int64_t>(t.n_bytes);
    }
    return total;
}

std::string main_weight_type(const LlamaModel& m) {
    std::map<std::string, uint64_t> bytes;
    for (const GgufTensorInfo& t : m.gguf().tensors())
        if (t.shape.size() == 2) bytes[std::string(dtype_name(t.type))] += t.n_bytes;
    std::string best;
    uint64_t most = 0;
    for (const auto& [name, b] : bytes)
        if (b > most) most = b, best = name;
    return best;
}

// One model's KV memory, logits and token source for the workloads below;
// each workload is one method, and they run in order on the same state.
class ModelBench {
  public:
    ModelBench(LlamaModel& m, const BenchEngineOptions& o)
        : m_(m),
          c_(m.config()),
          pool_(o.threads),
          pp_(std::min<int64_t>(512, c_.n_ctx_train - 1)),
          tg_(std::min<int64_t>(128, c_.n_ctx_train - 2)),
          steps_(o.output_len > 0 ? o.output_len : 16),
          per_seq_blocks_((kShortPrompt + steps_ + kBlockTokens - 1) / kBlockTokens),
          rng_(o.seed) {
        const KvLayout layout =
            m.kv_layout(kBlockTokens, o.kv_type == "f32" ? DType::F32 : DType::F16);
        const int64_t n_blocks =
            std::max({(pp_ + kBlockTokens) / kBlockTokens,
                      (tg_ + 1 + kBlockTokens) / kBlockTokens + 1, 64 * per_seq_blocks_});
        mem_.resize(static_cast<size_t>(n_blocks) * layout.block_bytes());
        kv_ = {layout, mem_.data(), n_blocks};
        table_.resize(static_cast<size_t>(n_blocks));
        std::iota(table_.begin(), table_.end(), 0);
        logits_.resize(static_cast<size_t>(64 * c_.n_vocab));
    }

    ThreadPool& pool() { return pool_; }
    int64_t pp() const { return pp_; }
    int64_t tg() const { return tg_; }
    int64_t steps() const { return steps_; }

    // Warm-up (pages in the weights), then one pp-token prompt; tokens/s.
    Expected<double> prefill() {
        auto prompt = rand_tokens(pp_);
        IG_TRY(forward_one(std::span<const int32_t>(prompt).first(16), 0));
        const auto t0 = Clock::now();
        IG_TRY(forward_one(prompt, 0));
        return static_cast<double>(pp_) / seconds_since(t0);
    }

    struct Decode {
        double tokens_per_s = 0;
        double jobs_per_token = 0;  // parallel jobs the pool ran per step
        double wait_share = 0;      // share of decode time the caller waited at barriers
    };
    // One sequence, one token per step from an empty context, tg steps.
    Expected<Decode> decode() {
        decode_tokens_ = rand_tokens(tg_ + 1);
        IG_TRY(forward_one(std::span<const int32_t>(decode_tokens_).first(1), 0));
        const uint64_t jobs0 = pool_.jobs_dispatched();
        const double wait0 = pool_.barrier_wait_seconds();
        const auto t0 = Clock::now();
        IG_TRY(decode_steps(tg_));
        Decode d;
        d.tokens_per_s = static_cast<double>(tg_) / seconds_since(t0);
        d.jobs_per_token =
            static_cast<double>(pool_.jobs_dispatched() - jobs0) / static_cast<double>(tg_);
        d.wait_share =
            (pool_.barrier_wait_seconds() - wait0) * d.tokens_per_s / static_cast<double>(tg_);
        return d;
    }

    struct Paired {
        double read_gb_per_s = 0;  // median streaming read
        double ratio = 0;          // median decode bytes/s over that read
    };
    // Decode paired with a streaming read: rounds of 16 decode steps (at the
    // positions decode() used), each followed by one read pass; the medians.
    Expected<Paired> paired(int64_t weight_bytes) {
        ReadProbe probe(pool_);
        constexpr int kRounds = 8;
        const int64_t per_round = std::min<int64_t>(16, tg_);
        std::vector<double> reads, ratios;
        for (int r = 0; r < kRounds; ++r) {
            const auto t0 = Clock::now();
            IG_TRY(decode_steps(per_round));
            const double decode_gb =
                static_cast<double>(per_round * weight_bytes) / seconds_since(t0) / 1e9;
            const double read_gb = probe.pass_gb_per_s();
            if (read_gb <= 0) break;
            reads.push_back(read_gb);
            ratios.push_back(decode_gb / read_gb);
        }
        return Paired{median(reads), median(ratios)};
    }

    // B sequences of a 16-token prompt, then steps() steps of B tokens; tokens/s.
    Expected<double> batched(int B) {
        std::vector<std::vector<int32_t>> toks;
        for (int s = 0; s < B; ++s) toks.push_back(rand_tokens(kShortPrompt + steps_));
        batch_.seqs.clear();
        for (int s = 0; s < B; ++s)
            batch_.seqs.push_back(
                {std::span<const int32_t>(toks[s]).first(kShortPrompt), 0, seq_table(s), 1});
        IG_TRY(m_.forward(batch_, kv_, pool_, logits_));
        const auto t0 = Clock::now();
        for (int64_t i = 0; i < steps_; ++i) {
            batch_.seqs.clear();
            for (int s = 0; s < B; ++s)
                batch_.seqs.push_back({std::span<const int32_t>(toks[s]).subspan(
                                           static_cast<size_t>(kShortPrompt + i), 1),
                                       kShortPrompt + i, seq_table(s), 1});
            IG_TRY(m_.forward(batch_, kv_, pool_, logits_));
        }
        return static_cast<double>(B * steps_) / seconds_since(t0);
    }

  private:
    static constexpr int64_t kBlockTokens = 16;
    static constexpr int64_t kShortPrompt = 16;

    static double median(std::vector<double> v) {
        if (v.empty()) return 0.0;
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    }
    std::vector<int32_t> rand_tokens(int64_t n) {
        std::vector<int32_t> v(static_cast<size_t>(n));
        for (auto& t : v) t = static_cast<int32_t>(rng_() % static_cast<uint64_t>(c_.n_vocab));
        return v;
    }
    Status forward_one(std::span<const int32_t> tokens, int64_t pos) {
        batch_.seqs.clear();
        batch_.seqs.push_back({tokens, pos, table_, 1});
        return m_.forward(batch_, kv_, pool_, logits_);
    }
    // Decode steps at positions 1..n of decode_tokens_.
    Status decode_steps(int64_t n) {
        for (int64_t i = 1; i <= n; ++i)
            IG_TRY(forward_one(
                std::span<const int32_t>(decode_tokens_).subspan(static_cast<size_t>(i), 1), i));
        return {};
    }
    std::span<const int32_t> seq_table(int s) const {
        return std::span<const int32_t>(table_).subspan(static_cast<size_t>(s * per_seq_blocks_),
                                                        static_cast<size_t>(per_seq_blocks_));
    }

    LlamaModel& m_;
    const ModelConfig& c_;
    ThreadPool pool_;
    const int64_t pp_, tg_, steps_, per_seq_blocks_;
    std::mt19937_64 rng_;
    std::vector<uint8_t> mem_;
    KvCacheView kv_;
    std::vector<int32_t> table_;
    std::vector<float> logits_;
    std::vector<int32_t> decode_tokens_;
    ForwardBatch batch_;
};

}  // namespace

Expected<nlohmann::json> run_bench_model(const BenchEngineOptions& o, std::ostream& out) {
    auto loaded = LlamaModel::load(o.model);
    if (!loaded.ok()) return make_error("{}: {}", o.model, loaded.error().message);
    LlamaModel& m = **loaded;
    ModelBench bench(m, o);
    ThreadPool& pool = bench.pool();

    double pp_tps = 0;
    IG_ASSIGN_OR_RETURN(pp_tps, bench.prefill());
    out << fmt::format("pp{:<4}                {:9.1f} tokens/s\n", bench.pp(), pp_tps);
    ModelBench::Decode d;
    IG_ASSIGN_OR_RETURN(d, bench.decode());
    const double tg_tps = d.tokens_per_s;
    out << fmt::format("tg{:<4}                {:9.2f} tokens/s\n", bench.tg(), tg_tps);
    const int64_t wbytes = weight_bytes_per_token(m);
    ModelBench::Paired paired;
    IG_ASSIGN_OR_RETURN(paired, bench.paired(wbytes));
    nlohmann::json batch_json = nlohmann::json::object();
    for (int B : {1, 4, 16, 64}) {
        double tps = 0;
        IG_ASSIGN_OR_RETURN(tps, bench.batched(B));
        batch_json[std::to_string(B)] = tps;
        out << fmt::format("batch decode B={:<3}     {:9.2f} tokens/s\n", B, tps);
    }

    const double bw = measure_triad_gb_per_s(pool);
    const double eff = tg_tps * static_cast<double>(wbytes) / (bw * 1e9);
    out << fmt::format("bandwidth (triad)       {:9.2f} GB/s\n", bw);
    out << fmt::format("weight bytes / token    {:9.3f} GB\n", wbytes / 1e9);
    out << fmt::format("decode efficiency       {:9.1f} %\n", eff * 100);
    out << fmt::format("read (paired)           {:9.2f} GB/s\n", paired.read_gb_per_s);
    out << fmt::format("decode / read (paired)  {:9.1f} %\n", paired.ratio * 100);
    // The pool's own cost per job (start + barrier) times the jobs a decode
    // step runs; waiting for the slowest thread's share is not in it.
    const double sync_us = measure_sync_us_per_job(pool);
    const double sync_share = sync_us * 1e-6 * d.jobs_per_token * tg_tps;
    out << fmt::format("sync per parallel op    {:9.2f} us\n", sync_us);
    out << fmt::format("parallel ops / token    {:9.1f}\n", d.jobs_per_token);
    out << fmt::format("sync share of decode    {:9.1f} %\n", sync_share * 100);
    out << fmt::format("barrier wait share      {:9.1f} %\n", d.wait_share * 100);
    return nlohmann::json{{"workload", "model"},
                          {"model", o.model},
                          {"type", main_weight_type(m)},
                          {"threads", pool.size()},
                          {"kv_type", o.kv_type},
                          {"pp512_tokens_per_s", pp_tps},
                          {"tg128_tokens_per_s", tg_tps},
                          {"batch_decode_tokens_per_s", batch_json},
                          {"batch_decode_steps", bench.steps()},
                          {"bandwidth_gb_per_s", bw},
                          {"weight_bytes_per_token", wbytes},
                          {"decode_efficiency", eff},
                          {"paired_read_gb_per_s", paired.read_gb_per_s},
                          {"decode_read_ratio", paired.ratio},
                          {"sync_us_per_op", sync_us},
                          {"parallel_ops_per_token", d.jobs_per_token},
                          {"sync_share_of_decode", sync_share},
                          {"barrier_wait_share_of_decode", d.wait_share}};
}

}  // namespace ig
