#include <cstdio>
#include <memory>
#include <string>

#include "app/commands.h"
#include "model_tools/quantize.h"
#include "util/thread_pool.h"

namespace ig::app {
namespace {

struct QuantizeArgs {
    std::string in, out, type;
    int threads = 0;
};

std::string shape_str(const std::vector<uint64_t>& s) {
    std::string r = "[";
    for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
    return r + "]";
}

}  // namespace

int run_quantize_like(const std::string& type, int threads, const std::string& out,
                      const QuantizeRun& run) {
    const auto mix = quant_mix_from_name(type);
    if (!mix) {
        std::string names;
        for (const auto& n : quant_mix_names()) names += (names.empty() ? "" : ", ") + n;
        return fail(make_error("unknown --type '{}' (one of: {})", type, names));
    }
    ThreadPool pool(threads);
    size_t n_tensors = 0;
    bool warned = false;
    auto summary = run(*mix, pool, [&](const TensorResult& r) {
        const TensorPlan& p = *r.plan;
        const auto in_info = dtype_info(static_cast<uint32_t>(p.in_type));
        const bool in_quantized = in_info && in_info->block_elems > 1;  // block types
        if (!warned && p.in_type != p.out_type && in_quantized) {
            std::fprintf(stderr,
                         "warning: %s weights are quantized again (%s -> %s): their rounding error "
                         "adds up; start from F32/F16/BF16 weights when you can\n",
                         std::string(dtype_name(p.in_type)).c_str(), p.name.c_str(),
                         std::string(dtype_name(p.out_type)).c_str());
            warned = true;
        }
        std::printf("[%4zu] %-32s %-16s %5s -> %-5s  rel_rmse %.5f%s%s\n", r.index + 1,
                    p.name.c_str(), shape_str(p.shape).c_str(),
                    std::string(dtype_name(p.in_type)).c_str(),
                    std::string(dtype_name(p.out_type)).c_str(), r.rel_rmse,
                    p.note.empty() ? "" : "  (", p.note.empty() ? "" : (p.note + ")").c_str());
        std::fflush(stdout);
        ++n_tensors;
    });
    if (!summary.ok()) return fail(summary.error());
    const QuantizeSummary& s = *summary;
    std::printf(
        "%zu tensors, %llu weights: input %.2f MiB -> output %.2f MiB, %.3f bits per weight "
        "(%s)\n",
        s.n_tensors, static_cast<unsigned long long>(s.n_elements),
        static_cast<double>(s.in_bytes) / (1 << 20), static_cast<double>(s.out_bytes) / (1 << 20),
        s.bits_per_weight(), std::string(quant_mix_name(*mix)).c_str());
    std::fprintf(stderr, "wrote %s\n", out.c_str());
    return 0;
}

namespace {

int run_quantize(const QuantizeArgs& a) {
    return run_quantize_like(a.type, a.threads, a.out,
                             [&](QuantMix mix, ThreadPool& pool, const auto& on_tensor) {
                                 return quantize_model(a.in, a.out, mix, pool, on_tensor);
                             });
}

}  // namespace

Command add_quantize(CLI::App& app) {
    auto a = std::make_shared<QuantizeArgs>();
    auto* s = app.add_subcommand("quantize", "Convert a GGUF model's weights to another type");
    s->add_option("input", a->in,
                  "Input GGUF: F32, F16 or BF16 weights give the best result; quantized ones are "
                  "dequantized and quantized again, adding their rounding error")
        ->required();
    s->add_option("output", a->out, "Output GGUF")->required();
    s->add_option("--type", a->type, "f32, f16, bf16, q8_0, q4_0, q4_k_m, q5_k_m or q6_k")
        ->required();
    s->add_option("-t,--threads", a->threads, "Threads (0: all cores)");
    return {s, [a] { return run_quantize(*a); }};
}

}  // namespace ig::app
