// Which tool-call format a chat template writes, from the markers in its
// Jinja source: the template writes the assistant's earlier calls the way
// the model was trained to write them, so its markers name the format.
// Checked most specific first: a Llama 3.1 derivative (Functionary v3.1,
// Hermes 3) keeps Llama's "ipython" role but writes calls its own way.
#include "chat/tool_call_parser.h"

namespace ig {
namespace {

bool has(std::string_view s, std::string_view what) {
    return s.find(what) != s.npos;
}

}  // namespace

ToolCallFormat detect_tool_call_format(std::string_view src) {
    if (has(src, "<|channel|>")) return ToolCallFormat::GptOss;
    if (has(src, "[TOOL_CALLS]")) return ToolCallFormat::Mistral;
    if (has(src, "<tool_call>")) return ToolCallFormat::Hermes;
    if (has(src, ">>>all")) return ToolCallFormat::Functionary32;
    if (has(src, "<function=")) return ToolCallFormat::Functionary31;
    if (has(src, "functools")) return ToolCallFormat::Firefunction;
    if (has(src, "<|START_ACTION|>") || (has(src, "Action:") && has(src, "tool_name"))) {
        return ToolCallFormat::CommandR;
    }
    // Llama 3.1/3.3 write <|python_tag|> for built-in tools; 3.2 only its
    // JSON calls; both answer tool results in the "ipython" role.
    if (has(src, "ipython") && (has(src, "<|python_tag|>") || has(src, "tool_call"))) {
        return ToolCallFormat::Llama3Json;
    }
    return ToolCallFormat::None;
}

}  // namespace ig
