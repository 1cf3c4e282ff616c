#pragma once
// OpenAI's JSON for a parsed chat answer: the `message` of a chat.completion
// and the `delta` of a chat.completion.chunk, with `reasoning_content` (as
// vLLM and DeepSeek send it) and `tool_calls`.
#include <nlohmann/json.hpp>

#include "chat/chat_delta.h"

namespace ig::server {

// {"role": "assistant", "content": ..., "reasoning_content"?, "tool_calls"?};
// content is null when the answer is only tool calls, as OpenAI sends it.
nlohmann::json chat_message_json(const ParsedMessage& m);
// The delta of one chunk: only what it carries (content, reasoning_content,
// tool_calls with id, type and name in a call's first fragment).
nlohmann::json chat_delta_json(const ChatDelta& d);

}  // namespace ig::server
