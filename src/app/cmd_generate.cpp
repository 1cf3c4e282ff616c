#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>

#include "app/commands.h"
#include "kernels/kernels.h"
#include "model_tools/generate.h"

namespace ig::app {

Command add_generate(CLI::App& app) {
    auto gen = std::make_shared<GenerateOptions>();
    auto* g = app.add_subcommand("generate", "Generate text from a prompt");
    g->add_option("-m,--model", gen->model, "GGUF model file")->required();
    g->add_option("-p,--prompt", gen->prompt, "Prompt text");
    g->add_option("-n,--n-predict", gen->n_predict, "Tokens to generate")
        ->check(CLI::Range(0, 1 << 24));
    g->add_option("--temperature", gen->temperature, "Sampling temperature (0: greedy)");
    g->add_option("--top-k", gen->top_k, "Top-k (0: off)");
    g->add_option("--top-p", gen->top_p, "Top-p")->check(CLI::Range(0.0, 1.0));
    g->add_option("--seed", gen->seed, "Sampling seed");
    g->add_option("-t,--threads", gen->threads, "Threads (0: all cores)")
        ->check(CLI::Range(0, 1024));
    g->add_option("--kv-type", gen->kv_type, "KV cache type: f16 or f32");
    g->add_option("-b,--batch", gen->batch, "Prefill chunk size")->check(CLI::Range(1, 1 << 20));
    g->add_flag("--ignore-eos", gen->ignore_eos, "Keep generating after end of sequence");
    g->add_flag("--ids", gen->print_ids, "Print prompt and generated token ids to stderr");

    return {
        g, [gen] {
            auto r = run_generate(*gen, std::cout);
            if (!r.ok()) return fail(r.error());
            const double pre_tps = r->prompt_ids.size() / std::max(1e-9, r->prefill_seconds);
            const double dec_tps =
                r->ids.size() > 1 ? (r->ids.size() - 1) / std::max(1e-9, r->decode_seconds) : 0.0;
            std::fprintf(stderr,
                         "\n[%s] prompt %zu tokens in %.3f s (%.1f tok/s); generated %zu "
                         "tokens in %.3f s (%.2f tok/s)\n",
                         std::string(isa_name(best_isa())).c_str(), r->prompt_ids.size(),
                         r->prefill_seconds, pre_tps, r->ids.size(), r->decode_seconds, dec_tps);
            if (gen->print_ids) {
                std::string p, o;
                for (auto id : r->prompt_ids) p += std::to_string(id) + " ";
                for (auto id : r->ids) o += std::to_string(id) + " ";
                std::fprintf(stderr, "prompt ids: %s\ngenerated ids: %s\n", p.c_str(), o.c_str());
            }
            return 0;
        }};
}

}  // namespace ig::app
