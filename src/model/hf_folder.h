#pragma once
// A Hugging Face model folder (config.json, model.safetensors or shards with
// model.safetensors.index.json, tokenizer_config.json / chat_template.jinja)
// as a GGUF view with llama.cpp's metadata keys and tensor names, so the
// model loader and everything downstream run unchanged. F32/F16/BF16 weights
// stay in the mappings ([out, in] rows are GGUF's [in, out] over the same
// bytes); only "llama" Q/K rows are copied, un-permuted as llama.cpp's
// converter does, so logits equal those of the converted GGUF exactly.
#include <memory>
#include <string>

#include "gguf/gguf.h"
#include "util/expected.h"

namespace ig {

// A directory: read as a Hugging Face folder (a file: GGUF).
bool is_hf_folder(const std::string& path);

Expected<std::shared_ptr<const GgufFile>> open_hf_folder(const std::string& dir);

// A GGUF file, or the view of a Hugging Face folder when path is a directory.
Expected<std::shared_ptr<const GgufFile>> open_model_file(const std::string& path);

// The chat template of a folder: chat_template.jinja, else
// tokenizer_config.json's chat_template (a string, or a list of
// {name, template} of which "default" is taken); "" when it has none.
Expected<std::string> hf_chat_template(const std::string& dir);

}  // namespace ig
