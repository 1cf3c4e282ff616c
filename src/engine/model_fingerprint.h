#pragma once
// A cheap identity of a model file for the prefix cache's hash chains, so
// that KV blocks of one model are never matched by another: general.name,
// architecture, tensor count, file size and SHA-256 of the first and last
// 64 KiB of tensor data.
#include <string>

#include "gguf/gguf.h"

namespace ig {

std::string model_fingerprint(const GgufFile& f);

}  // namespace ig
