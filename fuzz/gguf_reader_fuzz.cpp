// libFuzzer target: GgufFile::parse must reject any byte string cleanly or
// return a file whose every pointer stays inside the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "gguf/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto f = ig::GgufFile::parse(std::span<const uint8_t>(data, size));
    if (!f.ok()) {
        if (f.error().message.empty()) std::abort();  // every rejection must say why
        return 0;
    }
    // Walk everything so that ASan sees any out-of-range pointer or length.
    volatile uint64_t sink = 0;
    for (const auto& kv : f->metadata()) {
        sink = sink + ig::gguf_value_to_string(kv.value).size();
        if (f->find(kv.key) != &kv.value) std::abort();
        (void)f->get_int(kv.key);
        (void)f->get_float(kv.key);
    }
    for (const auto& t : f->tensors()) {
        if (t.data < data || t.data + t.n_bytes > data + size) std::abort();
        if (t.offset % f->alignment() != 0) std::abort();
        sink = sink + t.data[0] + t.data[t.n_bytes - 1];
        if (f->find_tensor(t.name) != &t) std::abort();
    }
    return 0;
}
