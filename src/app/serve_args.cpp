#include "app/serve_args.h"

namespace ig::app {

CLI::App* add_serve_options(CLI::App& app, ServeArgs& a) {
    auto* s = app.add_subcommand("serve", "Serve a model over an OpenAI-compatible HTTP API");
    s->add_option("--config", a.config,
                  "TOML file of settings: the flag names below without dashes (flags win)");
    CLI::Option* model = s->add_option(
        "--model,-m", a.models,
        "GGUF model file, Hugging Face folder, or hf://REPO[:FILE] (pulled when missing, as "
        "`infergrid pull`); repeat it to serve several (the first is the default of requests "
        "that name no model)");
    // `infergrid serve M.gguf`, as llama-server and Ollama users type it.
    s->add_option("model_file", a.models, "GGUF model file (instead of --model)")->excludes(model);
    s->add_option("--models-dir", a.models_dir,
                  "Directory of models (each *.gguf file and Hugging Face folder is one, named by "
                  "its stem; models.toml there renames them and sets per-model options), loaded "
                  "when a request names them");
    s->add_option("--max-loaded-models", a.max_loaded_models,
                  "Models loaded at once; loading one more unloads the least recently used idle "
                  "one (0: no limit)")
        ->check(CLI::Range(0, 1 << 16))
        ->capture_default_str();
    s->add_option("--models-memory", a.models_memory,
                  "Memory for loaded models' weights and KV pools (units: 512MB, 4GB); loading "
                  "past it unloads the least recently used idle model (0: no limit)")
        ->transform(CLI::AsSizeValue(false))
        ->check(CLI::Range(int64_t{0}, int64_t{1} << 50))
        ->capture_default_str();
    s->add_option("--keep-alive", a.keep_alive,
                  "Seconds a model may stay idle before it is unloaded (0: forever)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    s->add_option("--model-load-wait", a.model_load_wait,
                  "Seconds a request for a model that is not loaded waits for its load, then 503")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    s->add_option("--served-model-name", a.served_model_name,
                  "Model name clients send (default: the GGUF file's stem)");
    s->add_option("--chat-template", a.chat_template,
                  "Jinja chat template file (default: the GGUF's tokenizer.chat_template)");
    s->add_option("--tool-call-parser", a.tool_call_parser,
                  "How tool calls are read from the model's answer: auto (from the chat "
                  "template), none, hermes, llama3_json, mistral, functionary_v3_1, "
                  "functionary_v3_2, command_r, gpt_oss, firefunction")
        ->capture_default_str();
    s->add_option("--reasoning-parser", a.reasoning_parser,
                  "Split the model's thinking into reasoning_content: none, deepseek_r1, qwen3 "
                  "(<think>...</think>), gpt_oss (the analysis channel)")
        ->capture_default_str();
    s->add_option("--host", a.host, "Address to listen on")->capture_default_str();
    s->add_option("--port", a.port, "TCP port (0: any free port)")
        ->check(CLI::Range(0, 65535))
        ->capture_default_str();
    s->add_option("--threads", a.threads, "Compute threads (0: all cores)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    s->add_option("--io-threads", a.io_threads, "HTTP IO threads")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    s->add_option("--kv-budget-mb", a.kv_budget_mb,
                  "KV cache size in MiB (0: a share of available memory)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    s->add_option("--block-tokens", a.block_tokens, "Tokens per KV block")
        ->check(CLI::Range(1, 1024))
        ->capture_default_str();
    s->add_option("--kv-type", a.kv_type, "KV element type: f16 or f32")->capture_default_str();
    s->add_option("--max-num-seqs", a.max_num_seqs, "Sequences per engine step")
        ->check(CLI::Range(1, 4096))
        ->capture_default_str();
    s->add_option("--max-num-batched-tokens", a.max_num_batched_tokens, "Tokens per engine step")
        ->check(CLI::Range(1, 1 << 20))
        ->capture_default_str();
    s->add_option("--max-num-partial-prefills", a.max_num_partial_prefills,
                  "Sequences with long prompt work per engine step (0: no limit; on a CPU, "
                  "batching several prompts into one step delays the first ones' first token)")
        ->check(CLI::Range(0, 1 << 20))
        ->capture_default_str();
    s->add_option("--long-prefill-tokens", a.long_prefill_tokens,
                  "Prompt chunks of more tokens count toward --max-num-partial-prefills")
        ->check(CLI::Range(0, 1 << 20))
        ->capture_default_str();
    s->add_option("--max-waiting", a.max_waiting,
                  "Queued requests before new ones get 429 + Retry-After")
        ->check(CLI::Range(1, 1 << 24))
        ->capture_default_str();
    s->add_option("--priority-aging-seconds", a.priority_aging_seconds,
                  "A waiting request gains one priority class per this many seconds since it "
                  "arrived, so low classes are not starved (0: strict priority)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    s->add_flag("--no-tenant-fair-share", a.no_tenant_fair_share,
                "Serve tenants' requests in priority and arrival order only, without fair "
                "shares of tokens by weight");
    s->add_flag("--no-prefix-cache", a.no_prefix_cache, "Disable prefix caching");
    s->add_option("--kv-host-bytes", a.kv_host_bytes,
                  "Host-RAM KV tier below the pool, in bytes (units: 512MB, 4GB; 0: off). "
                  "Default: min(25% of physical RAM, 8 GiB) minus the weights and the hot "
                  "pool (off when that leaves nothing)")
        ->transform(CLI::AsSizeValue(false))
        ->check(CLI::Range(int64_t{0}, int64_t{1} << 50));
    s->add_flag("--kv-host-q8", a.kv_host_q8,
                "Store host-tier KV blocks as Q8 (about half the bytes; not bit-exact)");
    s->add_option("--kv-disk-dir", a.kv_disk_dir,
                  "Directory of the disk KV tier (blocks survive restarts and crashes: full "
                  "blocks are written behind as they fill); turns the tier on");
    s->add_option("--kv-disk-bytes", a.kv_disk_bytes,
                  "Disk KV tier budget in bytes (units: 512MB, 4GB). Default: min(10% of the "
                  "file system's free space, 50 GiB)")
        ->transform(CLI::AsSizeValue(false))
        ->check(CLI::Range(int64_t{0}, int64_t{1} << 50));
    s->add_option("--kv-disk-sync", a.kv_disk_sync,
                  "When disk-tier block files are fsynced: off (never), batch (the files "
                  "written and the directory, at most every 200 ms), always (each file before "
                  "its rename, the directory after)")
        ->check(CLI::IsMember({"off", "batch", "always"}))
        ->capture_default_str();
    s->add_option("--max-body-bytes", a.max_body_bytes, "Largest request body (413 above)")
        ->check(CLI::Range(int64_t{1024}, int64_t{1} << 32))
        ->capture_default_str();
    s->add_option("--max-header-bytes", a.max_header_bytes,
                  "Largest request header block (431 above)")
        ->check(CLI::Range(int64_t{1024}, int64_t{1} << 24))
        ->capture_default_str();
    s->add_option("--idle-timeout", a.idle_timeout, "Seconds a keep-alive connection may sit idle")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    s->add_option(
         "--request-timeout", a.request_timeout,
         "Seconds to receive a whole request once it started, and the longest stalled write")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    s->add_option("--max-connections", a.max_connections,
                  "Open connections before new ones get 503")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 24))
        ->capture_default_str();
    s->add_option("--grace-period", a.grace_period,
                  "Seconds in-flight requests get to finish after SIGTERM/SIGINT")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    s->add_option("--max-n", a.max_n, "Largest 'n' (choices per request)")
        ->check(CLI::Range(1, 1024))
        ->capture_default_str();
    s->add_option("--max-tenant-labels", a.max_tenant_labels,
                  "Distinct X-Tenant-Id values kept as metric labels (later ones: 'other')")
        ->check(CLI::Range(0, 100000))
        ->capture_default_str();
    CLI::Option* tenants =
        s->add_option("--tenants", a.tenants,
                      "TOML file of tenants and their API key hashes (`infergrid tenants "
                      "add-key`): every route but /health, /ready, /version needs a key");
    // No default shown: --help must not print a key.
    s->add_option("--api-key", a.api_key,
                  "One API key every client must send (tenant 'default'); instead of --tenants")
        ->excludes(tenants);
    s->add_option("--usage-db", a.usage_db,
                  "SQLite usage ledger (created when missing): one durable record per finished "
                  "request; a response ends only once its record is committed "
                  "(`infergrid usage` reports it)");
    s->add_flag("--no-request-log", a.no_request_log,
                "No JSON log line per finished request (written at info level)");
    s->add_option("--log-level", a.log_level, "trace, debug, info, warn, error")
        ->capture_default_str();
    return s;
}

}  // namespace ig::app
