#pragma once
// Errors inside the Jinja interpreter. The interpreter is deeply recursive, so
// it throws JinjaError internally; ChatTemplate::parse/render (the module's
// edge) catch it and return Expected. Nothing else escapes.
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace ig::jinja {

class JinjaError : public std::runtime_error {
  public:
    JinjaError(int line, const std::string& what)
        : std::runtime_error(line > 0 ? fmt::format("line {}: {}", line, what) : what) {}
};

template <class... Args>
[[noreturn]] void fail(int line, fmt::format_string<Args...> f, Args&&... args) {
    throw JinjaError(line, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace ig::jinja
