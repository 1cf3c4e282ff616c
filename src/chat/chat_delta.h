#pragma once
// What a model's answer becomes for an OpenAI chat completion: the pieces a
// streamed chunk carries (ChatDelta, one per feed) and the whole message a
// non-streamed response carries (ParsedMessage). Shared by the tool-call and
// reasoning parsers so that their outputs compose.
#include <string>
#include <vector>

namespace ig {

// One OpenAI delta.tool_calls[i] fragment.
struct ToolCallDelta {
    int index = 0;          // position of the call in this message (0, 1, ...)
    std::string id;         // non-empty only in the first fragment of a call
    std::string name;       // non-empty only in the first fragment of a call
    std::string arguments;  // next piece of the arguments JSON text (may be empty)
};

struct ChatDelta {
    std::string content;            // plain answer text, never any tool markup
    std::string reasoning_content;  // thinking text
    // At most one fragment per call index in one delta, in index order; the
    // first fragment of a call (id and name set) may already carry arguments.
    std::vector<ToolCallDelta> tool_calls;
    bool empty() const {
        return content.empty() && reasoning_content.empty() && tool_calls.empty();
    }
};

struct ToolCall {
    std::string id, name;
    std::string arguments;  // JSON text of an object, as the model wrote it
};

struct ParsedMessage {
    std::string content, reasoning_content;
    std::vector<ToolCall> tool_calls;
};

// Appends `d` to `msg`: what a client does with the chunks of a stream.
// Fragments of a call index not seen before open a new ToolCall.
void merge_delta(ParsedMessage& msg, const ChatDelta& d);

// Appends `more` to `into` (one delta from two), keeping one fragment per
// call index; `more`'s fragments must not precede `into`'s.
void append_delta(ChatDelta& into, ChatDelta more);

}  // namespace ig
