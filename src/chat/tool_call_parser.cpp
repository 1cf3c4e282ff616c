#include "chat/tool_call_parser.h"

#include <array>
#include <utility>

#include "chat/tool_formats.h"

namespace ig {
namespace {

struct FormatName {
    ToolCallFormat format;
    std::string_view name;
};

constexpr std::array<FormatName, 9> kNames{{
    {ToolCallFormat::None, "none"},
    {ToolCallFormat::Hermes, "hermes"},
    {ToolCallFormat::Llama3Json, "llama3_json"},
    {ToolCallFormat::Mistral, "mistral"},
    {ToolCallFormat::Functionary31, "functionary_v3_1"},
    {ToolCallFormat::Functionary32, "functionary_v3_2"},
    {ToolCallFormat::CommandR, "command_r"},
    {ToolCallFormat::GptOss, "gpt_oss"},
    {ToolCallFormat::Firefunction, "firefunction"},
}};

// ToolCallFormat::None: every byte is content, as it comes.
class PassthroughParser final : public ToolCallParser {
  public:
    ChatDelta feed(std::string_view text) override {
        ChatDelta d;
        d.content = std::string(text);
        return d;
    }
    ChatDelta finish() override { return {}; }
};

}  // namespace

std::string_view tool_call_format_name(ToolCallFormat f) {
    for (const FormatName& n : kNames) {
        if (n.format == f) return n.name;
    }
    return "none";
}

Expected<ToolCallFormat> parse_tool_call_format(std::string_view name) {
    std::string valid;
    for (const FormatName& n : kNames) {
        if (n.name == name) return n.format;
        if (!valid.empty()) valid += ", ";
        valid += n.name;
    }
    return make_error("unknown tool-call parser '{}' (valid: {})", name, valid);
}

std::unique_ptr<ToolCallParser> make_passthrough_parser() {
    return std::make_unique<PassthroughParser>();
}

std::unique_ptr<ToolCallParser> ToolCallParser::create(ToolCallFormat format, IdGenerator ids) {
    if (!ids) ids = random_call_id_generator();
    switch (format) {
        case ToolCallFormat::None:
            return make_passthrough_parser();
        case ToolCallFormat::Hermes:
            return make_hermes_parser(std::move(ids));
        case ToolCallFormat::Llama3Json:
            return make_llama3_json_parser(std::move(ids));
        case ToolCallFormat::Mistral:
            return make_mistral_parser(std::move(ids));
        case ToolCallFormat::Functionary31:
            return make_functionary31_parser(std::move(ids));
        case ToolCallFormat::Functionary32:
            return make_functionary32_parser(std::move(ids));
        case ToolCallFormat::CommandR:
            return make_command_r_parser(std::move(ids));
        case ToolCallFormat::GptOss:
            return make_harmony_parser(std::move(ids), true);
        case ToolCallFormat::Firefunction:
            return make_firefunction_parser(std::move(ids));
    }
    return make_passthrough_parser();
}

ParsedMessage parse_complete(ToolCallParser& parser, std::string_view whole_text) {
    ParsedMessage msg;
    merge_delta(msg, parser.feed(whole_text));
    merge_delta(msg, parser.finish());
    return msg;
}

}  // namespace ig
