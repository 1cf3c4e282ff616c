#include "engine/model_fingerprint.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include <fmt/format.h>

#include "util/sha256.h"

namespace ig {

std::string model_fingerprint(const GgufFile& f) {
    // Tensor data spans [lo, hi) inside the mapping.
    const uint8_t* lo = nullptr;
    const uint8_t* hi = nullptr;
    for (const GgufTensorInfo& t : f.tensors()) {
        if (!t.data || t.n_bytes == 0) continue;
        if (!lo || t.data < lo) lo = t.data;
        if (!hi || t.data + t.n_bytes > hi) hi = t.data + t.n_bytes;
    }
    constexpr size_t kEdge = 64 * 1024;
    std::vector<uint8_t> sample;
    if (lo) {
        const auto n = static_cast<size_t>(hi - lo);
        const size_t head = std::min(n, kEdge);
        sample.insert(sample.end(), lo, lo + head);
        const size_t tail = std::min(n - head, kEdge);
        sample.insert(sample.end(), hi - tail, hi);
    }
    const Sha256Digest h = sha256(sample);
    std::string hex;
    for (uint8_t b : h) hex += fmt::format("{:02x}", b);
    return fmt::format("{}|{}|{}|{}|{}", f.get_string("general.name").value_or(""),
                       f.get_string("general.architecture").value_or(""), f.tensors().size(),
                       f.file_size(), hex);
}

}  // namespace ig
