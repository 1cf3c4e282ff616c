// `infergrid serve`: the OpenAI-compatible HTTP server. Every flag can also
// be set in a TOML file given with --config, under the same name without the
// dashes (`port = 8080`, `grace-period = 30`); flags on the command line win.
#include <csignal>
#include <iostream>
#include <memory>

#include <spdlog/spdlog.h>

#include "app/commands.h"
#include "app/config_file.h"
#include "app/serve_args.h"
#include "hub/pull.h"
#include "server/serve_root.h"
#include "tenants/key_store.h"
#include "tenants/tenant_limiter.h"
#include "tenants/usage_ledger.h"

namespace ig::app {

namespace {

int run_serve(CLI::App& sub, ServeArgs& a) {
    if (!a.config.empty()) {
        auto st = apply_config(sub, a.config);
        if (!st.ok()) return fail(st.error());
    }
    if (a.models.empty() && a.models_dir.empty())
        return fail(make_error("--model (or --models-dir) is required (flag or config file)"));
    spdlog::set_level(spdlog::level::from_str(a.log_level));
    // A closed stdout (a log shipper gone, a parent that stopped reading)
    // must not kill the server at its next log line: the write fails instead.
    std::signal(SIGPIPE, SIG_IGN);

    server::ServeOptions mo;
    // hf://REPO[:FILE]: pulled when missing (HF_ENDPOINT, HF_TOKEN,
    // IG_MODELS_DIR as for `infergrid pull`), then loaded from disk.
    for (std::string& m : a.models) {
        if (!hub::is_hub_uri(m)) continue;
        auto local = hub::resolve_hub_model(m, hub::pull_options_from_env());
        if (!local.ok()) return fail(local.error());
        m = *local;
    }
    if (!a.models.empty()) {
        mo.model_path = a.models.front();
        mo.more_models.assign(a.models.begin() + 1, a.models.end());
    }
    mo.models_dir = a.models_dir;
    mo.model_set.max_loaded = a.max_loaded_models;
    mo.model_set.memory_bytes = a.models_memory;
    mo.model_set.keep_alive = std::chrono::milliseconds(static_cast<int64_t>(a.keep_alive * 1000));
    mo.model_set.max_tenant_labels = static_cast<size_t>(a.max_tenant_labels);
    mo.served_model_name = a.served_model_name;
    mo.chat_template_path = a.chat_template;
    mo.tool_call_parser = a.tool_call_parser;
    mo.reasoning_parser = a.reasoning_parser;
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
    mo.engine.priority_aging_seconds = a.priority_aging_seconds;
    mo.engine.tenant_fair_share = !a.no_tenant_fair_share;
    mo.engine.threads = a.threads;
    mo.engine.enable_prefix_cache = !a.no_prefix_cache;
    // Budgets not named get plan_tier_budgets' defaults once the model is loaded.
    mo.plan_kv_tiers = true;
    if (sub.get_option("--kv-host-bytes")->count() > 0) mo.kv_host_bytes = a.kv_host_bytes;
    if (sub.get_option("--kv-disk-bytes")->count() > 0) mo.kv_disk_bytes = a.kv_disk_bytes;
    mo.engine.kv_host_q8 = a.kv_host_q8;
    mo.engine.kv_disk_dir = a.kv_disk_dir;
    auto sync = parse_disk_sync(a.kv_disk_sync);
    if (!sync.ok()) return fail(make_error("--kv-disk-sync: {}", sync.error().message));
    mo.engine.kv_disk_sync = *sync;
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
    cfg.model_load_wait = ms(a.model_load_wait);
    cfg.max_tenant_labels = static_cast<size_t>(a.max_tenant_labels);
    cfg.request_log = !a.no_request_log;
    // Both may come from a --config file, which CLI11's excludes() does not see.
    auto keys = tenants::key_store_from(a.tenants, a.api_key);
    if (!keys.ok()) return fail(keys.error());
    if (*keys) cfg.keys = std::make_shared<const tenants::KeyStore>(std::move(**keys));
    cfg.tenants_path = a.tenants;
    if (!a.usage_db.empty()) {
        auto ledger = tenants::UsageLedger::open(a.usage_db);
        if (!ledger.ok()) return fail(ledger.error());
        cfg.ledger = std::move(ledger).value();
        if (cfg.keys) {
            // Quotas resume where the ledger says this period stands, so a
            // restart does not hand every tenant a fresh quota.
            tenants::TenantLimiter::Options lo;
            lo.restore = [ledger = cfg.ledger](const std::string& tenant, int64_t since_ms) {
                auto used = ledger->tokens_since(tenant, since_ms);
                if (used.ok()) return *used;
                spdlog::error("quota of tenant {}: {} (counting from 0)", tenant,
                              used.error().message);
                return int64_t{0};
            };
            cfg.limiter = std::make_shared<tenants::TenantLimiter>(std::move(lo));
        }
    }

    auto st = server::serve(std::move(mo));
    if (!st.ok()) return fail(st.error());
    return 0;
}

}  // namespace

Command add_serve(CLI::App& app) {
    auto a = std::make_shared<ServeArgs>();
    CLI::App* s = add_serve_options(app, *a);
    return {s, [s, a] { return run_serve(*s, *a); }};
}

}  // namespace ig::app
