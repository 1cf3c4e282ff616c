#pragma once
// Tool-call parsers: turn the text a model writes into OpenAI
// `message.tool_calls` and `content`, incrementally (one parser per choice,
// fed the decoded text as it comes) so that streaming and non-streaming agree
// byte for byte: for any split of the text into feeds, the concatenated
// deltas equal parse_complete() of the whole text.
//
// Rules every format follows:
//  - Text that might still become tool markup (a marker's first bytes at the
//    end of a feed, whitespace just before a call) is held back until it is
//    known; `content` never carries the markup of a recognised call.
//  - A call is announced (id and name, once, in its first fragment) when its
//    name is known and its arguments begin; the arguments then stream as they
//    are written, exactly as the model wrote them (a JSON string holding the
//    object, as Qwen's template writes string arguments, is streamed decoded;
//    no arguments at all become "{}").
//  - Before a call is announced, anything malformed (not JSON, no name, the
//    text ends) returns the call's text as `content`: nothing is lost, and it
//    is not a tool call. After it is announced a call cannot be taken back
//    from a streaming client: if the arguments stop being JSON, the rest up to
//    the format's end marker is appended to them as written; if the text ends
//    inside them they stay cut short (as OpenAI's own cut-off calls do).
//    Callers validate arguments before running a tool, as OpenAI advises.
//  - Whitespace directly before and after a call is dropped; content before,
//    between and after calls is kept.
//
// The markers must reach the parser. Several are control tokens that a
// detokenizer drops unless told to render them (IncrementalDecoder::push
// with render_special): Mistral's [TOOL_CALLS], [ARGS], [CALL_ID]; Llama
// 3.1's <|python_tag|>; harmony's <|channel|>, <|message|>, <|start|>,
// <|end|>, <|constrain|>; Command R7B's <|START_ACTION|>, <|END_ACTION|>,
// <|START_THINKING|>, ... (Qwen's <tool_call> and <think> are ordinary added
// tokens). The stop token that ends the generation (<|eot_id|>, <|eom_id|>,
// <|im_end|>, <|call|>, <|return|>, ...) is not part of the answer: do not
// feed it. Markers are ASCII and held-back text starts at one, so when every
// feed is whole UTF-8, every delta is too.
//
// gpt-oss (harmony) is parsed as a whole by its tool-call parser: analysis
// channel -> reasoning_content, final channel and commentary preambles ->
// content, messages with a recipient (`to=functions.NAME`) -> tool calls. Do
// not chain a ReasoningParser in front of it (see ChatOutputParser, which
// composes the two for every format).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "chat/chat_delta.h"
#include "util/expected.h"

namespace ig {

// Makes the id of each call ("call_" + 24 alphanumerics by default).
using IdGenerator = std::function<std::string()>;

// Deterministic ids from a seed (tests, reproducible runs). Mistral's
// template refuses ids that are not 9 alphanumerics: use
// make_call_id_generator(seed, "", 9) for it.
IdGenerator make_call_id_generator(uint64_t seed, std::string prefix = "call_", size_t length = 24);
// Seeded from std::random_device (what create() uses when given no generator).
IdGenerator random_call_id_generator();

enum class ToolCallFormat {
    None,           // no tool calls: all text is content
    Hermes,         // <tool_call>{"name": .., "arguments": ..}</tool_call> (also Qwen2.5, Qwen3)
    Llama3Json,     // Llama 3.1-3.3: {"name": .., "parameters": ..}; <|python_tag|>
    Mistral,        // [TOOL_CALLS][{...}, ...] and [TOOL_CALLS]name[ARGS]{...}
    Functionary31,  // <function=NAME>{..}</function>; <|python_tag|>code
    Functionary32,  // >>>NAME\n{..}; >>>all\n is content
    CommandR,       // Action: ```json [...]```; <|START_ACTION|>[...]<|END_ACTION|>
    GptOss,         // harmony channels
    Firefunction,   // functools[...]
};

// "hermes", "llama3_json", "mistral", "functionary_v3_1", "functionary_v3_2",
// "command_r", "gpt_oss", "firefunction", "none".
std::string_view tool_call_format_name(ToolCallFormat);
// For --tool-call-parser; the error lists the valid names.
Expected<ToolCallFormat> parse_tool_call_format(std::string_view name);
// From markers in a chat template's Jinja source; None when the template
// writes no tool calls we parse.
ToolCallFormat detect_tool_call_format(std::string_view chat_template_source);

class ToolCallParser {
  public:
    // None passes text through as content. An empty `ids` draws random ids.
    static std::unique_ptr<ToolCallParser> create(ToolCallFormat, IdGenerator ids = {});
    virtual ~ToolCallParser() = default;

    // The next decoded text of the answer (any split, even inside a marker
    // or a UTF-8 sequence).
    virtual ChatDelta feed(std::string_view text) = 0;
    // End of generation: decides what was held back.
    virtual ChatDelta finish() = 0;
    // Whether a call was announced (finish_reason becomes "tool_calls").
    bool saw_tool_call() const { return saw_tool_call_; }

  protected:
    bool saw_tool_call_ = false;
};

// feed(whole_text) + finish(), merged: exactly what non-streaming returns.
// `parser` must be fresh.
ParsedMessage parse_complete(ToolCallParser& parser, std::string_view whole_text);

}  // namespace ig
