#pragma once
// Reasoning parsers: split a model's thinking (reasoning_content) from its
// answer (content), incrementally and split-invariant like the tool-call
// parsers (for any split of the text into feeds, the concatenated deltas
// equal one feed of the whole).
//
//  - Think (DeepSeek-R1 and its distills, Qwen3, QwQ): "<think>...</think>
//    answer". The thinking is trimmed of the whitespace around it, and so is
//    the start of the answer. When the chat template already wrote <think>
//    at the end of the prompt (prompt_opens_reasoning), set
//    start_in_reasoning: the text before </think> is thinking; a <think>
//    the model repeats at the start is dropped. Without </think> all of it is
//    thinking (a cut-off answer, or a model that never closed).
//    Without start_in_reasoning only an answer that starts with <think>
//    thinks; anything else is all content.
//  - GptOss: harmony's analysis channel -> reasoning_content, final channel
//    -> content. The gpt-oss tool-call parser does the same and reads the
//    calls as well: with tools, use it alone (ChatOutputParser does).
#include <memory>
#include <string_view>

#include "chat/chat_delta.h"
#include "util/expected.h"

namespace ig {

enum class ReasoningFormat { None, Think, GptOss };

// "none", "think", "gpt_oss".
std::string_view reasoning_format_name(ReasoningFormat);
// For --reasoning-parser: the names above, and "deepseek_r1", "qwen3" for
// think. The error lists the valid names.
Expected<ReasoningFormat> parse_reasoning_format(std::string_view name);
// From the chat template's Jinja source: "<|channel|>" -> GptOss, "<think>"
// or "</think>" -> Think, else None.
ReasoningFormat detect_reasoning_format(std::string_view chat_template_source);

// Whether the rendered prompt ends inside an opened <think> (trailing
// whitespace aside): then the model's text starts as thinking.
bool prompt_opens_reasoning(std::string_view rendered_prompt_tail);

struct ReasoningOptions {
    bool start_in_reasoning = false;  // Think: the prompt already opened <think>
};

class ReasoningParser {
  public:
    // None passes all text through as content.
    static std::unique_ptr<ReasoningParser> create(ReasoningFormat format,
                                                   ReasoningOptions options = {});
    virtual ~ReasoningParser() = default;

    // The next decoded text (any split); the delta carries no tool calls.
    virtual ChatDelta feed(std::string_view text) = 0;
    // End of generation: decides what was held back.
    virtual ChatDelta finish() = 0;
};

}  // namespace ig
