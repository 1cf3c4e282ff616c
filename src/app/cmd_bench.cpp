#include <csignal>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>

#include "app/commands.h"
#include "bench/engine_bench.h"
#include "bench/load_generator.h"
#include "bench/stub_openai_server.h"

namespace ig::app {
namespace {

Status write_file(const std::string& path, const std::string& text) {
    std::ofstream f(path);
    f << text;
    f.close();
    if (!f) return make_error("cannot write {}", path);
    return {};
}

// `bench serve`; the returned function gives -1 when `serve` was not the
// subcommand parsed.
std::function<int()> add_bench_serve(CLI::App& bench) {
    auto o = std::make_shared<BenchServeOptions>();
    auto s = std::make_shared<std::map<std::string, std::string>>();
    auto* c = bench.add_subcommand(
        "serve", "Load generator for any OpenAI-compatible server (streams every request)");
    WorkloadOptions& w = o->workload;
    c->add_option("--base-url", o->base_url, "Server URL (http://host:port)")
        ->capture_default_str();
    c->add_option("--model", o->model, "Model name sent in each request")->required();
    c->add_option("--api-key", o->api_key,
                  "API key sent as Authorization: Bearer (default: $OPENAI_API_KEY)");
    c->add_option("--endpoint", o->endpoint, "/v1/completions or /v1/chat/completions")
        ->capture_default_str();
    c->add_option("--api", (*s)["api"], "completions or chat (sets --endpoint)");
    c->add_option("--workload", w.kind, "random, shared-prefix, multi-turn or dataset")
        ->capture_default_str();
    c->add_option("--request-rate", (*s)["rate"],
                  "Requests (sessions) per second, Poisson/gamma arrivals; inf: all at once");
    c->add_option("--burstiness", o->burstiness, "Gamma shape of the gaps (1: Poisson)");
    c->add_option("--max-concurrency", o->max_concurrency,
                  "Requests in flight at most (0: no cap)");
    c->add_option("--num-prompts", w.num_prompts, "Requests (random, dataset)")
        ->capture_default_str();
    c->add_option("--duration", o->duration_s,
                  "Seconds to keep starting requests (the workload repeats)");
    c->add_option("--warmup", o->warmup, "Warm-up requests, excluded from the figures");
    c->add_option("--seed", w.seed, "Seed of prompts and arrivals");
    c->add_option("--input-len", w.input_len, "Words per prompt (random) / per turn (multi-turn)")
        ->capture_default_str();
    c->add_option("--output-len", w.output_len, "max_tokens (= min_tokens, ignore_eos)")
        ->capture_default_str();
    c->add_option("--range-ratio", w.range_ratio, "Lengths uniform in len*[1-r, 1+r]");
    c->add_option("--num-prefixes", w.num_prefixes, "shared-prefix: distinct system prompts");
    c->add_option("--prefix-len", w.prefix_len, "shared-prefix: words per system prompt");
    c->add_option("--questions-per-prefix", w.questions_per_prefix,
                  "shared-prefix: questions each");
    c->add_option("--question-len", w.question_len, "shared-prefix: words per question");
    c->add_option("--num-sessions", w.num_sessions, "multi-turn: conversations");
    c->add_option("--turns", w.turns, "multi-turn: turns per conversation");
    c->add_option("--first-turn-len", w.first_turn_len,
                  "multi-turn: words of the first turn (0: --input-len)");
    c->add_option("--think-time", o->think_time_s,
                  "multi-turn: seconds a user pauses before each later turn (holds its slot)");
    c->add_option("--long-context-tokens", o->long_context_tokens,
                  "Also report TTFT of requests whose prompt is longer than this (0: off)")
        ->capture_default_str();
    c->add_option("--dataset", w.dataset, "JSONL of {\"prompt\": ..., \"output_len\"?: N}");
    c->add_option("--slo", (*s)["slo"], "Goodput SLOs: ttft=MS,tpot=MS,e2e=MS");
    c->add_option("--sweep", (*s)["sweep"],
                  "Request rates to run in turn: R1,R2,... (inf allowed)");
    c->add_option("--json", (*s)["json"], "Write every figure and the parameters as JSON");
    c->add_option("--svg", (*s)["svg"], "With --sweep: latency percentiles vs throughput plot");
    c->add_option("--temperature", o->temperature, "Sampling temperature sent");
    c->add_flag("!--no-ignore-eos", o->ignore_eos, "Let the model stop at EOS");
    c->add_option("--extra-body", (*s)["extra"], "JSON object merged into every request body");
    c->add_option("--timeout", o->timeout_s, "Seconds to wait for any byte of a request");
    c->add_flag("!--no-progress", o->progress, "No progress bar");
    return [o, s, c]() -> int {
        if (!c->parsed()) return -1;
        auto& m = *s;
        if (m["api"] == "chat")
            o->endpoint = "/v1/chat/completions";
        else if (m["api"] == "completions")
            o->endpoint = "/v1/completions";
        else if (!m["api"].empty())
            return fail(make_error("--api must be completions or chat (got '{}')", m["api"]));
        if (!m["rate"].empty()) {
            auto r = parse_rates(m["rate"]);
            if (!r.ok()) return fail(make_error("--request-rate: {}", r.error().message));
            if (r->size() != 1) return fail(make_error("--request-rate takes one rate"));
            o->request_rate = r->front();
        }
        if (!m["slo"].empty()) {
            auto slo = parse_slo(m["slo"]);
            if (!slo.ok()) return fail(slo.error());
            o->slo = *slo;
        }
        if (!m["extra"].empty()) {
            o->extra_body = nlohmann::json::parse(m["extra"], nullptr, false);
            if (o->extra_body.is_discarded() || !o->extra_body.is_object())
                return fail(make_error("--extra-body must be a JSON object"));
        }
        std::vector<double> sweep;
        if (!m["sweep"].empty()) {
            auto r = parse_rates(m["sweep"]);
            if (!r.ok()) return fail(r.error());
            sweep = *r;
        }
        if (!m["svg"].empty() && sweep.empty()) return fail(make_error("--svg needs --sweep"));
        // As the OpenAI SDKs do: the environment's key unless one is given.
        if (o->api_key.empty())
            if (const char* k = std::getenv("OPENAI_API_KEY")) o->api_key = k;
        auto r = run_bench_serve(*o, std::cout, sweep);
        if (!r.ok()) return fail(r.error());
        if (!m["json"].empty())
            if (auto st = write_file(m["json"], r->dump(2) + "\n"); !st.ok())
                return fail(st.error());
        if (!m["svg"].empty())
            if (auto st = write_file(m["svg"], sweep_svg(*r)); !st.ok()) return fail(st.error());
        return 0;
    };
}

// `bench stub-server`: known latencies, to check the load generator itself.
std::function<int()> add_bench_stub_server(CLI::App& bench) {
    auto o = std::make_shared<StubServerOptions>();
    auto* c = bench.add_subcommand(
        "stub-server", "A fake OpenAI server with fixed latencies (checks `bench serve` itself)");
    c->add_option("--host", o->host, "Address to listen on")->capture_default_str();
    c->add_option("--port", o->port, "Port (0: any free one)")->capture_default_str();
    c->add_option("--ttft-ms", o->ttft_ms, "First token this long after the request")
        ->check(CLI::Range(0.0, 3.6e6));
    c->add_option("--itl-ms", o->itl_ms, "Each next token this long after the previous")
        ->check(CLI::Range(0.0, 3.6e6));
    return [o, c]() -> int {
        if (!c->parsed()) return -1;
        // Blocked before any thread starts, so that sigwait below receives them.
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set, nullptr);
        auto s = StubOpenAiServer::start(*o);
        if (!s.ok()) return fail(s.error());
        std::cout << "stub server listening on http://" << o->host << ":" << (*s)->port()
                  << std::endl;
        int sig = 0;
        sigwait(&set, &sig);
        (*s)->stop();
        return 0;
    };
}

}  // namespace

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
    e->add_option("--max-num-partial-prefills", o->max_num_partial_prefills,
                  "Sequences with long prompt work per engine step (0: no limit)")
        ->check(CLI::Range(0, 1 << 20));
    e->add_option("--long-prefill-tokens", o->long_prefill_tokens,
                  "Prompt chunks of more tokens count as long (default 32)")
        ->check(CLI::Range(0, 1 << 20));
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
    e->add_option("--kv-write-behind", o->kv_write_behind,
                  "Write full KV blocks to the tiers as they fill (true/false; default true)");
    e->add_option("--kv-disk-sync", o->kv_disk_sync,
                  "When disk-tier files are fsynced: off, batch (default), always")
        ->check(CLI::IsMember({"off", "batch", "always"}));
    e->add_option("--turns", o->turns, "multi-turn: turns per conversation (default 4)")
        ->check(CLI::Range(0, 1000));
    e->add_option("--first-turn-len", o->first_turn_len,
                  "multi-turn: tokens of the first turn (default: --prompt-len)")
        ->check(CLI::Range(0, 1 << 20));
    e->add_flag("--rotate-turns", o->rotate_turns,
                "multi-turn: conversations take turns in rotation (working set = all of them)");
    auto serve_run = add_bench_serve(*bench);
    auto stub_run = add_bench_stub_server(*bench);
    return {bench, [o, json_path, e, serve_run, stub_run] {
                if (!e->parsed()) {
                    if (int rc = serve_run(); rc >= 0) return rc;
                    return stub_run();
                }
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
