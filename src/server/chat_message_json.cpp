#include "server/chat_message_json.h"

namespace ig::server {

using nlohmann::json;

json chat_message_json(const ParsedMessage& m) {
    json msg = {{"role", "assistant"}};
    msg["content"] = m.content.empty() && !m.tool_calls.empty() ? json() : json(m.content);
    if (!m.reasoning_content.empty()) msg["reasoning_content"] = m.reasoning_content;
    if (!m.tool_calls.empty()) {
        json calls = json::array();
        for (const ToolCall& c : m.tool_calls)
            calls.push_back({{"id", c.id},
                             {"type", "function"},
                             {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
        msg["tool_calls"] = std::move(calls);
    }
    return msg;
}

json chat_delta_json(const ChatDelta& d) {
    json delta = json::object();
    if (!d.content.empty()) delta["content"] = d.content;
    if (!d.reasoning_content.empty()) delta["reasoning_content"] = d.reasoning_content;
    if (!d.tool_calls.empty()) {
        json calls = json::array();
        for (const ToolCallDelta& t : d.tool_calls) {
            json c = {{"index", t.index}};
            json f = json::object();
            if (!t.id.empty()) {
                c["id"] = t.id;
                c["type"] = "function";
                f["name"] = t.name;
            }
            f["arguments"] = t.arguments;
            c["function"] = std::move(f);
            calls.push_back(std::move(c));
        }
        delta["tool_calls"] = std::move(calls);
    }
    return delta;
}

}  // namespace ig::server
