// libFuzzer target: SafetensorsFile::parse must reject any byte string
// cleanly or return tensors whose data stays inside the input and whose
// sizes agree with their shapes and dtypes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "model/safetensors_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto f = ig::SafetensorsFile::parse(std::span<const uint8_t>(data, size));
    if (!f.ok()) {
        if (f.error().message.empty()) std::abort();  // every rejection must say why
        return 0;
    }
    volatile uint64_t sink = 0;
    for (const auto& t : f->tensors()) {
        if (t.data.size() != t.n_elements * ig::st_dtype_bytes(t.dtype)) std::abort();
        if (!t.data.empty()) {
            if (t.data.data() < data || t.data.data() + t.data.size() > data + size) std::abort();
            sink = sink + t.data.front() + t.data.back();
        }
        if (f->find(t.name) != &t) std::abort();
    }
    for (const auto& [k, v] : f->metadata()) sink = sink + k.size() + v.size();
    return 0;
}
