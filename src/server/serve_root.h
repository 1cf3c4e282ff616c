#pragma once
// The composition root of `infergrid serve`: builds the model, its
// tokenizer, the chat renderer, the engine and the API server, in that order,
// and runs them until SIGTERM/SIGINT. Nothing below is handed a part built
// above it.
#include <optional>
#include <string>

#include "engine/engine.h"
#include "server/api_server.h"
#include "server/model_catalog.h"
#include "server/model_set.h"
#include "server/server_config.h"
#include "util/expected.h"

namespace ig::server {

struct ServeOptions {
    std::string model_path;
    // More models (repeatable --model after the first, and --models-dir):
    // loaded on demand; the budgets below choose what stays loaded.
    std::vector<std::string> more_models;
    std::string models_dir;
    ModelSetOptions model_set;
    std::string served_model_name;          // empty: the file's stem
    std::string chat_template_path;         // empty: the GGUF's tokenizer.chat_template, if any
    std::string tool_call_parser = "auto";  // a ToolCallFormat name, or auto: from the template
    std::string reasoning_parser = "none";  // none, deepseek_r1, qwen3, gpt_oss
    EngineConfig engine;
    ServerConfig server;
    // `serve`: size the KV tiers with plan_tier_budgets (kvcache/tier_budgets.h)
    // from the machine, replacing engine.kv_host_bytes / kv_disk_bytes; the
    // budgets named here (flags) are checked against the machine instead.
    bool plan_kv_tiers = false;
    std::optional<int64_t> kv_host_bytes, kv_disk_bytes;
};

// Model, tokenizer, chat renderer and a started engine. `metrics`: the
// model's metrics (kept across loads); null: a new set.
Expected<ServedModel> load_served_model(const ServeOptions& opt,
                                        std::shared_ptr<ServerMetrics> metrics = nullptr);

// The models `serve` offers (--model, --models-dir), each loaded on demand
// by load_served_model with its models.toml options; every --model is
// loaded before this returns. Engines share one set of compute threads.
Expected<std::shared_ptr<ModelSet>> open_model_set(const ServeOptions& opt);

// Loads, listens, prints "infergrid serving '<name>' at http://host:port/v1"
// on stdout, serves until SIGTERM/SIGINT and drains.
Status serve(ServeOptions opt);

}  // namespace ig::server
