#pragma once
// Hugging Face tensor names -> llama.cpp's GGUF names (convert_hf_to_gguf.py
// / gguf-py's tensor map) for the llama, qwen2 and qwen3 families.
#include <optional>
#include <string>
#include <string_view>

namespace ig {

// "model.layers.3.self_attn.q_proj.weight" -> "blk.3.attn_q.weight";
// nullopt for a name the model has no use for.
std::optional<std::string> gguf_tensor_name(std::string_view hf_name);

// Tensors a checkpoint may carry that hold nothing the model needs
// (precomputed rotary inverse frequencies).
bool hf_tensor_ignored(std::string_view hf_name);

}  // namespace ig
