#include <fstream>
#include <iostream>
#include <memory>

#include "app/commands.h"
#include "tools/bench_engine.h"

namespace ig::app {

Command add_bench(CLI::App& app) {
    auto o = std::make_shared<BenchEngineOptions>();
    auto json_path = std::make_shared<std::string>();
    auto* bench = app.add_subcommand("bench", "Benchmarks");
    bench->require_subcommand(1);
    auto* e =
        bench->add_subcommand("engine", "Serving-engine and forward-pass benchmarks (offline)");
    e->add_option("-m,--model", o->model, "GGUF model file")->required();
    e->add_option("--workload", o->workload,
                  "model (default), decode-scaling, shared-prefix, multi-turn, "
                  "long-prompt-arrivals");
    e->add_option("-t,--threads", o->threads, "Threads (0: all cores)")->check(CLI::Range(0, 1024));
    e->add_flag("!--no-prefix-cache", o->prefix_cache, "Turn prefix caching off");
    e->add_flag("!--no-chunked-prefill", o->chunked_prefill, "Prefill each prompt in one step");
    e->add_option("--json", *json_path, "Write the figures as JSON to this file");
    e->add_option("--kv-bytes", o->kv_bytes, "KV cache budget in bytes (default 1 GiB)")
        ->check(CLI::Range(int64_t{0}, int64_t{1} << 50));
    e->add_option("--kv-type", o->kv_type, "KV cache type: f16 or f32");
    e->add_option("--max-num-batched-tokens", o->max_num_batched_tokens, "Tokens per engine step")
        ->check(CLI::Range(1, 1 << 20));
    e->add_option("--num-requests", o->num_requests,
                  "shared-prefix questions / multi-turn conversations / long prompts arriving")
        ->check(CLI::Range(0, 1 << 20));
    e->add_option("--output-len", o->output_len, "Tokens generated per request")
        ->check(CLI::Range(0, 1 << 20));
    e->add_option("--prompt-len", o->prompt_len,
                  "System prompt (shared-prefix), new tokens per turn (multi-turn), long prompt "
                  "(long-prompt-arrivals), short prompt (decode-scaling)")
        ->check(CLI::Range(0, 1 << 20));
    e->add_option("--concurrency", o->concurrency,
                  "multi-turn conversations at a time / long-prompt-arrivals running decodes")
        ->check(CLI::Range(0, 1 << 16));
    e->add_option("--seed", o->seed, "Seed of the random token ids");
    e->add_option("--kv-host-bytes", o->kv_host_bytes, "Host-RAM KV tier in bytes (0: off)")
        ->transform(CLI::AsSizeValue(false));
    e->add_option("--kv-disk-dir", o->kv_disk_dir, "Disk KV tier directory (empty: off)");
    e->add_option("--kv-disk-bytes", o->kv_disk_bytes, "Disk KV tier budget in bytes")
        ->transform(CLI::AsSizeValue(false));
    e->add_option("--turns", o->turns, "multi-turn: turns per conversation (default 4)")
        ->check(CLI::Range(0, 1000));
    e->add_option("--first-turn-len", o->first_turn_len,
                  "multi-turn: tokens of the first turn (default: --prompt-len)")
        ->check(CLI::Range(0, 1 << 20));
    e->add_flag("--rotate-turns", o->rotate_turns,
                "multi-turn: conversations take turns in rotation (working set = all of them)");
    return {bench, [o, json_path, e] {
                if (!e->parsed()) return 0;
                auto r = run_bench_engine(*o, std::cout);
                if (!r.ok()) return fail(r.error());
                if (!json_path->empty()) {
                    std::ofstream f(*json_path);
                    f << r->dump(2) << "\n";
                    if (!f) return fail(make_error("cannot write {}", *json_path));
                }
                return 0;
            }};
}

}  // namespace ig::app
