#include "chat/chat_output_parser.h"

#include <utility>

namespace ig {

ChatOutputParser::ChatOutputParser(ReasoningFormat reasoning, ReasoningOptions options,
                                   ToolCallFormat tools, IdGenerator ids)
    : tools_(ToolCallParser::create(tools, std::move(ids))) {
    if (reasoning != ReasoningFormat::None && tools != ToolCallFormat::GptOss) {
        reasoning_ = ReasoningParser::create(reasoning, options);
    }
}

ChatDelta ChatOutputParser::through_tools(ChatDelta d) {
    ChatDelta out = tools_->feed(d.content);
    // Thinking first: it came before the answer it leads to.
    out.reasoning_content.insert(0, d.reasoning_content);
    return out;
}

ChatDelta ChatOutputParser::feed(std::string_view text) {
    if (!reasoning_) return tools_->feed(text);
    return through_tools(reasoning_->feed(text));
}

ChatDelta ChatOutputParser::finish() {
    ChatDelta out;
    if (reasoning_) out = through_tools(reasoning_->finish());
    append_delta(out, tools_->finish());
    return out;
}

ParsedMessage parse_complete(ChatOutputParser& parser, std::string_view whole_text) {
    ParsedMessage msg;
    merge_delta(msg, parser.feed(whole_text));
    merge_delta(msg, parser.finish());
    return msg;
}

}  // namespace ig
