// `infergrid serve`: the OpenAI-compatible HTTP server. Every flag can also
// be set in a TOML file given with --config, under the same name without the
// dashes (`port = 8080`, `grace-period = 30`); flags on the command line win.
#include <iostream>
#include <memory>

#include <spdlog/spdlog.h>
#include <toml++/toml.h>

#include "app/commands.h"
#include "server/serve_root.h"

namespace ig::app {

namespace {

struct ServeArgs {
    std::string config;
    std::string model;
    std::string served_model_name;
    std::string chat_template;
    std::string host = "127.0.0.1";
    int port = 8080;
    int threads = 0;
    int io_threads = 2;
    double kv_budget_mb = 0;
    int block_tokens = 16;
    std::string kv_type = "f16";
    int max_num_seqs = 64;
    int max_num_batched_tokens = 512;
    int max_num_partial_prefills = 1;
    int long_prefill_tokens = 32;
    int max_waiting = 1024;
    bool no_prefix_cache = false;
    int64_t kv_host_bytes = 0;
    bool kv_host_q8 = false;
    std::string kv_disk_dir;
    int64_t kv_disk_bytes = 0;
    int64_t max_body_bytes = 8 << 20;
    int64_t max_header_bytes = 16 << 10;
    double idle_timeout = 60;
    double request_timeout = 30;
    int64_t max_connections = 16384;
    double grace_period = 30;
    int max_n = 16;
    int max_tenant_labels = 100;
    bool no_request_log = false;
    std::string log_level = "info";
};

// Applies the TOML file's keys to the options not given on the command line.
Status apply_config(CLI::App& sub, const std::string& path) {
    toml::table tbl;
    try {
        tbl = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        return make_error("--config {}: {}", path, std::string(e.description()));
    }
    for (auto&& [key, node] : tbl) {
        const std::string name(key.str());
        CLI::Option* opt = nullptr;
        try {
            opt = sub.get_option("--" + name);
        } catch (const CLI::Error&) {
            return make_error("--config {}: unknown setting '{}'", path, name);
        }
        if (name == "config") return make_error("--config {}: 'config' cannot be nested", path);
        if (opt->count() > 0) continue;  // the command line wins
        std::string value;
        if (auto s = node.value<std::string>())
            value = *s;
        else if (auto b = node.value<bool>())
            value = *b ? "true" : "false";
        else if (auto i = node.value<int64_t>())
            value = std::to_string(*i);
        else if (auto d = node.value<double>())
            value = std::to_string(*d);
        else
            return make_error("--config {}: '{}' must be a string, number or boolean", path, name);
        try {
            opt->clear();
            opt->add_result(value);
            opt->run_callback();
        } catch (const CLI::Error& e) {
            return make_error("--config {}: '{}': {}", path, name, e.what());
        }
    }
    return {};
}

int run_serve(CLI::App& sub, ServeArgs& a) {
    if (!a.config.empty()) {
        auto st = apply_config(sub, a.config);
        if (!st.ok()) return fail(st.error());
    }
    if (a.model.empty()) return fail(make_error("--model is required (flag or config file)"));
    spdlog::set_level(spdlog::level::from_str(a.log_level));

    server::ServeOptions mo;
    mo.model_path = a.model;
    mo.served_model_name = a.served_model_name;
    mo.chat_template_path = a.chat_template;
    mo.engine.kv_bytes = static_cast<int64_t>(a.kv_budget_mb * 1024 * 1024);
    mo.engine.block_tokens = a.block_tokens;
    if (a.kv_type == "f16")
        mo.engine.kv_type = DType::F16;
    else if (a.kv_type == "f32")
        mo.engine.kv_type = DType::F32;
    else
        return fail(make_error("--kv-type must be f16 or f32, got '{}'", a.kv_type));
    mo.engine.max_num_seqs = a.max_num_seqs;
    mo.engine.max_num_batched_tokens = a.max_num_batched_tokens;
    mo.engine.max_num_partial_prefills = a.max_num_partial_prefills;
    mo.engine.long_prefill_tokens = a.long_prefill_tokens;
    mo.engine.max_waiting = a.max_waiting;
    mo.engine.threads = a.threads;
    mo.engine.enable_prefix_cache = !a.no_prefix_cache;
    mo.engine.kv_host_bytes = a.kv_host_bytes;
    mo.engine.kv_host_q8 = a.kv_host_q8;
    mo.engine.kv_disk_dir = a.kv_disk_dir;
    mo.engine.kv_disk_bytes = a.kv_disk_bytes;
    if (!a.kv_disk_dir.empty() && a.kv_disk_bytes == 0)
        return fail(make_error("--kv-disk-dir needs --kv-disk-bytes (the disk tier's budget)"));
    if ((a.kv_host_bytes > 0 || !a.kv_disk_dir.empty()) && a.no_prefix_cache)
        return fail(make_error("KV tiers need the prefix cache (drop --no-prefix-cache)"));

    server::ServerConfig& cfg = mo.server;
    cfg.host = a.host;
    cfg.port = static_cast<uint16_t>(a.port);
    cfg.io_threads = a.io_threads;
    cfg.limits.max_body_bytes = a.max_body_bytes;
    cfg.limits.max_header_bytes = a.max_header_bytes;
    auto ms = [](double s) { return std::chrono::milliseconds(static_cast<int64_t>(s * 1000)); };
    cfg.limits.idle_timeout = ms(a.idle_timeout);
    cfg.limits.request_timeout = ms(a.request_timeout);
    cfg.limits.max_connections = a.max_connections;
    cfg.grace_period = ms(a.grace_period);
    cfg.max_n = a.max_n;
    cfg.max_tenant_labels = static_cast<size_t>(a.max_tenant_labels);
    cfg.request_log = !a.no_request_log;

    auto st = server::serve(std::move(mo));
    if (!st.ok()) return fail(st.error());
    return 0;
}

}  // namespace

Command add_serve(CLI::App& app) {
    auto a = std::make_shared<ServeArgs>();
    auto* s = app.add_subcommand("serve", "Serve a model over an OpenAI-compatible HTTP API");
    s->add_option("--config", a->config,
                  "TOML file of settings: the flag names below without dashes (flags win)");
    s->add_option("--model,-m", a->model, "GGUF model file");
    s->add_option("--served-model-name", a->served_model_name,
                  "Model name clients send (default: the GGUF file's stem)");
    s->add_option("--chat-template", a->chat_template,
                  "Jinja chat template file (default: the GGUF's tokenizer.chat_template)");
    s->add_option("--host", a->host, "Address to listen on")->capture_default_str();
    s->add_option("--port", a->port, "TCP port (0: any free port)")
        ->check(CLI::Range(0, 65535))
        ->capture_default_str();
    s->add_option("--threads", a->threads, "Compute threads (0: all cores)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    s->add_option("--io-threads", a->io_threads, "HTTP IO threads")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    s->add_option("--kv-budget-mb", a->kv_budget_mb,
                  "KV cache size in MiB (0: a share of available memory)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    s->add_option("--block-tokens", a->block_tokens, "Tokens per KV block")
        ->check(CLI::Range(1, 1024))
        ->capture_default_str();
    s->add_option("--kv-type", a->kv_type, "KV element type: f16 or f32")->capture_default_str();
    s->add_option("--max-num-seqs", a->max_num_seqs, "Sequences per engine step")
        ->check(CLI::Range(1, 4096))
        ->capture_default_str();
    s->add_option("--max-num-batched-tokens", a->max_num_batched_tokens, "Tokens per engine step")
        ->check(CLI::Range(1, 1 << 20))
        ->capture_default_str();
    s->add_option("--max-num-partial-prefills", a->max_num_partial_prefills,
                  "Sequences with long prompt work per engine step (0: no limit; on a CPU, "
                  "batching several prompts into one step delays the first ones' first token)")
        ->check(CLI::Range(0, 1 << 20))
        ->capture_default_str();
    s->add_option("--long-prefill-tokens", a->long_prefill_tokens,
                  "Prompt chunks of more tokens count toward --max-num-partial-prefills")
        ->check(CLI::Range(0, 1 << 20))
        ->capture_default_str();
    s->add_option("--max-waiting", a->max_waiting,
                  "Queued requests before new ones get 429 + Retry-After")
        ->check(CLI::Range(1, 1 << 24))
        ->capture_default_str();
    s->add_flag("--no-prefix-cache", a->no_prefix_cache, "Disable prefix caching");
    s->add_option("--kv-host-bytes", a->kv_host_bytes,
                  "Host-RAM KV tier below the pool, in bytes (units: 512MB, 4GB; 0: off)")
        ->transform(CLI::AsSizeValue(false))
        ->check(CLI::Range(int64_t{0}, int64_t{1} << 50))
        ->capture_default_str();
    s->add_flag("--kv-host-q8", a->kv_host_q8,
                "Store host-tier KV blocks as Q8 (about half the bytes; not bit-exact)");
    s->add_option("--kv-disk-dir", a->kv_disk_dir,
                  "Directory of the disk KV tier (blocks survive restarts)");
    s->add_option("--kv-disk-bytes", a->kv_disk_bytes,
                  "Disk KV tier budget in bytes (units: 512MB, 4GB)")
        ->transform(CLI::AsSizeValue(false))
        ->check(CLI::Range(int64_t{0}, int64_t{1} << 50))
        ->capture_default_str();
    s->add_option("--max-body-bytes", a->max_body_bytes, "Largest request body (413 above)")
        ->check(CLI::Range(int64_t{1024}, int64_t{1} << 32))
        ->capture_default_str();
    s->add_option("--max-header-bytes", a->max_header_bytes,
                  "Largest request header block (431 above)")
        ->check(CLI::Range(int64_t{1024}, int64_t{1} << 24))
        ->capture_default_str();
    s->add_option("--idle-timeout", a->idle_timeout, "Seconds a keep-alive connection may sit idle")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    s->add_option(
         "--request-timeout", a->request_timeout,
         "Seconds to receive a whole request once it started, and the longest stalled write")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    s->add_option("--max-connections", a->max_connections,
                  "Open connections before new ones get 503")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 24))
        ->capture_default_str();
    s->add_option("--grace-period", a->grace_period,
                  "Seconds in-flight requests get to finish after SIGTERM/SIGINT")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    s->add_option("--max-n", a->max_n, "Largest 'n' (choices per request)")
        ->check(CLI::Range(1, 1024))
        ->capture_default_str();
    s->add_option("--max-tenant-labels", a->max_tenant_labels,
                  "Distinct X-Tenant-Id values kept as metric labels (later ones: 'other')")
        ->check(CLI::Range(0, 100000))
        ->capture_default_str();
    s->add_flag("--no-request-log", a->no_request_log,
                "No JSON log line per finished request (written at info level)");
    s->add_option("--log-level", a->log_level, "trace, debug, info, warn, error")
        ->capture_default_str();
    return {s, [s, a] { return run_serve(*s, *a); }};
}

}  // namespace ig::app
