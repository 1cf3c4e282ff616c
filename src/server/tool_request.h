#pragma once
// The tool fields of a chat request: `tools` (function definitions, passed
// to the chat template and, for `required` or a named choice, compiled into
// the grammar of the model's tool-call format), `tool_choice` and
// `parallel_tool_calls`.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "chat/tool_call_parser.h"
#include "grammar/grammar.h"
#include "server/api_error.h"

namespace ig::server {

struct ToolRequest {
    enum class Choice { None, Auto, Required, Named };
    nlohmann::ordered_json tools;  // as sent; null when none
    Choice choice = Choice::None;  // no tools: None; tools: Auto unless the client says otherwise
    std::string named;             // Choice::Named: the function
    bool parallel = true;          // parallel_tool_calls
    bool active() const { return choice != Choice::None; }
    // Whether the output must be a tool call (enforced by a grammar).
    bool forced() const { return choice == Choice::Required || choice == Choice::Named; }
};

// Reads and checks `tools`, `tool_choice`, `parallel_tool_calls`.
std::optional<ApiError> read_tool_request(const nlohmann::ordered_json& body, ToolRequest& out);

// The grammar a forced choice decodes under: one or more calls (one without
// parallel calls) of the offered tools (or the named one) in `format`, each
// call's arguments valid under the function's `parameters` schema.
Expected<grammar::Grammar> tool_call_grammar(ToolCallFormat format, const ToolRequest& req);

}  // namespace ig::server
