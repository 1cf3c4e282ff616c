#include "model_tools/quantize.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstring>
#include <mutex>

#include "tensor/quantize.h"

namespace ig {
namespace {

struct MixInfo {
    QuantMix mix;
    std::string_view name;
    DType base;
    uint32_t file_type;
};

constexpr std::array<MixInfo, 8> kMixes = {{
    {QuantMix::F32, "f32", DType::F32, 0},
    {QuantMix::F16, "f16", DType::F16, 1},
    {QuantMix::BF16, "bf16", DType::BF16, 32},
    {QuantMix::Q8_0, "q8_0", DType::Q8_0, 7},
    {QuantMix::Q4_0, "q4_0", DType::Q4_0, 2},
    {QuantMix::Q4_K_M, "q4_k_m", DType::Q4_K, 15},
    {QuantMix::Q5_K_M, "q5_k_m", DType::Q5_K, 17},
    {QuantMix::Q6_K, "q6_k", DType::Q6_K, 18},
}};

const MixInfo& info(QuantMix m) {
    for (const auto& i : kMixes)
        if (i.mix == m) return i;
    return kMixes[0];
}

// Tensors below this many elements stay F32: their bytes do not matter and
// they are often sensitive.
constexpr uint64_t kSmallTensor = 1024;

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// "blk.N.xxx" -> N; -1 otherwise.
int64_t layer_of(std::string_view name) {
    if (name.substr(0, 4) != "blk.") return -1;
    int64_t n = 0;
    size_t i = 4;
    if (i >= name.size() || !std::isdigit(static_cast<unsigned char>(name[i]))) return -1;
    for (; i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])); ++i)
        n = n * 10 + (name[i] - '0');
    return n;
}

// llama.cpp's use_more_bits: the first and last eighth of the layers, and
// every third layer in between, get the higher type.
bool use_more_bits(int64_t i, int64_t n) {
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

bool is_float_type(DType t) {
    return t == DType::F32 || t == DType::F16 || t == DType::BF16;
}

}  // namespace

std::optional<QuantMix> quant_mix_from_name(std::string_view name) {
    std::string lower(name);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const auto& i : kMixes)
        if (i.name == lower) return i.mix;
    return std::nullopt;
}

std::string_view quant_mix_name(QuantMix mix) {
    return info(mix).name;
}

std::vector<std::string> quant_mix_names() {
    std::vector<std::string> v;
    for (const auto& i : kMixes) v.emplace_back(i.name);
    return v;
}

uint32_t quant_mix_file_type(QuantMix mix) {
    return info(mix).file_type;
}

// Type rules, following llama.cpp's llama_tensor_get_type (llama-quant.cpp)
// for these mixes:
// - 1-D tensors (norms, biases, rope factors), tensors not named *.weight and
//   tensors under kSmallTensor elements stay (or become) F32.
// - output.weight (token_embd.weight when the output is tied to it): Q6_K in
//   every quantized mix except Q8_0, where it stays Q8_0 (so also in Q4_0, as
//   llama.cpp does); F16 in the F16 mix.
// - Q4_K_M and Q5_K_M: attn_v.weight and ffn_down.weight of layer i get Q6_K
//   when use_more_bits(i, n_layer): i < n/8, i >= 7n/8, or (i - n/8) % 3 == 2.
//   token_embd.weight (untied) keeps the base type (Q4_K / Q5_K).
// - Everything else: the mix's base type (F16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K).
// - A row length (shape[0]) that is not a multiple of the chosen type's block
//   (256 for K-quants) falls back to Q8_0 if it is a multiple of 32, else F16
//   (llama.cpp picks Q5_0/Q5_1/Q8_0 there; we have no Q5_0/Q5_1 kernels).
Expected<std::vector<TensorPlan>> plan_quantization(const GgufFile& file, QuantMix mix) {
    const MixInfo& mi = info(mix);
    const bool kmix = mix == QuantMix::Q4_K_M || mix == QuantMix::Q5_K_M;
    const bool has_output = file.find_tensor("output.weight") != nullptr;
    int64_t n_layer = 0;
    for (const auto& t : file.tensors()) n_layer = std::max(n_layer, layer_of(t.name) + 1);

    std::vector<TensorPlan> plans;
    for (const auto& t : file.tensors()) {
        TensorPlan p{t.name, t.shape, t.type, t.type, ""};
        const bool matrix = t.shape.size() >= 2 && ends_with(t.name, ".weight");
        if (!is_float_type(t.type) && !dtype_is_computable(t.type)) {
            // Integer or unknown-to-us data: copied byte for byte.
            plans.push_back(std::move(p));
            continue;
        }
        if (!matrix || t.n_elements < kSmallTensor) {
            p.out_type = DType::F32;
            plans.push_back(std::move(p));
            continue;
        }
        DType want = mi.base;
        const bool is_output =
            t.name == "output.weight" || (!has_output && t.name == "token_embd.weight");
        if (is_output && !is_float_type(mi.base) && mi.base != DType::Q8_0) {
            want = DType::Q6_K;
            p.note = "output: q6_k";
        } else if (kmix &&
                   (ends_with(t.name, ".attn_v.weight") || ends_with(t.name, ".ffn_down.weight"))) {
            const int64_t l = layer_of(t.name);
            if (l >= 0 && use_more_bits(l, n_layer)) {
                want = DType::Q6_K;
                p.note = "more bits for this layer: q6_k";
            }
        }
        const uint64_t row = t.shape[0];
        if (!row_bytes(want, row)) {
            const DType fb = row_bytes(DType::Q8_0, row) ? DType::Q8_0 : DType::F16;
            p.note = std::string("row of ") + std::to_string(row) + " is not a multiple of " +
                     std::string(dtype_name(want)) + "'s block: fallback " +
                     std::string(dtype_name(fb));
            want = fb;
        }
        p.out_type = want;
        plans.push_back(std::move(p));
    }
    return plans;
}

