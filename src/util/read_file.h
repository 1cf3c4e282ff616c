#pragma once
// A whole (small) file into memory: templates, JSON configs, prompts.
#include <string>

#include "util/expected.h"

namespace ig {

// The file's bytes; ErrorCode::Io naming the path and the reason otherwise.
Expected<std::string> read_file(const std::string& path);

}  // namespace ig
