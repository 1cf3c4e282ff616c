#pragma once
// How one request's output is produced and read back: the grammar it is
// decoded under (response_format / guided_* / a forced tool call), the
// tools and template variables for the chat template, and how the answer
// is parsed (tool calls, reasoning). Decided once per request, before
// anything reaches the engine; every refusal is a 400 naming the field.
#include <optional>

#include <nlohmann/json.hpp>

#include "chat/chat_output_parser.h"
#include "server/api_error.h"
#include "server/structured_output.h"
#include "server/tool_request.h"

namespace ig::server {

struct ServedModel;

struct OutputPlan {
    GrammarPtr grammar;                                 // null: unconstrained
    ToolRequest tools;                                  // tools for the template when active()
    nlohmann::json template_kwargs;                     // chat_template_kwargs; null: none
    ToolCallFormat tool_format = ToolCallFormat::None;  // None: no tool calls are read
    ReasoningFormat reasoning = ReasoningFormat::None;
    bool prompt_opens_reasoning = false;  // the rendered prompt ends inside <think>
    // The answer's markers are control tokens: stream them as text.
    bool render_special = false;

    bool parses_output() const {
        return tool_format != ToolCallFormat::None || reasoning != ReasoningFormat::None;
    }
};

// The body as parsed keeping key order (schemas list properties in order).
std::optional<ApiError> plan_output(const nlohmann::ordered_json& body, bool chat,
                                    const ServedModel& model, GrammarCache& grammars,
                                    OutputPlan& out);

}  // namespace ig::server
