#pragma once
// Loads what `infergrid serve` serves: the GGUF model, its tokenizer, its
// chat template (from the file or --chat-template), and starts the engine.
#include <string>

#include "engine/engine.h"
#include "server/api_server.h"
#include "util/expected.h"

namespace ig {

struct ServeModelOptions {
    std::string model_path;
    std::string served_model_name;   // empty: the file's stem
    std::string chat_template_path;  // empty: the GGUF's tokenizer.chat_template, if any
    EngineConfig engine;
};

Expected<server::ServedModel> load_served_model(const ServeModelOptions& opt);

}  // namespace ig
