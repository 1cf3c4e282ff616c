#pragma once
// `infergrid convert DIR OUT.gguf [--type T]`: a Hugging Face model folder
// written as one GGUF file with llama.cpp's metadata keys and tensor names,
// the chat template and the vocabulary (tokenizer.ggml.*), its weights in
// the type mix T (the quantize plan: f32 keeps them exact).
#include <functional>
#include <string>

#include "model_tools/quantize.h"
#include "util/expected.h"
#include "util/thread_pool.h"

namespace ig {

Expected<QuantizeSummary> convert_hf_folder(
    const std::string& dir, const std::string& out_path, QuantMix mix, ThreadPool& pool,
    const std::function<void(const TensorResult&)>& on_tensor);

}  // namespace ig
