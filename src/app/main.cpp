// infergrid: one binary, subcommands. Exceptions stop here (CLI parsing);
// everything below returns Expected/Status.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "kernels/kernels.h"
#include "tensor/dtype.h"
#include "tools/generate.h"
#include "tools/inspect.h"
#include "tools/synth.h"

namespace {

int fail(const ig::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.message.c_str());
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"infergrid: LLM inference server"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "infergrid 0.1.0");

    // generate
    ig::GenerateOptions gen;
    auto* g = app.add_subcommand("generate", "Generate text from a prompt");
    g->add_option("-m,--model", gen.model, "GGUF model file")->required();
    g->add_option("-p,--prompt", gen.prompt, "Prompt text");
    g->add_option("-n,--n-predict", gen.n_predict, "Tokens to generate")
        ->check(CLI::Range(0, 1 << 24));
    g->add_option("--temperature", gen.temperature, "Sampling temperature (0: greedy)");
    g->add_option("--top-k", gen.top_k, "Top-k (0: off)");
    g->add_option("--top-p", gen.top_p, "Top-p")->check(CLI::Range(0.0, 1.0));
    g->add_option("--seed", gen.seed, "Sampling seed");
    g->add_option("-t,--threads", gen.threads, "Threads (0: all cores)")
        ->check(CLI::Range(0, 1024));
    g->add_option("--kv-type", gen.kv_type, "KV cache type: f16 or f32");
    g->add_option("-b,--batch", gen.batch, "Prefill chunk size")->check(CLI::Range(1, 1 << 20));
    g->add_flag("--ignore-eos", gen.ignore_eos, "Keep generating after end of sequence");
    g->add_flag("--ids", gen.print_ids, "Print prompt and generated token ids to stderr");

    // synth
    std::string synth_preset = "tiny-llama", synth_type = "f16", synth_out;
    uint64_t synth_seed = 1;
    int synth_threads = 0;
    ig::SynthSpec spec_over;
    std::string arch_over;
    int64_t embd = 0, layers = 0, heads = 0, kv_heads = 0, ffn = 0, vocab = 0, ctx = 0;
    bool tied = false, untied = false;
    auto* s = app.add_subcommand("synth", "Write a GGUF model with random weights");
    s->add_option("--preset", synth_preset, "Shape preset")
        ->check(CLI::IsMember(ig::synth_preset_names()));
    s->add_option("--type", synth_type, "Weight type: f32, f16, bf16, q8_0, q4_0");
    s->add_option("-o,--out", synth_out, "Output file")->required();
    s->add_option("--seed", synth_seed, "Random seed");
    s->add_option("-t,--threads", synth_threads, "Threads (0: all cores)");
    s->add_option("--arch", arch_over, "Override: llama or qwen2");
    s->add_option("--hidden", embd, "Override: embedding length");
    s->add_option("--layers", layers, "Override: block count");
    s->add_option("--heads", heads, "Override: attention heads");
    s->add_option("--kv-heads", kv_heads, "Override: KV heads");
    s->add_option("--ffn", ffn, "Override: feed-forward length");
    s->add_option("--vocab", vocab, "Override: vocabulary size");
    s->add_option("--ctx", ctx, "Override: context length");
    s->add_flag("--tied", tied, "Override: tie output to token embeddings");
    s->add_flag("--untied", untied, "Override: separate output matrix");

    // inspect
    std::string inspect_path;
    bool inspect_json = false;
    auto* in = app.add_subcommand("inspect", "Describe a GGUF model file");
    in->add_option("model", inspect_path, "GGUF file")->required();
    in->add_flag("--json", inspect_json, "Print JSON");

    CLI11_PARSE(app, argc, argv);

    if (g->parsed()) {
        auto r = ig::run_generate(gen, std::cout);
        if (!r.ok()) return fail(r.error());
        const double pre_tps = r->prompt_ids.size() / std::max(1e-9, r->prefill_seconds);
        const double dec_tps =
            r->ids.size() > 1 ? (r->ids.size() - 1) / std::max(1e-9, r->decode_seconds) : 0.0;
        std::fprintf(stderr,
                     "\n[%s] prompt %zu tokens in %.3f s (%.1f tok/s); generated %zu tokens in "
                     "%.3f s (%.2f tok/s)\n",
                     std::string(ig::isa_name(ig::best_isa())).c_str(), r->prompt_ids.size(),
                     r->prefill_seconds, pre_tps, r->ids.size(), r->decode_seconds, dec_tps);
        if (gen.print_ids) {
            std::string p, o;
            for (auto id : r->prompt_ids) p += std::to_string(id) + " ";
            for (auto id : r->ids) o += std::to_string(id) + " ";
            std::fprintf(stderr, "prompt ids: %s\ngenerated ids: %s\n", p.c_str(), o.c_str());
        }
        return 0;
    }
    if (s->parsed()) {
        ig::SynthSpec spec = *ig::synth_preset(synth_preset);
        if (!arch_over.empty()) {
            spec.arch = arch_over;
            spec.qkv_bias = arch_over == "qwen2";
        }
        if (embd) spec.n_embd = embd;
        if (layers) spec.n_layer = layers;
        if (heads) spec.n_head = heads;
        if (kv_heads) spec.n_head_kv = kv_heads;
        if (ffn) spec.n_ff = ffn;
        if (vocab) spec.n_vocab = vocab;
        if (ctx) spec.n_ctx = ctx;
        if (tied) spec.tied_output = true;
        if (untied) spec.tied_output = false;
        auto type = ig::dtype_from_name(synth_type);
        if (!type) return fail(ig::make_error("unknown --type '{}'", synth_type));
        ig::ThreadPool pool(synth_threads);
        auto st = ig::synth_model(spec, *type, synth_seed, synth_out, pool);
        if (!st.ok()) return fail(st.error());
        std::fprintf(stderr, "wrote %s\n", synth_out.c_str());
        return 0;
    }
    if (in->parsed()) {
        auto st = ig::run_inspect(inspect_path, inspect_json, std::cout);
        if (!st.ok()) return fail(st.error());
        return 0;
    }
    return 0;
}
