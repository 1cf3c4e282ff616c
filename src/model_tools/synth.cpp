#include "model_tools/synth.h"

#include <cmath>
#include <cstdio>

#include "gguf/gguf.h"
#include "tensor/quantize.h"

namespace ig {
namespace {

struct Preset {
    std::string_view name;
    SynthSpec spec;
};

SynthSpec make(std::string arch, int64_t e, int64_t l, int64_t h, int64_t kv, int64_t ff,
               int64_t vocab, int64_t ctx, bool tied, float base, float eps) {
    SynthSpec s;
    s.arch = std::move(arch);
    s.n_embd = e;
    s.n_layer = l;
    s.n_head = h;
    s.n_head_kv = kv;
    s.n_ff = ff;
    s.n_vocab = vocab;
    s.n_ctx = ctx;
    s.tied_output = tied;
    s.qkv_bias = s.arch == "qwen2";
    s.rope_base = base;
    s.rms_eps = eps;
    return s;
}

SynthSpec with_head_dim(SynthSpec s, int64_t head_dim) {
    s.head_dim = head_dim;
    return s;
}

SynthSpec with_llama3_rope(SynthSpec s) {
    s.llama3_rope = true;
    return s;
}

std::vector<Preset> presets() {
    return {
        {"tinyllama-1.1b", make("llama", 2048, 22, 32, 4, 5632, 32000, 2048, false, 1e4f, 1e-5f)},
        {"qwen2.5-0.5b", make("qwen2", 896, 24, 14, 2, 4864, 151936, 32768, true, 1e6f, 1e-6f)},
        {"llama3.2-1b",
         with_llama3_rope(make("llama", 2048, 16, 32, 8, 8192, 128256, 131072, true, 5e5f, 1e-5f))},
        {"qwen3-0.6b",
         with_head_dim(make("qwen3", 1024, 28, 16, 8, 3072, 151936, 40960, true, 1e6f, 1e-6f),
                       128)},
        // Tiny shapes for tests: GQA groups of 2 and 4, tied and untied.
        {"tiny-llama", make("llama", 64, 2, 4, 2, 128, 320, 512, false, 1e4f, 1e-5f)},
        {"tiny-llama-tied", make("llama", 64, 2, 8, 2, 96, 300, 512, true, 1e4f, 1e-5f)},
        {"tiny-qwen2", make("qwen2", 64, 2, 4, 1, 96, 300, 512, true, 1e6f, 1e-6f)},
        {"tiny-qwen2-untied", make("qwen2", 96, 3, 6, 2, 160, 330, 512, false, 1e6f, 1e-6f)},
        {"tiny-llama3",
         with_llama3_rope(make("llama", 128, 2, 4, 2, 256, 400, 8192, false, 5e5f, 1e-5f))},
        // head_dim 32: heads x head_dim = 128 != n_embd 64, as in real Qwen3 shapes.
        {"tiny-qwen3",
         with_head_dim(make("qwen3", 64, 2, 4, 2, 96, 300, 512, true, 1e6f, 1e-6f), 32)},
    };
}

// splitmix64: a fast, well-mixed generator; one independent stream per row
// keeps the output identical whatever the thread count.
struct Rng {
    uint64_t s;
    uint64_t next() {
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    // Uniform in (-1, 1).
    float uniform() { return static_cast<float>(static_cast<int64_t>(next()) >> 11) * 0x1p-52f; }
};

uint64_t mix(uint64_t a, uint64_t b) {
    Rng r{a * 0x100000001b3ull ^ b};
    return r.next();
}

// Llama 3.1 rope scaling as frequency factors (factor 8, low 1, high 4,
// original context 8192), the form GGUF stores it in.
std::vector<float> llama3_rope_factors(int64_t rope_dim, float base) {
    const double factor = 8, low = 1, high = 4, orig = 8192;
    const double low_wavelen = orig / low, high_wavelen = orig / high;
    std::vector<float> f(static_cast<size_t>(rope_dim / 2));
    for (int64_t i = 0; i < rope_dim / 2; ++i) {
        const double freq = std::pow(base, -2.0 * i / rope_dim);
        const double wavelen = 2 * M_PI / freq;
        double r;
        if (wavelen < high_wavelen) {
            r = 1;
        } else if (wavelen > low_wavelen) {
            r = factor;
        } else {
            const double smooth = (orig / wavelen - low) / (high - low);
            r = 1 / ((1 - smooth) / factor + smooth);
        }
        f[static_cast<size_t>(i)] = static_cast<float>(r);
    }
    return f;
}

// Vocabulary: control tokens, 256 byte-fallback tokens, printable ASCII, then
// lower-case strings of growing length with and without the word marker.
// Every piece's prefixes are present, so merges can reach all of them.
void add_tokenizer(GgufWriter& w, int64_t n_vocab) {
    std::vector<std::string> toks = {"<unk>", "<s>", "</s>"};
    std::vector<int32_t> types = {2, 3, 3};
    for (int b = 0; b < 256; ++b) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "<0x%02X>", b);
        toks.emplace_back(buf);
        types.push_back(6);
    }
    const std::string mark = "\xE2\x96\x81";
    auto push = [&](std::string s) {
        if (static_cast<int64_t>(toks.size()) < n_vocab) {
            toks.push_back(std::move(s));
            types.push_back(1);
        }
    };
    push(mark);
    for (char c = 'a'; c <= 'z'; ++c) push(mark + c);
    for (int c = 33; c < 127; ++c) push(std::string(1, static_cast<char>(c)));
    for (char c = 'A'; c <= 'Z'; ++c) push(mark + c);
    for (int len = 2; static_cast<int64_t>(toks.size()) < n_vocab && len < 8; ++len) {
        std::string s(static_cast<size_t>(len), 'a');
        for (;;) {
            push(mark + s);
            push(s);
            if (static_cast<int64_t>(toks.size()) >= n_vocab) break;
            int i = len - 1;
            while (i >= 0 && s[static_cast<size_t>(i)] == 'z') s[static_cast<size_t>(i--)] = 'a';
            if (i < 0) break;
            ++s[static_cast<size_t>(i)];
        }
    }
    for (int64_t i = static_cast<int64_t>(toks.size()); i < n_vocab; ++i) {
        toks.push_back("<unused" + std::to_string(i) + ">");
        types.push_back(5);
    }
    std::vector<GgufValue> tv, sv, ty;
    for (size_t i = 0; i < toks.size(); ++i) {
        tv.push_back(GgufValue::str(toks[i]));
        sv.push_back(GgufValue::f32(-static_cast<float>(i)));
        ty.push_back(GgufValue::i32(types[i]));
    }
    w.set("tokenizer.ggml.model", GgufValue::str("llama"));
    w.set("tokenizer.ggml.tokens", GgufValue::array(GgufType::STRING, std::move(tv)));
    w.set("tokenizer.ggml.scores", GgufValue::array(GgufType::F32, std::move(sv)));
    w.set("tokenizer.ggml.token_type", GgufValue::array(GgufType::I32, std::move(ty)));
    w.set("tokenizer.ggml.unknown_token_id", GgufValue::u32(0));
    w.set("tokenizer.ggml.bos_token_id", GgufValue::u32(1));
    w.set("tokenizer.ggml.eos_token_id", GgufValue::u32(2));
    w.set("tokenizer.ggml.add_bos_token", GgufValue::boolean(true));
}

}  // namespace

