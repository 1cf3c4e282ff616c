#include "server/tool_request.h"

#include <fmt/format.h>

#include "grammar/grammar_prune.h"
#include "grammar/json_schema_grammar.h"

namespace ig::server {

namespace {

using ojson = nlohmann::ordered_json;
using grammar::GrammarBuilder;
using grammar::Sequence;

// OpenAI's rule for function names; it also keeps names safe to splice into
// every tool-call format's text.
bool valid_name(const std::string& s) {
    if (s.empty() || s.size() > 64) return false;
    for (char c : s)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
    return true;
}

std::optional<ApiError> check_tool(const ojson& t, size_t i) {
    const std::string p = fmt::format("tools[{}]", i);
    if (!t.is_object() || !t.contains("type") || t["type"] != "function")
        return invalid_field(p,
                             fmt::format("'{}' must be an object with \"type\": \"function\"", p));
    for (const auto& [k, v] : t.items())
        if (k != "type" && k != "function")
            return invalid_field(p + "." + k,
                                 fmt::format("'{}.{}' is not a field of a tool", p, k));
    const auto f = t.find("function");
    if (f == t.end() || !f->is_object())
        return invalid_field(p + ".function", fmt::format("'{}.function' must be an object", p));
    for (const auto& [k, v] : f->items()) {
        const std::string fp = fmt::format("{}.function.{}", p, k);
        if (k == "name") {
            if (!v.is_string() || !valid_name(v.get<std::string>()))
                return invalid_field(fp, fmt::format("'{}' must be 1 to 64 characters of a-z, A-Z, "
                                                     "0-9, _ and -",
                                                     fp));
        } else if (k == "description") {
            if (!v.is_string()) return invalid_field(fp, fmt::format("'{}' must be a string", fp));
        } else if (k == "parameters") {
            if (!v.is_object())
                return invalid_field(fp, fmt::format("'{}' must be a JSON Schema object", fp));
        } else if (k == "strict") {
            if (!v.is_boolean() && !v.is_null())
                return invalid_field(fp, fmt::format("'{}' must be a boolean", fp));
        } else {
            return invalid_field(fp, fmt::format("'{}' is not a field of a function (name, "
                                                 "description, parameters, strict)",
                                                 fp));
        }
    }
    if (!f->contains("name"))
        return invalid_field(p + ".function.name",
                             fmt::format("'{}.function.name' is required", p));
    return std::nullopt;
}

bool has_tool(const ojson& tools, const std::string& name) {
    for (const auto& t : tools)
        if (t["function"]["name"] == name) return true;
    return false;
}

}  // namespace

std::optional<ApiError> read_tool_request(const ojson& body, ToolRequest& out) {
    if (auto it = body.find("tools"); it != body.end() && !it->is_null()) {
        if (!it->is_array()) return invalid_field("tools", "'tools' must be a list");
        if (it->size() > 128) return invalid_field("tools", "'tools' holds at most 128 tools");
        for (size_t i = 0; i < it->size(); ++i)
            if (auto e = check_tool((*it)[i], i)) return e;
        if (!it->empty()) {
            out.tools = *it;
            out.choice = ToolRequest::Choice::Auto;
        }
    }
    if (auto it = body.find("tool_choice"); it != body.end() && !it->is_null()) {
        const ojson& c = *it;
        const std::string shape =
            "'tool_choice' must be none, auto, required or {\"type\": \"function\", "
            "\"function\": {\"name\": ...}}";
        if (c.is_string()) {
            const std::string s = c.get<std::string>();
            if (s == "none") {
                out.choice = ToolRequest::Choice::None;
            } else if (s == "auto" || s == "required") {
                if (out.tools.is_null())
                    return invalid_field("tool_choice",
                                         fmt::format("'tool_choice' {} needs 'tools'", s));
                out.choice =
                    s == "auto" ? ToolRequest::Choice::Auto : ToolRequest::Choice::Required;
            } else {
                return invalid_field("tool_choice", fmt::format("{}, got '{}'", shape, s));
            }
        } else if (c.is_object() && c.value("type", ojson()) == "function" &&
                   c.contains("function") && c["function"].is_object() &&
                   c["function"].contains("name") && c["function"]["name"].is_string()) {
            const std::string name = c["function"]["name"].get<std::string>();
            if (out.tools.is_null() || !has_tool(out.tools, name))
                return invalid_field("tool_choice.function.name",
                                     fmt::format("'tool_choice' names '{}', which is not in "
                                                 "'tools'",
                                                 name));
            out.choice = ToolRequest::Choice::Named;
            out.named = name;
        } else {
            return invalid_field("tool_choice", shape);
        }
    }
    if (auto it = body.find("parallel_tool_calls"); it != body.end() && !it->is_null()) {
        if (!it->is_boolean())
            return invalid_field("parallel_tool_calls", "'parallel_tool_calls' must be a boolean");
        out.parallel = it->get<bool>();
    }
    return std::nullopt;
}

Expected<grammar::Grammar> tool_call_grammar(ToolCallFormat format, const ToolRequest& req) {
    GrammarBuilder b;
    grammar::JsonSchemaOptions opt;
    opt.any_whitespace = false;  // compact arguments, as templates write them
    // One alternative per callable tool: the format's text around the
    // function's name and its arguments.
    std::vector<Sequence> calls;
    for (size_t i = 0; i < req.tools.size(); ++i) {
        const ojson& f = req.tools[i]["function"];
        const std::string name = f["name"].get<std::string>();
        if (req.choice == ToolRequest::Choice::Named && name != req.named) continue;
        const ojson params = f.contains("parameters")
                                 ? f["parameters"]
                                 : ojson{{"type", "object"}, {"properties", ojson::object()}};
        opt.strict = f.contains("strict") && f["strict"].is_boolean() && f["strict"].get<bool>();
        uint32_t args = 0;
        IG_ASSIGN_OR_RETURN(
            args, grammar::add_json_schema(b, params, opt,
                                           fmt::format("tools[{}].function.parameters", i)));
        auto around = [&](std::string_view before, std::string_view after) {
            Sequence s = b.literal(before);
            s.push_back(GrammarBuilder::ref(args));
            Sequence tail = b.literal(after);
            s.insert(s.end(), tail.begin(), tail.end());
            calls.push_back(std::move(s));
        };
        switch (format) {
            case ToolCallFormat::Hermes:
                around(fmt::format("<tool_call>\n{{\"name\": \"{}\", \"arguments\": ", name),
                       "}\n</tool_call>");
                break;
            case ToolCallFormat::Llama3Json:
                around(fmt::format("{{\"name\": \"{}\", \"parameters\": ", name), "}");
                break;
            case ToolCallFormat::Mistral:
            case ToolCallFormat::Firefunction:
                around(fmt::format("{{\"name\": \"{}\", \"arguments\": ", name), "}");
                break;
            case ToolCallFormat::Functionary31:
                around(fmt::format("<function={}>", name), "</function>");
                break;
            case ToolCallFormat::Functionary32:
                around(fmt::format(">>>{}\n", name), "");
                break;
            case ToolCallFormat::CommandR:
                around(fmt::format("{{\"tool_name\": \"{}\", \"parameters\": ", name), "}");
                break;
            case ToolCallFormat::GptOss:
                around(
                    fmt::format(
                        "<|channel|>commentary to=functions.{} <|constrain|>json<|message|>", name),
                    "");
                break;
            case ToolCallFormat::None:
                return make_error(
                    "tool_choice: the model's chat template has no tool-call format this "
                    "server parses; start the server with --tool-call-parser NAME");
        }
    }
    const uint32_t call = b.add_rule("call", calls);
    // Parallel calls: the format's separator between calls, inside its list brackets.
    std::string open, sep, close;
    bool control = false;
    switch (format) {
        case ToolCallFormat::Hermes:
            sep = "\n";
            break;
        case ToolCallFormat::Llama3Json:
            sep = "; ";
            break;
        case ToolCallFormat::Mistral:
            open = "[TOOL_CALLS][";
            sep = ", ";
            close = "]";
            control = true;
            break;
        case ToolCallFormat::Firefunction:
            open = " functools[";
            sep = ", ";
            close = "]";
            break;
        case ToolCallFormat::CommandR:
            open = "Action: ```json\n[";
            sep = ", ";
            close = "]\n```";
            break;
        case ToolCallFormat::Functionary31:
        case ToolCallFormat::Functionary32:
            sep = "";
            break;
        case ToolCallFormat::GptOss:
            control = true;
            break;
        case ToolCallFormat::None:
            break;
    }
    const bool many = req.parallel && format != ToolCallFormat::GptOss;
    Sequence root = b.literal(open);
    root.push_back(GrammarBuilder::ref(call));
    if (many) {
        Sequence more = b.literal(sep);
        more.push_back(GrammarBuilder::ref(call));
        root.push_back(GrammarBuilder::ref(b.repeat(more, 0, std::nullopt, "more-calls")));
    }
    Sequence tail = b.literal(close);
    root.insert(root.end(), tail.begin(), tail.end());
    auto g = b.finish(b.add_rule("tool-calls", {root}), control);
    if (!g.ok()) return g;
    IG_TRY(grammar::prune_unproductive(g.value()));  // as the schema front-end does
    return g;
}

}  // namespace ig::server
