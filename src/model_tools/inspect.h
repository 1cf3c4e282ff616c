#pragma once
// `infergrid inspect FILE.gguf`: what a GGUF file holds (container layout,
// architecture and hyperparameters, tokenizer, every tensor, sizes), as
// text for people or as one JSON object for scripts.
#include <ostream>
#include <string>

#include "util/expected.h"

namespace ig {

Status run_inspect(const std::string& path, bool json, std::ostream& out);

}  // namespace ig
