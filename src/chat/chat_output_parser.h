#pragma once
// One choice's output parser: reasoning first, then tool calls on what is
// left of the answer, as one object for the server to feed.
//
//   text -> ReasoningParser -> reasoning_content
//                           -> content -> ToolCallParser -> content, tool_calls
//
// gpt-oss is the exception: its harmony messages carry both, so the gpt-oss
// tool-call parser reads the text alone (analysis -> reasoning_content); the
// gpt-oss reasoning parser is used only when the request has no tools.
#include <memory>
#include <string_view>

#include "chat/reasoning_parser.h"
#include "chat/tool_call_parser.h"

namespace ig {

class ChatOutputParser {
  public:
    // tools = None for a request without tools: its text is never read as calls.
    ChatOutputParser(ReasoningFormat reasoning, ReasoningOptions options, ToolCallFormat tools,
                     IdGenerator ids = {});

    ChatDelta feed(std::string_view text);
    ChatDelta finish();
    bool saw_tool_call() const { return tools_->saw_tool_call(); }

  private:
    ChatDelta through_tools(ChatDelta d);

    std::unique_ptr<ReasoningParser> reasoning_;  // null: the text goes to tools_ as it is
    std::unique_ptr<ToolCallParser> tools_;
};

// feed(whole_text) + finish(), merged (non-streaming); `parser` must be fresh.
ParsedMessage parse_complete(ChatOutputParser& parser, std::string_view whole_text);

}  // namespace ig
