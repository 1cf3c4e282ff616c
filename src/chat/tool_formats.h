#pragma once
// The parser of each tool-call format (one file each, tool_format_*.cpp),
// for ToolCallParser::create and the reasoning parsers that reuse them.
#include <memory>

#include "chat/tool_call_parser.h"

namespace ig {

std::unique_ptr<ToolCallParser> make_passthrough_parser();
std::unique_ptr<ToolCallParser> make_hermes_parser(IdGenerator ids);
std::unique_ptr<ToolCallParser> make_llama3_json_parser(IdGenerator ids);
std::unique_ptr<ToolCallParser> make_mistral_parser(IdGenerator ids);
std::unique_ptr<ToolCallParser> make_functionary31_parser(IdGenerator ids);
std::unique_ptr<ToolCallParser> make_functionary32_parser(IdGenerator ids);
std::unique_ptr<ToolCallParser> make_command_r_parser(IdGenerator ids);
std::unique_ptr<ToolCallParser> make_firefunction_parser(IdGenerator ids);
// gpt-oss harmony; with tools=false messages to a recipient are not calls
// and go where their channel goes (the reasoning parser for gpt-oss).
std::unique_ptr<ToolCallParser> make_harmony_parser(IdGenerator ids, bool tools);

}  // namespace ig
