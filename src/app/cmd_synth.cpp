#include <cstdio>
#include <memory>

#include "app/commands.h"
#include "model_tools/synth.h"
#include "tensor/dtype.h"
#include "util/progress.h"
#include "util/thread_pool.h"

namespace ig::app {
namespace {

struct SynthArgs {
    std::string preset = "tiny-llama", type = "f16", out, arch;
    uint64_t seed = 1;
    int threads = 0;
    int64_t embd = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0, ffn = 0, vocab = 0,
            ctx = 0;
    bool tied = false, untied = false;
};

int run_synth(const SynthArgs& a) {
    SynthSpec spec = *synth_preset(a.preset);
    if (!a.arch.empty()) {
        spec.arch = a.arch;
        spec.qkv_bias = a.arch == "qwen2";
    }
    if (a.embd) spec.n_embd = a.embd;
    if (a.layers) spec.n_layer = a.layers;
    if (a.heads) spec.n_head = a.heads;
    if (a.kv_heads) spec.n_head_kv = a.kv_heads;
    if (a.head_dim) spec.head_dim = a.head_dim;
    if (a.ffn) spec.n_ff = a.ffn;
    if (a.vocab) spec.n_vocab = a.vocab;
    if (a.ctx) spec.n_ctx = a.ctx;
    if (a.tied) spec.tied_output = true;
    if (a.untied) spec.tied_output = false;
    auto type = dtype_from_name(a.type);
    if (!type) return fail(make_error("unknown --type '{}'", a.type));
    ThreadPool pool(a.threads);
    auto st = synth_model(spec, *type, a.seed, a.out, pool, ProgressLine("writing " + a.out));
    if (!st.ok()) return fail(st.error());
    std::fprintf(stderr, "wrote %s\n", a.out.c_str());
    return 0;
}

}  // namespace

Command add_synth(CLI::App& app) {
    auto a = std::make_shared<SynthArgs>();
    auto* s = app.add_subcommand("synth", "Write a GGUF model with random weights");
    s->add_option("--preset", a->preset, "Shape preset")
        ->check(CLI::IsMember(synth_preset_names()));
    s->add_option("--type", a->type, "Weight type: f32, f16, bf16, q8_0, q4_0, q4_k, q5_k, q6_k");
    s->add_option("-o,--out", a->out, "Output file")->required();
    s->add_option("--seed", a->seed, "Random seed");
    s->add_option("-t,--threads", a->threads, "Threads (0: all cores)");
    s->add_option("--arch", a->arch, "Override: llama, qwen2 or qwen3")
        ->check(CLI::IsMember({"llama", "qwen2", "qwen3"}));
    s->add_option("--hidden", a->embd, "Override: embedding length");
    s->add_option("--layers", a->layers, "Override: block count");
    s->add_option("--heads", a->heads, "Override: attention heads");
    s->add_option("--kv-heads", a->kv_heads, "Override: KV heads");
    s->add_option("--head-dim", a->head_dim,
                  "Override: head dimension (default: the preset's, else hidden / heads)");
    s->add_option("--ffn", a->ffn, "Override: feed-forward length");
    s->add_option("--vocab", a->vocab, "Override: vocabulary size");
    s->add_option("--ctx", a->ctx, "Override: context length");
    s->add_flag("--tied", a->tied, "Override: tie output to token embeddings");
    s->add_flag("--untied", a->untied, "Override: separate output matrix");
    return {s, [a] { return run_synth(*a); }};
}

}  // namespace ig::app
