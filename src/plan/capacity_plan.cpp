#include "plan/capacity_plan.h"

#include <cmath>
#include <fstream>
#include <ostream>

#include <fmt/format.h>

#include "gguf/gguf.h"
#include "model/hf_folder.h"
#include "model/model_config.h"
#include "tensor/dtype.h"

namespace ig {
namespace {

Status positive(const char* flag, const std::optional<double>& v) {
    if (v && !(*v > 0 && std::isfinite(*v)))
        return make_error("{} must be a positive number (got {})", flag, *v);
    return {};
}
Status positive(const char* flag, const std::optional<int64_t>& v) {
    if (v && *v <= 0) return make_error("{} must be a positive integer (got {})", flag, *v);
    return {};
}

Expected<nlohmann::json> read_json(const std::string& path, const char* flag) {
    std::ifstream f(path);
    if (!f) return make_error("{} {}: cannot open", flag, path);
    auto j = nlohmann::json::parse(f, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return make_error("{} {}: not a JSON object", flag, path);
    return j;
}

// A `bench serve` run meets the SLO when its p99s do.
bool meets(const nlohmann::json& run, const PlanInputs& in) {
    auto ok = [&](const std::optional<double>& slo, const char* key) {
        return !slo || run.value(key, INFINITY) <= *slo;
    };
    return ok(in.slo_ttft_ms, "p99_ttft_ms") && ok(in.slo_tpot_ms, "p99_tpot_ms") &&
           ok(in.slo_e2e_ms, "p99_e2el_ms");
}

std::string gib(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        ++u;
    }
    return fmt::format("{:.2f} {}", bytes, units[u]);
}

}  // namespace

Expected<double> bytes_per_element(const std::string& dtype) {
    if (dtype == "f64") return 8.0;
    const auto t = dtype_from_name(dtype);
    if (!t)
        return make_error("unknown dtype '{}' (f32, f16, bf16, q8_0, q4_0, q4_k, q6_k, ...)",
                          dtype);
    const auto info = dtype_info(static_cast<uint32_t>(*t));
    if (!info) return make_error("unknown dtype '{}'", dtype);
    return static_cast<double>(info->block_bytes) / info->block_elems;
}

namespace {

// Every number is positive where given; headroom and hit rate in range.
Status validate(const PlanInputs& in) {
    IG_TRY(positive("--params", in.params));
    IG_TRY(positive("--layers", in.layers));
    IG_TRY(positive("--kv-heads", in.kv_heads));
    IG_TRY(positive("--head-dim", in.head_dim));
    IG_TRY(positive("--qps", in.qps));
    IG_TRY(positive("--prompt-tokens", in.prompt_tokens));
    IG_TRY(positive("--output-tokens", in.output_tokens));
    IG_TRY(positive("--tokens-per-s", in.tokens_per_s));
    IG_TRY(positive("--memory-bytes", in.memory_bytes));
    IG_TRY(positive("--context", in.context));
    IG_TRY(positive("--concurrency", in.concurrency));
    IG_TRY(positive("--distinct-prefixes", in.distinct_prefixes));
    IG_TRY(positive("--prefix-tokens", in.prefix_tokens));
    IG_TRY(positive("--slo ttft", in.slo_ttft_ms));
    IG_TRY(positive("--slo tpot", in.slo_tpot_ms));
    IG_TRY(positive("--slo e2e", in.slo_e2e_ms));
    if (!(in.headroom >= 1.0 && std::isfinite(in.headroom)))
        return make_error("--headroom must be >= 1 (got {})", in.headroom);
    if (in.hit_rate && !(*in.hit_rate > 0 && *in.hit_rate <= 1))
        return make_error("--hit-rate must be in (0, 1] (got {})", *in.hit_rate);
    return {};
}

// The model's shape (from the GGUF file or by hand) into `in`, its section
// into j["model"]; returns the weight bytes when known.
Expected<std::optional<double>> plan_model(PlanInputs& in, nlohmann::json& j) {
    nlohmann::json model;
    std::optional<double> weight_bytes;
    if (!in.model_path.empty()) {
        auto opened = open_model_file(in.model_path);
        if (!opened.ok())
            return make_error("--model {}: {}", in.model_path, opened.error().message);
        const GgufFile* f = opened->get();
        auto cfg = ModelConfig::from_gguf(*f);
        if (!cfg.ok()) return make_error("--model {}: {}", in.model_path, cfg.error().message);
        in.layers = in.layers.value_or(cfg->n_layer);
        in.kv_heads = in.kv_heads.value_or(cfg->n_head_kv);
        in.head_dim = in.head_dim.value_or(cfg->head_dim);
        double sum = 0, n_params = 0;
        for (const auto& t : f->tensors()) {
            sum += static_cast<double>(t.n_bytes);
            n_params += static_cast<double>(t.n_elements);
        }
        weight_bytes = sum;
        model["file"] = in.model_path;
        model["params"] = n_params;
        model["weight_bytes_source"] = "sum of GGUF tensor bytes";
    } else {
        if (!in.layers || !in.kv_heads || !in.head_dim)
            return make_error(
                "give --model FILE.gguf, or the shape by hand: --layers, --kv-heads and --head-dim "
                "(missing: {}{}{})",
                in.layers ? "" : "--layers ", in.kv_heads ? "" : "--kv-heads ",
                in.head_dim ? "" : "--head-dim");
        if (in.params) {
            double bpw = 0;
            IG_ASSIGN_OR_RETURN(bpw, bytes_per_element(in.dtype));
            weight_bytes = *in.params * bpw;
            model["params"] = *in.params;
            model["dtype"] = in.dtype;
            model["weight_bytes_source"] =
                fmt::format("params x {} bytes per weight ({})", bpw, in.dtype);
        }
    }
    // Only what `serve --kv-type` can hold: a plan for a KV cache the server
    // cannot build would be a plan for nothing.
    if (in.kv_dtype != "f16" && in.kv_dtype != "f32")
        return make_error("--kv-dtype '{}' is not a KV type serve supports (--kv-type f16 or f32)",
                          in.kv_dtype);
    model["layers"] = *in.layers;
    model["kv_heads"] = *in.kv_heads;
    model["head_dim"] = *in.head_dim;
    model["kv_dtype"] = in.kv_dtype;
    if (weight_bytes) model["weight_bytes"] = *weight_bytes;
    j["model"] = model;
    return weight_bytes;
}

// Traffic (given, or read from a bench run) and the replicas it needs.
Status plan_traffic(PlanInputs& in, nlohmann::json& j) {
    if (!in.from_bench.empty()) {
        nlohmann::json b;
        IG_ASSIGN_OR_RETURN(b, read_json(in.from_bench, "--from-bench"));
        if (b.contains("sweep"))
            return make_error("--from-bench {}: give a single run, not a sweep", in.from_bench);
        const double done = b.value("completed", 0.0);
        if (!(done > 0)) return make_error("--from-bench {}: no completed requests", in.from_bench);
        in.qps = in.qps.value_or(b.value("request_throughput", 0.0));
        in.prompt_tokens = in.prompt_tokens.value_or(b.value("total_input_tokens", 0.0) / done);
        in.output_tokens = in.output_tokens.value_or(b.value("total_output_tokens", 0.0) / done);
        IG_TRY(positive("--from-bench request_throughput", in.qps));
        IG_TRY(positive("--from-bench output tokens per request", in.output_tokens));
    }
    if (!in.replica_bench.empty() && !in.tokens_per_s) {
        nlohmann::json b;
        IG_ASSIGN_OR_RETURN(b, read_json(in.replica_bench, "--replica-bench"));
        nlohmann::json runs = b.contains("sweep") ? b["sweep"] : nlohmann::json::array({b});
        double best = 0;
        for (const auto& r : runs)
            if (meets(r, in)) best = std::max(best, r.value("output_throughput", 0.0));
        if (!(best > 0))
            return make_error("--replica-bench {}: no run meets the SLO (p99s)", in.replica_bench);
        in.tokens_per_s = best;
        j["tokens_per_s_source"] = in.replica_bench;
    }
    nlohmann::json traffic = nlohmann::json::object();
    if (in.qps) traffic["qps"] = *in.qps;
    if (in.prompt_tokens) traffic["prompt_tokens"] = *in.prompt_tokens;
    if (in.output_tokens) traffic["output_tokens"] = *in.output_tokens;
    j["traffic"] = traffic;
    if (in.qps || in.tokens_per_s) {
        if (!in.qps || !in.output_tokens || !in.tokens_per_s)
            return make_error(
                "replicas need --qps, --output-tokens (or --from-bench) and --tokens-per-s (or "
                "--replica-bench); missing: {}{}{}",
                in.qps ? "" : "--qps ", in.output_tokens ? "" : "--output-tokens ",
                in.tokens_per_s ? "" : "--tokens-per-s");
        const double required = *in.qps * *in.output_tokens;
        const double raw = required / *in.tokens_per_s;
        j["required_output_tokens_per_s"] = required;
        j["tokens_per_s_per_replica"] = *in.tokens_per_s;
        j["headroom"] = in.headroom;
        j["replicas_exact"] = raw;
        // ceil after headroom: a 1.3x margin on 2.1 replicas is ceil(2.73) = 3.
        j["replicas"] = static_cast<int64_t>(std::ceil(raw * in.headroom - 1e-9));
        j["replicas_rounding"] = "ceil(required / per_replica x headroom)";
    }
    return {};
}

// KV bytes for the target concurrency and context; what fits in memory.
Status plan_memory(const PlanInputs& in, double kv_per_token, std::optional<double> weight_bytes,
                   nlohmann::json& j) {
    std::optional<int64_t> context = in.context;
    if (!context && in.prompt_tokens && in.output_tokens)
        context = static_cast<int64_t>(std::ceil(*in.prompt_tokens + *in.output_tokens));
    if (context) {
        j["context"] = *context;
        j["kv_bytes_per_sequence"] = kv_per_token * static_cast<double>(*context);
    }
    if (in.concurrency) {
        if (!context) return make_error("--concurrency needs --context (tokens per sequence)");
        j["concurrency"] = *in.concurrency;
        j["kv_bytes_for_concurrency"] =
            kv_per_token * static_cast<double>(*context) * *in.concurrency;
        if (weight_bytes)
            j["memory_bytes_per_replica"] =
                *weight_bytes + j["kv_bytes_for_concurrency"].get<double>();
    }
    if (in.memory_bytes) {
        if (!weight_bytes)
            return make_error("--memory-bytes needs the weight bytes: --model or --params");
        if (!context) return make_error("--memory-bytes needs --context (tokens per sequence)");
        const double free = *in.memory_bytes - *weight_bytes;
        if (free <= 0)
            return make_error("--memory-bytes {} does not hold the weights ({} bytes)",
                              *in.memory_bytes, *weight_bytes);
        j["memory_bytes"] = *in.memory_bytes;
        j["kv_bytes_available"] = free;
        j["max_sequences_per_replica"] =
            static_cast<int64_t>(std::floor(free / (kv_per_token * static_cast<double>(*context))));
        j["max_kv_tokens_per_replica"] = static_cast<int64_t>(std::floor(free / kv_per_token));
    }
    return {};
}

// Prefix working set: with uniformly popular prefixes and an LRU tier,
// the hit rate is about the fraction of the distinct prefixes' KV the
// tier holds, so it must hold hit_rate x prefixes x tokens x bytes/token.
Status plan_prefix_working_set(const PlanInputs& in, double kv_per_token, nlohmann::json& j) {
    if (in.hit_rate || in.distinct_prefixes || in.prefix_tokens) {
        if (!in.distinct_prefixes || !in.prefix_tokens)
            return make_error(
                "the prefix working set needs --distinct-prefixes and --prefix-tokens");
        const double h = in.hit_rate.value_or(1.0);
        const double full = static_cast<double>(*in.distinct_prefixes) *
                            static_cast<double>(*in.prefix_tokens) * kv_per_token;
        j["prefix_working_set"] = {
            {"distinct_prefixes", *in.distinct_prefixes},
            {"prefix_tokens", *in.prefix_tokens},
            {"hit_rate", h},
            {"all_prefixes_bytes", full},
            {"tier_bytes", h * full},
            {"model",
             "uniform prefix popularity, LRU tier: hit rate ~ fraction of the prefixes' KV "
             "held, so tier_bytes = hit_rate x prefixes x prefix_tokens x kv_bytes_per_token"}};
    }
    return {};
}

}  // namespace

Expected<nlohmann::json> make_plan(const PlanInputs& in_) {
    PlanInputs in = in_;
    IG_TRY(validate(in));
    nlohmann::json j;
    std::optional<double> weight_bytes;
    IG_ASSIGN_OR_RETURN(weight_bytes, plan_model(in, j));
    double kv_elem = 0;
    IG_ASSIGN_OR_RETURN(kv_elem, bytes_per_element(in.kv_dtype));
    const double kv_per_token = 2.0 * static_cast<double>(*in.layers) *
                                static_cast<double>(*in.kv_heads) *
                                static_cast<double>(*in.head_dim) * kv_elem;
    j["kv_bytes_per_token"] = kv_per_token;
    j["kv_bytes_per_token_formula"] =
        fmt::format("2 (K and V) x {} layers x {} kv_heads x {} head_dim x {} bytes ({}) = {}",
                    *in.layers, *in.kv_heads, *in.head_dim, kv_elem, in.kv_dtype, kv_per_token);

    IG_TRY(plan_traffic(in, j));
    IG_TRY(plan_memory(in, kv_per_token, weight_bytes, j));
    IG_TRY(plan_prefix_working_set(in, kv_per_token, j));
    return j;
}

void print_plan(const nlohmann::json& j, std::ostream& out) {
    auto row = [&](const std::string& k, const std::string& v) {
        out << fmt::format("{:<36}{}\n", k, v);
    };
    const auto& m = j["model"];
    row("model", fmt::format("{} layers, {} kv heads, head dim {}", m["layers"].get<int64_t>(),
                             m["kv_heads"].get<int64_t>(), m["head_dim"].get<int64_t>()));
    if (m.contains("weight_bytes"))
        row("weights", fmt::format("{:.0f} bytes ({}; {})", m["weight_bytes"].get<double>(),
                                   gib(m["weight_bytes"].get<double>()),
                                   m["weight_bytes_source"].get<std::string>()));
    row("KV bytes per token", j["kv_bytes_per_token_formula"].get<std::string>());
    if (j.contains("kv_bytes_per_sequence"))
        row("KV bytes per sequence",
            fmt::format("{:.0f} ({} tokens, {})", j["kv_bytes_per_sequence"].get<double>(),
                        j["context"].get<int64_t>(),
                        gib(j["kv_bytes_per_sequence"].get<double>())));
    if (j.contains("kv_bytes_for_concurrency"))
        row("KV bytes for concurrency",
            fmt::format("{:.0f} ({} sequences, {})", j["kv_bytes_for_concurrency"].get<double>(),
                        j["concurrency"].get<int64_t>(),
                        gib(j["kv_bytes_for_concurrency"].get<double>())));
    if (j.contains("memory_bytes_per_replica"))
        row("memory per replica (weights + KV)",
            fmt::format("{:.0f} ({})", j["memory_bytes_per_replica"].get<double>(),
                        gib(j["memory_bytes_per_replica"].get<double>())));
    if (j.contains("max_sequences_per_replica"))
        row("max sequences per replica",
            fmt::format("{} (of {:.0f} bytes, {:.0f} left for KV)",
                        j["max_sequences_per_replica"].get<int64_t>(),
                        j["memory_bytes"].get<double>(), j["kv_bytes_available"].get<double>()));
    if (j.contains("replicas")) {
        row("required output tokens/s",
            fmt::format("{:.2f}", j["required_output_tokens_per_s"].get<double>()));
        row("per-replica tokens/s at the SLO",
            fmt::format("{:.2f}", j["tokens_per_s_per_replica"].get<double>()));
        row("replicas",
            fmt::format("{} = ceil({:.3f} x headroom {:.2f})", j["replicas"].get<int64_t>(),
                        j["replicas_exact"].get<double>(), j["headroom"].get<double>()));
    }
    if (j.contains("prefix_working_set")) {
        const auto& p = j["prefix_working_set"];
        row("prefix tier for hit rate",
            fmt::format("{:.0f} bytes ({}) for {:.0f} % of {} x {} tokens",
                        p["tier_bytes"].get<double>(), gib(p["tier_bytes"].get<double>()),
                        100 * p["hit_rate"].get<double>(), p["distinct_prefixes"].get<int64_t>(),
                        p["prefix_tokens"].get<int64_t>()));
    }
}

}  // namespace ig
