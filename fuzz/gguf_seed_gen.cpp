// Writes a few small valid GGUF files (every metadata type, nested arrays,
// several tensor types and alignments) as a seed corpus for the fuzzer.
#include <cstdio>
#include <string>

#include "gguf/gguf.h"

using namespace ig;
using V = GgufValue;

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    const std::string dir = argv[1];
    auto fill = [](uint8_t* dst, uint64_t n) {
        for (uint64_t i = 0; i < n; ++i) dst[i] = static_cast<uint8_t>(i * 31 + 7);
    };
    int failures = 0;
    auto write = [&](const GgufWriter& w, const std::string& name, uint32_t align) {
        auto s = w.write(dir + "/" + name, align);
        if (!s.ok()) {
            std::fprintf(stderr, "%s\n", s.error().message.c_str());
            ++failures;
        }
    };

    GgufWriter meta;  // every value type, no tensors
    meta.set("general.architecture", V::str("llama"));
    meta.set("a.u8", V::u8(1));
    meta.set("a.i8", V::i8(-1));
    meta.set("a.u16", V::u16(2));
    meta.set("a.i16", V::i16(-2));
    meta.set("a.u32", V::u32(3));
    meta.set("a.i32", V::i32(-3));
    meta.set("a.f32", V::f32(0.5f));
    meta.set("a.bool", V::boolean(true));
    meta.set("a.str", V::str("hello"));
    meta.set("a.u64", V::u64(4));
    meta.set("a.i64", V::i64(-4));
    meta.set("a.f64", V::f64(0.25));
    meta.set("a.tokens", V::array(GgufType::STRING, {V::str("<s>"), V::str(""), V::str("ab")}));
    meta.set("a.nested", V::array(GgufType::ARRAY, {V::array(GgufType::I32, {V::i32(1)}),
                                                    V::array(GgufType::U8, {})}));
    write(meta, "meta.gguf", 32);

    GgufWriter model;  // a miniature llama-like file
    model.set("general.architecture", V::str("llama"));
    model.set("llama.embedding_length", V::u32(32));
    model.set("tokenizer.ggml.tokens", V::array(GgufType::STRING, {V::str("a"), V::str("b")}));
    (void)model.add_tensor("token_embd.weight", {32, 2}, DType::F16, fill);
    (void)model.add_tensor("blk.0.attn_q.weight", {32, 4}, DType::Q8_0, fill);
    (void)model.add_tensor("blk.0.attn_k.weight", {32, 1}, DType::Q4_0, fill);
    (void)model.add_tensor("output_norm.weight", {32}, DType::F32, fill);
    write(model, "model32.gguf", 32);
    write(model, "model64.gguf", 64);

    GgufWriter tiny;
    (void)tiny.add_tensor("x", {3}, DType::F32, fill);
    write(tiny, "tiny.gguf", 32);
    return failures ? 1 : 0;
}
