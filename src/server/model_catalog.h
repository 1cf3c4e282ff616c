#pragma once
// Which models a server can serve: the files and Hugging Face folders of a
// models directory, each `--model`, and the per-model options of the
// directory's models.toml. Only names and paths: nothing here loads a model.
//
// models.toml (in the models directory):
//   [models.NAME]                 # the name clients send
//   file = "qwen2.5-0.5b-q8_0.gguf"  # a file or folder of the directory; default: NAME
//   aliases = ["gpt-4o-mini"]     # more names for the same model
//   context = 4096                # context window (<= the model's)
//   kv_bytes = "1GiB"             # KV pool budget (or an integer of bytes)
//   chat_template = "t.jinja"     # relative to the directory
//   tool_call_parser = "hermes"   # as --tool-call-parser
//   reasoning_parser = "qwen3"    # as --reasoning-parser
// Unknown keys and tables are errors with their line, never ignored.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/expected.h"

namespace ig::server {

struct ModelSpec {
    std::string name;  // what clients send
    std::vector<std::string> aliases;
    std::string path;  // a GGUF file or a Hugging Face folder
    std::optional<int64_t> context;
    std::optional<int64_t> kv_bytes;
    std::string chat_template_path;
    std::optional<std::string> tool_call_parser, reasoning_parser;
};

struct CatalogSources {
    std::string models_dir;           // empty: none
    std::vector<std::string> models;  // --model paths, in order
    std::string served_model_name;    // names the only --model (with no models dir)
};

// Models in order: each --model first, then the directory's entries by
// name. Names and aliases are unique (a clash is an error naming both).
Expected<std::vector<ModelSpec>> build_catalog(const CatalogSources& src);

// Parses a byte size: an integer, or a number with a unit (B, KB, MB, GB,
// TB: powers of 1000; KiB, MiB, GiB, TiB: of 1024).
Expected<int64_t> parse_byte_size(std::string_view text);

// The model's own name for a path: a file's stem, a folder's name.
std::string model_name_of(const std::string& path);

}  // namespace ig::server
