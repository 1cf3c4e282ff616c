#pragma once
// Jinja lexer with the whitespace rules Hugging Face renders chat templates
// under: trim_blocks (drop the first newline after a block or comment tag),
// lstrip_blocks (drop spaces/tabs between a line start and a block or
// comment tag), `-`/`+` whitespace control on tags, newline normalisation and
// removal of one trailing newline, exactly as jinja2's lexer does.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ig::jinja {

enum class Tok : uint8_t {
    Data,        // template text (raw blocks included)
    VarBegin,    // {{
    VarEnd,      // }}
    BlockBegin,  // {%
    BlockEnd,    // %}
    Name,
    String,
    Int,
    Float,
    Op,
    Eof,
};

struct Token {
    Tok type;
    std::string text;  // Data/Name/Op text; String: the unescaped value
    int line = 1;
    int64_t ival = 0;
    double fval = 0;
};

// Throws JinjaError (with the line) on malformed input.
std::vector<Token> lex(std::string_view source);

}  // namespace ig::jinja
