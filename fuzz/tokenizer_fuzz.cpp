// Arbitrary bytes as text into the byte-level BPE (gpt-2 vocabulary) and the
// SentencePiece-style (llama-spm) tokenizers, with parse_special on and off
// and a special_allowed mask taken from the input. Checks: ids in range,
// deterministic, byte-level pieces give the input back, streamed decode is
// valid UTF-8. Vocabularies come from ../shared (IG_SHARED_DIR overrides).
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/gguf.h"
#include "tokenizer/gguf_vocab.h"
#include "tokenizer/incremental_decoder.h"
#include "util/utf8.h"

namespace {

std::unique_ptr<ig::Tokenizer> load(const char* name) {
    const char* env = std::getenv("IG_SHARED_DIR");
    const std::string dir = env ? env : IG_FUZZ_SHARED_DIR;
    auto f = ig::GgufFile::open(dir + "/tokenizers/gguf/ggml-vocab-" + name + ".gguf");
    if (!f.ok()) std::abort();  // the fuzzer needs its vocabularies
    auto t = ig::load_tokenizer(*f);
    if (!t.ok()) std::abort();
    return std::move(t).value();
}

void check(bool ok) {
    if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const auto bpe = load("gpt-2");
    static const auto spm = load("llama-spm");
    if (size == 0) return 0;
    const uint8_t flags = data[0];
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    // Bit 2 on: a mask that forbids special tokens on every third byte.
    std::vector<uint8_t> allowed;
    if (flags & 4) {
        allowed.resize(text.size());
        for (size_t i = 0; i < allowed.size(); ++i) allowed[i] = i % 3 != 0;
    }
    const ig::EncodeOptions opt{.add_special = (flags & 1) != 0,
                                .parse_special = (flags & 2) != 0,
                                .special_allowed = allowed};
    for (const ig::Tokenizer* t : {bpe.get(), spm.get()}) {
        const auto ids = t->encode(text, opt);
        for (int32_t id : ids) check(id >= 0 && id < t->n_vocab());
        check(ids == t->encode(text, opt));
        if (t == bpe.get() && !opt.parse_special && !opt.add_special) {
            std::string raw;
            for (int32_t id : ids) raw += t->token_to_piece(id);
            check(raw == text);  // byte-level BPE is lossless
        }
        ig::IncrementalDecoder dec(*t);
        std::string out;
        for (int32_t id : ids) out += dec.push(id);
        out += dec.flush();
        check(ig::utf8::sanitize(out) == out);
        check(t->decode(ids) == ig::utf8::sanitize(t->decode(ids)));
    }
    return 0;
}
