#include <fstream>
#include <iostream>
#include <map>
#include <memory>

#include "app/commands.h"
#include "bench/load_generator.h"
#include "plan/capacity_plan.h"

namespace ig::app {

Command add_plan(CLI::App& app) {
    auto in = std::make_shared<PlanInputs>();
    auto s = std::make_shared<std::map<std::string, std::string>>();
    auto* c = app.add_subcommand("plan", "Capacity plan: replicas, weight/KV bytes, memory");
    auto opt = [&](const char* name, auto& field, const char* help) {
        // Values go through std::optional so that "not given" stays distinct.
        return c->add_option(name, field, help);
    };
    opt("--model", in->model_path, "GGUF model file (shape and weight bytes)");
    opt("--params", in->params, "Parameter count, by hand (e.g. 70e9)");
    opt("--layers", in->layers, "Layers, by hand");
    opt("--kv-heads", in->kv_heads, "KV heads, by hand");
    opt("--head-dim", in->head_dim, "Head dimension, by hand");
    opt("--dtype", in->dtype, "Weight dtype, by hand (f16, bf16, q8_0, q4_k, ...)");
    opt("--kv-dtype", in->kv_dtype, "KV cache dtype: f16 or f32 (serve --kv-type)");
    opt("--qps", in->qps, "Requests per second to serve");
    opt("--prompt-tokens", in->prompt_tokens, "Prompt tokens per request");
    opt("--output-tokens", in->output_tokens, "Output tokens per request");
    opt("--from-bench", in->from_bench, "Traffic from a `bench serve --json` run");
    opt("--tokens-per-s", in->tokens_per_s, "Output tokens/s one replica sustains at the SLO");
    opt("--replica-bench", in->replica_bench,
        "Per-replica tokens/s from a `bench serve --json` run or sweep (best run meeting --slo)");
    c->add_option("--slo", (*s)["slo"], "ttft=MS,tpot=MS,e2e=MS (p99s) to pick the sweep run");
    opt("--memory-bytes", in->memory_bytes, "Memory of one replica (weights + KV)");
    opt("--headroom", in->headroom, "Margin on replicas (ceil after headroom)")
        ->capture_default_str();
    opt("--context", in->context, "Tokens per sequence (default prompt + output tokens)");
    opt("--concurrency", in->concurrency, "Sequences in flight per replica");
    opt("--hit-rate", in->hit_rate, "Target prefix-cache hit rate (0-1]");
    opt("--distinct-prefixes", in->distinct_prefixes, "Distinct shared prefixes (system prompts)");
    opt("--prefix-tokens", in->prefix_tokens, "Tokens per shared prefix");
    c->add_option("--json", (*s)["json"], "Write the plan as JSON");
    return {c, [in, s] {
                if (!(*s)["slo"].empty()) {
                    auto slo = parse_slo((*s)["slo"]);
                    if (!slo.ok()) return fail(slo.error());
                    in->slo_ttft_ms = slo->ttft_ms;
                    in->slo_tpot_ms = slo->tpot_ms;
                    in->slo_e2e_ms = slo->e2e_ms;
                }
                auto plan = make_plan(*in);
                if (!plan.ok()) return fail(plan.error());
                print_plan(*plan, std::cout);
                const std::string& path = (*s)["json"];
                if (!path.empty()) {
                    std::ofstream f(path);
                    f << plan->dump(2) << "\n";
                    f.close();
                    if (!f) return fail(make_error("cannot write {}", path));
                }
                return 0;
            }};
}

}  // namespace ig::app
