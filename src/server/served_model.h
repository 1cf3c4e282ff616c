#pragma once
// A model as the API serves it: engine, tokenizer, chat renderer, how its
// answers are read back, and its metrics.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/chat_output_parser.h"
#include "engine/engine.h"
#include "server/server_metrics.h"
#include "tokenizer/tokenizer.h"

namespace ig::server {

// A rendered chat prompt; special_allowed marks, per byte, where special
// tokens may be matched (template text yes, message content no).
struct ChatPrompt {
    std::string text;
    std::vector<uint8_t> special_allowed;
};
// Renders normalised messages (every content a string) with the model's chat
// template, adding the generation prompt.
// `tools`: null or the request's tool list; `kwargs`: null or an object of
// extra template variables (chat_template_kwargs, e.g. enable_thinking).
using ChatRenderer = std::function<Expected<ChatPrompt>(const nlohmann::json& messages,
                                                        const nlohmann::ordered_json& tools,
                                                        const nlohmann::json& kwargs)>;

struct ServedModel {
    std::shared_ptr<Engine> engine;
    std::shared_ptr<const Tokenizer> tokenizer;
    ChatRenderer chat;  // empty: the model has no chat template
    // How answers are read back: tool calls in the template's format, and
    // thinking split off (reasoning_content).
    ToolCallFormat tool_format = ToolCallFormat::None;
    ReasoningFormat reasoning_format = ReasoningFormat::None;
    std::string name;     // the `model` clients must send
    int64_t created = 0;  // unix seconds, for /v1/models
    // Metrics of this model; server::load_served_model makes it before the engine so
    // that the engine's step observer feeds it. Null: the ApiServer makes one.
    std::shared_ptr<ServerMetrics> metrics;
    double load_seconds = 0;   // model load + engine start, for infergrid_model_load_seconds
    int64_t memory_bytes = 0;  // weights + KV pool (model budgets); 0: not known
    // Sampling for fields a request leaves out (generation_config.json).
    SamplingParams sampling_defaults;
};

}  // namespace ig::server
