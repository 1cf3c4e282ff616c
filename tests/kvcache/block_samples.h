#pragma once
// Distinct block hashes and reproducible block payloads for the tier tests.
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "kvcache/block_hash.h"
#include "util/sha256.h"

namespace ig::test {

inline BlockHash sample_hash(int i, uint8_t salt) {
    std::vector<uint8_t> seed = {static_cast<uint8_t>(i), static_cast<uint8_t>(i >> 8), salt};
    return sha256(seed);
}

inline std::vector<uint8_t> sample_block(int seed, size_t bytes) {
    std::vector<uint8_t> v(bytes);
    std::mt19937 rng(static_cast<unsigned>(seed));
    for (auto& b : v) b = static_cast<uint8_t>(rng());
    return v;
}

}  // namespace ig::test
