#pragma once
// Parser of the Jinja subset chat templates use, producing jinja_ast.h nodes.
// Anything outside that subset is a JinjaError naming the construct and line.
#include <string_view>
#include <vector>

#include "chat/jinja_ast.h"

namespace ig::jinja {

// Throws JinjaError.
std::vector<NodeP> parse_template(std::string_view source);

}  // namespace ig::jinja
