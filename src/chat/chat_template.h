#pragma once
// Chat templates: renders an OpenAI-style conversation through a model's
// Jinja chat template exactly as Hugging Face's apply_chat_template does
// (jinja2 with trim_blocks, lstrip_blocks, loopcontrols; raise_exception,
// strftime_now; tojson as json.dumps without HTML escaping), with our own
// interpreter.
//
// Injection-proofing: the result marks, byte for byte, which text came from
// the template (special tokens may be matched there) and which came from
// messages/tools (never parsed as special tokens). Pass `special_allowed` to
// EncodeOptions together with parse_special=true.
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/expected.h"

namespace ig {

namespace jinja {
struct Node;
}

struct RenderedPrompt {
    std::string text;
    // One entry per byte of text: 1 = from the template (literals, bos_token, ...),
    // 0 = from message content, tool data or extra_context strings.
    std::vector<uint8_t> special_allowed;
};

struct ChatRenderLimits {
    size_t max_output_bytes = 32u << 20;  // rendered prompt and any string/list built on the way
    uint64_t max_steps = 5'000'000;       // evaluated nodes + loop iterations
    int max_call_depth = 100;             // nested macro calls
};

struct ChatRenderOptions {
    bool add_generation_prompt = true;
    std::string bos_token, eos_token;
    nlohmann::ordered_json tools;           // null = none (`tools` undefined in the template)
    nlohmann::ordered_json extra_context;   // object merged into the context (e.g. enable_thinking)
    bool allow_special_in_content = false;  // mark message/tool text as template text
    std::time_t now = -1;                   // strftime_now's clock; -1 = current time
    ChatRenderLimits limits;
};

class ChatTemplate {
  public:
    // Parses once; errors name the construct and line.
    static Expected<ChatTemplate> parse(std::string_view source);

    // messages: array of {"role", "content" (string, null or list of parts),
    // "tool_calls", "tool_call_id", "name", ...}, passed through as-is.
    // Keys keep their order (ordered_json), as Python's json.loads does, so that
    // `tojson` writes tool schemas the way the client sent them.
    Expected<RenderedPrompt> render(const nlohmann::ordered_json& messages,
                                    const ChatRenderOptions& opt) const;
    // Convenience for callers holding nlohmann::json (objects come back sorted by key).
    Expected<RenderedPrompt> render(const nlohmann::json& messages,
                                    const ChatRenderOptions& opt) const;

    // Whether the template loops over message content as a list of parts (multimodal
    // templates). When false, pass messages through flatten_content_parts first: none of
    // the shared text templates render a list content well (Llama 3.x prints its repr).
    bool accepts_content_parts() const { return accepts_parts_; }

  private:
    std::shared_ptr<const std::vector<std::unique_ptr<jinja::Node>>> body_;
    bool accepts_parts_ = false;
};

// Joins the "text" parts of every message whose content is a list of parts
// into one string (parts joined with no separator; non-text parts dropped), for
// templates that only handle string content.
nlohmann::ordered_json flatten_content_parts(const nlohmann::ordered_json& messages);

}  // namespace ig
