#include "server/output_plan.h"

#include <fmt/format.h>

#include "server/api_server.h"

namespace ig::server {

namespace {

// Formats whose markers are control tokens the detokenizer would hide.
bool markers_are_control_tokens(ToolCallFormat f) {
    switch (f) {
        case ToolCallFormat::Llama3Json:     // <|python_tag|>
        case ToolCallFormat::Mistral:        // [TOOL_CALLS], [ARGS]
        case ToolCallFormat::Functionary31:  // <|python_tag|>
        case ToolCallFormat::CommandR:       // <|START_ACTION|>
        case ToolCallFormat::GptOss:         // <|channel|>, <|message|>, ...
            return true;
        default:
            return false;
    }
}

}  // namespace

std::optional<ApiError> plan_output(const nlohmann::ordered_json& body, bool chat,
                                    const ServedModel& model, GrammarCache& grammars,
                                    OutputPlan& out) {
    OutputConstraint constraint;
    if (auto e = read_output_constraint(body, constraint)) return e;
    if (chat) {
        if (auto e = read_tool_request(body, out.tools)) return e;
        if (auto it = body.find("chat_template_kwargs"); it != body.end() && !it->is_null()) {
            if (!it->is_object())
                return invalid_field("chat_template_kwargs",
                                     "'chat_template_kwargs' must be an object of template "
                                     "variables");
            out.template_kwargs = nlohmann::json::parse(it->dump());
        }
        out.reasoning = model.reasoning_format;
    }
    if (out.tools.active()) {
        if (model.tool_format == ToolCallFormat::None)
            return invalid_field(
                "tools", fmt::format("the model '{}' has no tool-call format this server reads "
                                     "from its chat template; start the server with "
                                     "--tool-call-parser NAME",
                                     model.name));
        out.tool_format = model.tool_format;
    }
    if (out.tools.forced()) {
        if (constraint.kind != OutputConstraint::Kind::None)
            return invalid_field(constraint.param,
                                 fmt::format("'{}' cannot be combined with a tool_choice that "
                                             "forces a tool call",
                                             constraint.param));
        const std::string key =
            fmt::format("tools:{}:{}:{}:{}", tool_call_format_name(out.tool_format),
                        out.tools.named, out.tools.parallel ? 1 : 0, out.tools.tools.dump());
        auto g = grammars.get(key, "tools",
                              [&] { return tool_call_grammar(out.tool_format, out.tools); });
        if (auto* e = std::get_if<ApiError>(&g)) return *e;
        out.grammar = std::get<GrammarPtr>(g);
    } else {
        auto g = grammars.get(constraint);
        if (auto* e = std::get_if<ApiError>(&g)) return *e;
        out.grammar = std::get<GrammarPtr>(g);
    }
    out.render_special =
        markers_are_control_tokens(out.tool_format) || out.reasoning == ReasoningFormat::GptOss;
    return std::nullopt;
}

}  // namespace ig::server
