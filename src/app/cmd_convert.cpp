#include <memory>
#include <string>

#include "app/commands.h"
#include "model_tools/convert.h"

namespace ig::app {

Command add_convert(CLI::App& app) {
    struct Args {
        std::string in, out, type = "f32";
        int threads = 0;
    };
    auto a = std::make_shared<Args>();
    auto* s = app.add_subcommand(
        "convert", "Write a Hugging Face model folder as one GGUF file (llama.cpp names)");
    s->add_option("input", a->in,
                  "Model folder: config.json, model.safetensors (or shards with "
                  "model.safetensors.index.json), tokenizer.json")
        ->required();
    s->add_option("output", a->out, "Output GGUF")->required();
    s->add_option("--type", a->type,
                  "Weight types: f32 (default, exact), f16, bf16, q8_0, q4_0, q4_k_m, q5_k_m or "
                  "q6_k");
    s->add_option("-t,--threads", a->threads, "Threads (0: all cores)");
    return {s, [a] {
                return run_quantize_like(
                    a->type, a->threads, a->out,
                    [&](QuantMix mix, ThreadPool& pool, const auto& on_tensor) {
                        return convert_hf_folder(a->in, a->out, mix, pool, on_tensor);
                    });
            }};
}

}  // namespace ig::app
