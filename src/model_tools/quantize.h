#pragma once
// `infergrid quantize IN.gguf OUT.gguf --type MIX`: rewrites a model's
// weights in another type, tensor by tensor (input memory-mapped, one
// tensor's output in memory at a time), copying all metadata.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/gguf.h"
#include "tensor/dtype.h"
#include "util/expected.h"
#include "util/thread_pool.h"

namespace ig {

// Target mixes, named as llama.cpp names them.
enum class QuantMix { F32, F16, BF16, Q8_0, Q4_0, Q4_K_M, Q5_K_M, Q6_K };

std::optional<QuantMix> quant_mix_from_name(std::string_view name);  // "q4_k_m", any case
std::string_view quant_mix_name(QuantMix mix);
std::vector<std::string> quant_mix_names();
// llama.cpp's llama_ftype for general.file_type (F32 0, F16 1, Q4_0 2,
// Q8_0 7, Q4_K_M 15, Q5_K_M 17, Q6_K 18, BF16 32).
uint32_t quant_mix_file_type(QuantMix mix);

// What happens to one tensor.
struct TensorPlan {
    std::string name;
    std::vector<uint64_t> shape;
    DType in_type = DType::F32;
    DType out_type = DType::F32;
    std::string note;  // why out_type differs from the mix's base type, if it does
};

// The output type of every tensor of `file` under `mix` (rules in the .cpp).
// Errors for a tensor type that cannot be converted.
Expected<std::vector<TensorPlan>> plan_quantization(const GgufFile& file, QuantMix mix);

struct TensorResult {
    size_t index = 0;                  // in the plan
    const TensorPlan* plan = nullptr;  // valid only during the callback
    double rel_rmse = 0;  // sqrt(sum (w - q)^2 / sum w^2) against the (dequantized) input
    uint64_t in_bytes = 0, out_bytes = 0;
};

struct QuantizeSummary {
    size_t n_tensors = 0;
    uint64_t n_elements = 0;
    uint64_t in_bytes = 0, out_bytes = 0;  // tensor data only
    double bits_per_weight() const {
        return n_elements ? 8.0 * static_cast<double>(out_bytes) / static_cast<double>(n_elements)
                          : 0.0;
    }
};

// Writes `out_path` (via out_path.tmp + rename: no partial file on error).
// on_tensor, if set, is called after each tensor is converted, in file order.
Expected<QuantizeSummary> quantize_model(const std::string& in_path, const std::string& out_path,
                                         QuantMix mix, ThreadPool& pool,
                                         const std::function<void(const TensorResult&)>& on_tensor);
// The same from a GGUF view already open (a Hugging Face folder's), with
// `extra` metadata (its vocabulary) added to the file's.
Expected<QuantizeSummary> quantize_gguf(const GgufFile& in, const std::vector<GgufKV>& extra,
                                        const std::string& out_path, QuantMix mix, ThreadPool& pool,
                                        const std::function<void(const TensorResult&)>& on_tensor);

}  // namespace ig
