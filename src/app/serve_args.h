#pragma once
// The flags of `infergrid serve`, as parsed (before they become a
// server::ServeOptions), so that a test can compare a --config file with the
// same settings given on the command line.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace ig::app {

struct ServeArgs {
    std::string config;
    std::vector<std::string> models;  // --model (repeatable) or the positional file
    std::string models_dir;
    int max_loaded_models = 0;
    int64_t models_memory = 0;
    double keep_alive = 0;
    double model_load_wait = 300;
    std::string served_model_name;
    std::string chat_template;
    std::string tool_call_parser = "auto";
    std::string reasoning_parser = "none";
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
    double priority_aging_seconds = 1;
    bool no_tenant_fair_share = false;
    bool no_prefix_cache = false;
    int64_t kv_host_bytes = 0;
    bool kv_host_q8 = false;
    std::string kv_disk_dir;
    int64_t kv_disk_bytes = 0;
    std::string kv_disk_sync = "batch";
    int64_t max_body_bytes = 8 << 20;
    int64_t max_header_bytes = 16 << 10;
    double idle_timeout = 60;
    double request_timeout = 30;
    int64_t max_connections = 16384;
    double grace_period = 30;
    int max_n = 16;
    int max_tenant_labels = 100;
    std::string tenants;
    std::string api_key;
    std::string usage_db;
    bool no_request_log = false;
    std::string log_level = "info";

    bool operator==(const ServeArgs&) const = default;
};

// Adds the `serve` subcommand with every flag bound to `a`.
CLI::App* add_serve_options(CLI::App& app, ServeArgs& a);

}  // namespace ig::app
