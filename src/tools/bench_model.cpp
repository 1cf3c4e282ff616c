#include "tools/bench_model.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <numeric>
#include <ostream>
#include <random>

#include <fmt/format.h>

#include "model/llama_model.h"
#include "tools/bench_bandwidth.h"
#include "tools/bench_sync.h"

namespace ig {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

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

}  // namespace

Expected<nlohmann::json> run_bench_model(const BenchEngineOptions& o, std::ostream& out) {
    auto loaded = LlamaModel::load(o.model);
    if (!loaded.ok()) return make_error("{}: {}", o.model, loaded.error().message);
    LlamaModel& m = **loaded;
    const ModelConfig& c = m.config();
    ThreadPool pool(o.threads);
    const auto kv_type = o.kv_type == "f32" ? DType::F32 : DType::F16;
    const int64_t bt = 16;
    const KvLayout layout = m.kv_layout(bt, kv_type);
    const int64_t pp = std::min<int64_t>(512, c.n_ctx_train - 1);
    const int64_t tg = std::min<int64_t>(128, c.n_ctx_train - 2);
    const int64_t steps = o.output_len > 0 ? o.output_len : 16;
    const int64_t short_prompt = 16;
    const std::vector<int> batches = {1, 4, 16, 64};
    const int64_t per_seq_blocks = (short_prompt + steps + bt - 1) / bt;
    const int64_t n_blocks =
        std::max({(pp + bt) / bt, (tg + 1 + bt) / bt + 1, 64 * per_seq_blocks});
    std::vector<uint8_t> mem(static_cast<size_t>(n_blocks) * layout.block_bytes());
    KvCacheView kv{layout, mem.data(), n_blocks};
    std::vector<int32_t> table(static_cast<size_t>(n_blocks));
    std::iota(table.begin(), table.end(), 0);
    std::vector<float> logits(static_cast<size_t>(64 * c.n_vocab));
    std::mt19937_64 rng(o.seed);
    auto rand_tokens = [&](int64_t n) {
        std::vector<int32_t> v(static_cast<size_t>(n));
        for (auto& t : v) t = static_cast<int32_t>(rng() % static_cast<uint64_t>(c.n_vocab));
        return v;
    };

    // Warm-up (page in the weights), then pp512.
    auto prompt = rand_tokens(pp);
    ForwardBatch b;
    b.seqs.push_back({std::span<const int32_t>(prompt).first(16), 0, table, 1});
    IG_TRY(m.forward(b, kv, pool, logits));
    b.seqs.clear();
    b.seqs.push_back({prompt, 0, table, 1});
    auto t0 = Clock::now();
    IG_TRY(m.forward(b, kv, pool, logits));
    const double pp_tps = static_cast<double>(pp) / seconds_since(t0);
    out << fmt::format("pp{:<4}                {:9.1f} tokens/s\n", pp, pp_tps);

    // tg128: one sequence, one token per step from an empty context.
    std::vector<int32_t> tok = rand_tokens(tg + 1);
    b.seqs.clear();
    b.seqs.push_back({std::span<const int32_t>(tok).first(1), 0, table, 1});
    IG_TRY(m.forward(b, kv, pool, logits));
    const uint64_t jobs0 = pool.jobs_dispatched();
    const double wait0 = pool.barrier_wait_seconds();
    t0 = Clock::now();
    for (int64_t i = 1; i <= tg; ++i) {
        b.seqs.clear();
        b.seqs.push_back(
            {std::span<const int32_t>(tok).subspan(static_cast<size_t>(i), 1), i, table, 1});
        IG_TRY(m.forward(b, kv, pool, logits));
    }
    const double tg_tps = static_cast<double>(tg) / seconds_since(t0);
    const double jobs_per_token =
        static_cast<double>(pool.jobs_dispatched() - jobs0) / static_cast<double>(tg);
    // Share of decode time the calling thread waited at barriers.
    const double wait_share =
        (pool.barrier_wait_seconds() - wait0) * tg_tps / static_cast<double>(tg);
    out << fmt::format("tg{:<4}                {:9.2f} tokens/s\n", tg, tg_tps);

    // Decode paired with a streaming read: rounds of 16 decode steps (at the
    // positions tg128 used), each followed by one read pass; the medians.
    const int64_t wbytes = weight_bytes_per_token(m);
    double paired_read = 0, paired_ratio = 0;
    {
        ReadProbe probe(pool);
        constexpr int kRounds = 8;
        const int64_t per_round = std::min<int64_t>(16, tg);
        std::vector<double> reads, ratios;
        for (int r = 0; r < kRounds; ++r) {
            t0 = Clock::now();
            for (int64_t i = 1; i <= per_round; ++i) {
                b.seqs.clear();
                b.seqs.push_back({std::span<const int32_t>(tok).subspan(static_cast<size_t>(i), 1),
                                  i, table, 1});
                IG_TRY(m.forward(b, kv, pool, logits));
            }
            const double decode_gb =
                static_cast<double>(per_round * wbytes) / seconds_since(t0) / 1e9;
            const double read_gb = probe.pass_gb_per_s();
            if (read_gb <= 0) break;
            reads.push_back(read_gb);
            ratios.push_back(decode_gb / read_gb);
        }
        const auto median = [](std::vector<double> v) {
            if (v.empty()) return 0.0;
            std::sort(v.begin(), v.end());
            return v[v.size() / 2];
        };
        paired_read = median(reads);
        paired_ratio = median(ratios);
    }

    // Batched decode: B sequences of a 16-token prompt, then `steps` steps of B tokens.
    nlohmann::json batch_json = nlohmann::json::object();
    for (int B : batches) {
        std::vector<std::vector<int32_t>> toks;
        for (int s = 0; s < B; ++s) toks.push_back(rand_tokens(short_prompt + steps));
        auto seq_table = [&](int s) {
            return std::span<const int32_t>(table).subspan(static_cast<size_t>(s * per_seq_blocks),
                                                           static_cast<size_t>(per_seq_blocks));
        };
        b.seqs.clear();
        for (int s = 0; s < B; ++s)
            b.seqs.push_back(
                {std::span<const int32_t>(toks[s]).first(short_prompt), 0, seq_table(s), 1});
        IG_TRY(m.forward(b, kv, pool, logits));
        t0 = Clock::now();
        for (int64_t i = 0; i < steps; ++i) {
            b.seqs.clear();
            for (int s = 0; s < B; ++s)
                b.seqs.push_back({std::span<const int32_t>(toks[s]).subspan(
                                      static_cast<size_t>(short_prompt + i), 1),
                                  short_prompt + i, seq_table(s), 1});
            IG_TRY(m.forward(b, kv, pool, logits));
        }
        const double tps = static_cast<double>(B * steps) / seconds_since(t0);
        batch_json[std::to_string(B)] = tps;
        out << fmt::format("batch decode B={:<3}     {:9.2f} tokens/s\n", B, tps);
    }

    const double bw = measure_triad_gb_per_s(pool);
    const double eff = tg_tps * static_cast<double>(wbytes) / (bw * 1e9);
    out << fmt::format("bandwidth (triad)       {:9.2f} GB/s\n", bw);
    out << fmt::format("weight bytes / token    {:9.3f} GB\n", wbytes / 1e9);
    out << fmt::format("decode efficiency       {:9.1f} %\n", eff * 100);
    out << fmt::format("read (paired)           {:9.2f} GB/s\n", paired_read);
    out << fmt::format("decode / read (paired)  {:9.1f} %\n", paired_ratio * 100);
    // The pool's own cost per job (start + barrier) times the jobs a decode
    // step runs; waiting for the slowest thread's share is not in it.
    const double sync_us = measure_sync_us_per_job(pool);
    const double sync_share = sync_us * 1e-6 * jobs_per_token * tg_tps;
    out << fmt::format("sync per parallel op    {:9.2f} us\n", sync_us);
    out << fmt::format("parallel ops / token    {:9.1f}\n", jobs_per_token);
    out << fmt::format("sync share of decode    {:9.1f} %\n", sync_share * 100);
    out << fmt::format("barrier wait share      {:9.1f} %\n", wait_share * 100);
    return nlohmann::json{{"workload", "model"},
                          {"model", o.model},
                          {"type", main_weight_type(m)},
                          {"threads", pool.size()},
                          {"kv_type", o.kv_type},
                          {"pp512_tokens_per_s", pp_tps},
                          {"tg128_tokens_per_s", tg_tps},
                          {"batch_decode_tokens_per_s", batch_json},
                          {"batch_decode_steps", steps},
                          {"bandwidth_gb_per_s", bw},
                          {"weight_bytes_per_token", wbytes},
                          {"decode_efficiency", eff},
                          {"paired_read_gb_per_s", paired_read},
                          {"decode_read_ratio", paired_ratio},
                          {"sync_us_per_op", sync_us},
                          {"parallel_ops_per_token", jobs_per_token},
                          {"sync_share_of_decode", sync_share},
                          {"barrier_wait_share_of_decode", wait_share}};
}

}  // namespace ig
