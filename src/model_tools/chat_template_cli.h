#pragma once
// `infergrid chat-template`: renders a conversation through a model's chat
// template (from GGUF metadata or a .jinja file) and prints the prompt
// exactly, so templates can be checked against Hugging Face by hand.
#include <ostream>
#include <string>

#include "chat/chat_template.h"
#include "util/expected.h"

namespace ig {

struct ChatTemplateCliArgs {
    std::string model;          // GGUF file: tokenizer.chat_template and the BOS/EOS token text
    std::string template_path;  // or a .jinja file
    // Hugging Face tokenizer_config.json: bos_token/eos_token (with --template
    // or alone), and its chat_template when neither --model nor --template is given.
    std::string tokenizer_config;
    std::string messages_path;  // JSON: [messages...] or {"messages": [...], "tools": [...]}
    std::string tools_path;     // optional JSON array of tools (overrides "tools" in messages file)
    bool add_generation_prompt = true;
};

// The template source and BOS/EOS token text a GGUF file declares.
struct GgufChatTemplate {
    std::string source, bos_token, eos_token;
};
Expected<GgufChatTemplate> read_gguf_chat_template(const std::string& path);
// The same from a Hugging Face tokenizer_config.json (chat_template may be
// empty: not every file has one; a null bos_token is an empty one).
Expected<GgufChatTemplate> read_tokenizer_config(const std::string& path);

// Writes the rendered prompt to `out` with no trailing newline added.
Status run_chat_template(const ChatTemplateCliArgs& args, std::ostream& out);

}  // namespace ig