std::optional<SynthSpec> synth_preset(std::string_view name) {
    for (auto& p : presets())
        if (p.name == name) return p.spec;
    return std::nullopt;
}

std::vector<std::string> synth_preset_names() {
    std::vector<std::string> n;
    for (auto& p : presets()) n.emplace_back(p.name);
    return n;
}

Status synth_model(const SynthSpec& s, DType type, uint64_t seed, const std::string& path,
                   ThreadPool& pool, const ProgressFn& progress) {
    if (s.arch != "llama" && s.arch != "qwen2" && s.arch != "qwen3")
        return make_error("unsupported architecture '{}' (llama, qwen2, qwen3)", s.arch);
    if (!dtype_is_computable(type))
        return make_error("unsupported weight type {}", dtype_name(type));
    if (s.n_embd <= 0 || s.n_layer <= 0 || s.n_head <= 0 || s.n_head_kv <= 0 || s.n_ff <= 0 ||
        s.n_ctx <= 0 || s.head_dim < 0)
        return make_error("all dimensions must be positive");
    if ((s.head_dim == 0 && s.n_embd % s.n_head != 0) || s.n_head % s.n_head_kv != 0)
        return make_error("hidden size must divide into heads and heads into KV heads");
    const int64_t hd = s.head_dim != 0 ? s.head_dim : s.n_embd / s.n_head;
    if (hd % 2 != 0) return make_error("head dimension must be even");
    if (s.n_vocab < 260) return make_error("vocabulary must hold at least 260 tokens");
    auto rb = row_bytes(type, static_cast<uint64_t>(s.n_embd));
    auto rf = row_bytes(type, static_cast<uint64_t>(s.n_ff));
    auto rq = row_bytes(type, static_cast<uint64_t>(s.n_head * hd));  // attn_output's rows
    if (!rb || !rf || !rq)
        return make_error(
            "hidden ({}), ffn ({}) and heads x head dim ({}) sizes must be multiples of {}'s "
            "block size",
            s.n_embd, s.n_ff, s.n_head * hd, dtype_name(type));

    const std::string a = s.arch;
    const bool qk_norm = a == "qwen3";
    GgufWriter w;
    w.set("general.architecture", GgufValue::str(a));
    w.set("general.name", GgufValue::str("infergrid-synth-" + a));
    w.set(a + ".context_length", GgufValue::u32(static_cast<uint32_t>(s.n_ctx)));
    w.set(a + ".embedding_length", GgufValue::u32(static_cast<uint32_t>(s.n_embd)));
    w.set(a + ".block_count", GgufValue::u32(static_cast<uint32_t>(s.n_layer)));
    w.set(a + ".feed_forward_length", GgufValue::u32(static_cast<uint32_t>(s.n_ff)));
    w.set(a + ".attention.head_count", GgufValue::u32(static_cast<uint32_t>(s.n_head)));
    w.set(a + ".attention.head_count_kv", GgufValue::u32(static_cast<uint32_t>(s.n_head_kv)));
    w.set(a + ".attention.layer_norm_rms_epsilon", GgufValue::f32(s.rms_eps));
    w.set(a + ".rope.freq_base", GgufValue::f32(s.rope_base));
    w.set(a + ".rope.dimension_count", GgufValue::u32(static_cast<uint32_t>(hd)));
    // As llama.cpp writes Qwen3; elsewhere only when n_embd / n_head would be wrong.
    if (qk_norm || s.head_dim != 0) {
        w.set(a + ".attention.key_length", GgufValue::u32(static_cast<uint32_t>(hd)));
        w.set(a + ".attention.value_length", GgufValue::u32(static_cast<uint32_t>(hd)));
    }
    add_tokenizer(w, s.n_vocab);

    uint64_t tensor_no = 0;
    // Matrices: uniform with std 1/sqrt(fan_in), so every layer keeps its
    // activations at unit scale as real initialisations do.
    auto add_matrix = [&](const std::string& name, int64_t in, int64_t out) -> Status {
        const uint64_t tseed = mix(seed, ++tensor_no);
        const size_t stride = *row_bytes(type, static_cast<uint64_t>(in));
        const float amp = std::sqrt(3.0f / static_cast<float>(in));
        return w.add_tensor(name, {static_cast<uint64_t>(in), static_cast<uint64_t>(out)}, type,
                            [&pool, tseed, stride, amp, in, out, type](uint8_t* dst, uint64_t) {
                                pool.parallel_for(out, 64, [&](int64_t r0, int64_t r1) {
                                    std::vector<float> row(static_cast<size_t>(in));
                                    for (int64_t r = r0; r < r1; ++r) {
                                        Rng rng{mix(tseed, static_cast<uint64_t>(r))};
                                        for (auto& v : row) v = amp * rng.uniform();
                                        quantize_row(type, row.data(),
                                                     dst + static_cast<size_t>(r) * stride, in);
                                    }
                                });
                            });
    };
    auto add_vector = [&](const std::string& name, std::vector<float> v) -> Status {
        auto data = std::make_shared<std::vector<float>>(std::move(v));
        return w.add_tensor(
            name, {static_cast<uint64_t>(data->size())}, DType::F32,
            [data](uint8_t* dst, uint64_t n) { std::memcpy(dst, data->data(), n); });
    };
    auto random_vector = [&](int64_t n, float center, float amp) {
        Rng rng{mix(seed, ++tensor_no)};
        std::vector<float> v(static_cast<size_t>(n));
        for (auto& x : v) x = center + amp * rng.uniform();
        return v;
    };

    IG_TRY(add_matrix("token_embd.weight", s.n_embd, s.n_vocab));
    IG_TRY(add_vector("output_norm.weight", random_vector(s.n_embd, 1.0f, 0.2f)));
    if (!s.tied_output) IG_TRY(add_matrix("output.weight", s.n_embd, s.n_vocab));
    if (s.llama3_rope)
        IG_TRY(add_vector("rope_freqs.weight", llama3_rope_factors(hd, s.rope_base)));
    const bool bias = (s.qkv_bias || s.arch == "qwen2") && s.arch != "qwen3";
    for (int64_t l = 0; l < s.n_layer; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        IG_TRY(add_vector(p + "attn_norm.weight", random_vector(s.n_embd, 1.0f, 0.2f)));
        IG_TRY(add_matrix(p + "attn_q.weight", s.n_embd, s.n_head * hd));
        IG_TRY(add_matrix(p + "attn_k.weight", s.n_embd, s.n_head_kv * hd));
        IG_TRY(add_matrix(p + "attn_v.weight", s.n_embd, s.n_head_kv * hd));
        if (qk_norm) {
            IG_TRY(add_vector(p + "attn_q_norm.weight", random_vector(hd, 1.0f, 0.2f)));
            IG_TRY(add_vector(p + "attn_k_norm.weight", random_vector(hd, 1.0f, 0.2f)));
        }
        if (bias) {
            IG_TRY(add_vector(p + "attn_q.bias", random_vector(s.n_head * hd, 0.0f, 0.3f)));
            IG_TRY(add_vector(p + "attn_k.bias", random_vector(s.n_head_kv * hd, 0.0f, 0.3f)));
            IG_TRY(add_vector(p + "attn_v.bias", random_vector(s.n_head_kv * hd, 0.0f, 0.3f)));
        }
        IG_TRY(add_matrix(p + "attn_output.weight", s.n_head * hd, s.n_embd));
        IG_TRY(add_vector(p + "ffn_norm.weight", random_vector(s.n_embd, 1.0f, 0.2f)));
        IG_TRY(add_matrix(p + "ffn_gate.weight", s.n_embd, s.n_ff));
        IG_TRY(add_matrix(p + "ffn_up.weight", s.n_embd, s.n_ff));
        IG_TRY(add_matrix(p + "ffn_down.weight", s.n_ff, s.n_embd));
    }
    return w.write(path, kGgufDefaultAlignment, progress);
}

}  // namespace ig
