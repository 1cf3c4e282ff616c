#include "util/read_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ig {

Expected<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error(ErrorCode::Io, "cannot open '{}': {}", path, std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return make_error(ErrorCode::Io, "cannot read '{}'", path);
    return ss.str();
}

}  // namespace ig
