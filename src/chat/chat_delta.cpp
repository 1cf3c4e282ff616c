#include "chat/chat_delta.h"

#include <utility>

namespace ig {

void merge_delta(ParsedMessage& msg, const ChatDelta& d) {
    msg.content += d.content;
    msg.reasoning_content += d.reasoning_content;
    for (const ToolCallDelta& f : d.tool_calls) {
        if (f.index < 0) continue;
        const auto i = static_cast<size_t>(f.index);
        if (i >= msg.tool_calls.size()) msg.tool_calls.resize(i + 1);
        ToolCall& call = msg.tool_calls[i];
        if (!f.id.empty()) call.id = f.id;
        if (!f.name.empty()) call.name = f.name;
        call.arguments += f.arguments;
    }
}

void append_delta(ChatDelta& into, ChatDelta more) {
    into.content += more.content;
    into.reasoning_content += more.reasoning_content;
    for (ToolCallDelta& f : more.tool_calls) {
        if (!into.tool_calls.empty() && into.tool_calls.back().index == f.index) {
            ToolCallDelta& last = into.tool_calls.back();
            if (last.id.empty()) last.id = std::move(f.id);
            if (last.name.empty()) last.name = std::move(f.name);
            last.arguments += f.arguments;
        } else {
            into.tool_calls.push_back(std::move(f));
        }
    }
}

}  // namespace ig