Expected<QuantizeSummary> quantize_model(
    const std::string& in_path, const std::string& out_path, QuantMix mix, ThreadPool& pool,
    const std::function<void(const TensorResult&)>& on_tensor) {
    auto opened = GgufFile::open(in_path);
    if (!opened.ok()) return opened.error();
    return quantize_gguf(*opened, {}, out_path, mix, pool, on_tensor);
}

Expected<QuantizeSummary> quantize_gguf(const GgufFile& in, const std::vector<GgufKV>& extra,
                                        const std::string& out_path, QuantMix mix, ThreadPool& pool,
                                        const std::function<void(const TensorResult&)>& on_tensor) {
    std::vector<TensorPlan> plans;
    IG_ASSIGN_OR_RETURN(plans, plan_quantization(in, mix));

    GgufWriter w;
    for (const auto& kv : in.metadata()) w.set(kv.key, kv.value);
    for (const auto& kv : extra) w.set(kv.key, kv.value);
    w.set("general.file_type", GgufValue::u32(quant_mix_file_type(mix)));
    w.set("general.quantization_version", GgufValue::u32(2));

    QuantizeSummary sum;
    const auto& tensors = in.tensors();
    for (size_t i = 0; i < plans.size(); ++i) {
        const TensorPlan& p = plans[i];
        const GgufTensorInfo& t = tensors[i];
        const uint64_t ne0 = t.shape[0];
        const uint64_t rows = ne0 ? t.n_elements / ne0 : 0;
        const uint64_t out_row = *row_bytes(p.out_type, ne0);
        const uint64_t in_row = ne0 ? t.n_bytes / rows : 0;
        sum.n_tensors++;
        sum.n_elements += t.n_elements;
        sum.in_bytes += t.n_bytes;
        sum.out_bytes += out_row * rows;
        IG_TRY(w.add_tensor(
            p.name, p.shape, p.out_type,
            [&pool, &on_tensor, &p, &t, i, ne0, rows, in_row, out_row](uint8_t* dst,
                                                                       uint64_t n_bytes) {
                TensorResult r{i, &p, 0.0, t.n_bytes, n_bytes};
                if (p.in_type == p.out_type) {
                    // Same type: the bytes as they are (error 0).
                    std::memcpy(dst, t.data, n_bytes);
                } else {
                    std::mutex mu;
                    double num = 0, den = 0;
                    pool.parallel_for(static_cast<int64_t>(rows), 16, [&](int64_t r0, int64_t r1) {
                        std::vector<float> x(ne0), y(ne0);
                        double n_local = 0, d_local = 0;
                        for (int64_t r = r0; r < r1; ++r) {
                            const uint8_t* src = t.data + static_cast<uint64_t>(r) * in_row;
                            uint8_t* out = dst + static_cast<uint64_t>(r) * out_row;
                            dequantize_row(p.in_type, src, x.data(), static_cast<int64_t>(ne0));
                            quantize_row(p.out_type, x.data(), out, static_cast<int64_t>(ne0));
                            dequantize_row(p.out_type, out, y.data(), static_cast<int64_t>(ne0));
                            for (uint64_t k = 0; k < ne0; ++k) {
                                const double d = static_cast<double>(x[k]) - y[k];
                                n_local += d * d;
                                d_local += static_cast<double>(x[k]) * x[k];
                            }
                        }
                        std::lock_guard lock(mu);
                        num += n_local;
                        den += d_local;
                    });
                    r.rel_rmse = den > 0 ? std::sqrt(num / den) : (num > 0 ? INFINITY : 0.0);
                }
                if (on_tensor) on_tensor(r);
            }));
    }
    const uint32_t alignment = static_cast<uint32_t>(in.alignment());

    IG_TRY(w.write(out_path, alignment));
    return sum;
}

}  // namespace ig
