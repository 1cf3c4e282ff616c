#include "model_tools/chat_template_cli.h"

#include "gguf/gguf.h"
#include "util/read_file.h"

namespace ig {
namespace {

Expected<nlohmann::ordered_json> read_json(const std::string& path) {
    std::string text;
    IG_ASSIGN_OR_RETURN(text, read_file(path));
    auto j = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return make_error("{}: invalid JSON", path);
    return j;
}

std::string token_text(const GgufFile& f, std::string_view id_key) {
    auto id = f.get_int(id_key);
    const GgufArray* tokens = f.get_array("tokenizer.ggml.tokens");
    if (!id || !tokens || *id < 0 || static_cast<size_t>(*id) >= tokens->items.size()) return {};
    const auto* s = std::get_if<std::string>(&tokens->items[static_cast<size_t>(*id)].v);
    return s ? *s : std::string();
}

}  // namespace

Expected<GgufChatTemplate> read_gguf_chat_template(const std::string& path) {
    GgufFile f;
    {
        auto opened = GgufFile::open(path);
        if (!opened.ok()) return opened.error();
        f = std::move(opened).value();
    }
    auto src = f.get_string("tokenizer.chat_template");
    if (!src) return make_error("{}: no tokenizer.chat_template in the metadata", path);
    return GgufChatTemplate{std::string(*src), token_text(f, "tokenizer.ggml.bos_token_id"),
                            token_text(f, "tokenizer.ggml.eos_token_id")};
}

Status run_chat_template(const ChatTemplateCliArgs& a, std::ostream& out) {
    if (a.model.empty() == a.template_path.empty())
        return make_error("give exactly one of --model or --template");
    GgufChatTemplate src;
    if (!a.model.empty()) {
        IG_ASSIGN_OR_RETURN(src, read_gguf_chat_template(a.model));
    } else {
        IG_ASSIGN_OR_RETURN(src.source, read_file(a.template_path));
    }
    nlohmann::ordered_json doc;
    IG_ASSIGN_OR_RETURN(doc, read_json(a.messages_path));
    ChatRenderOptions opt;
    opt.add_generation_prompt = a.add_generation_prompt;
    opt.bos_token = src.bos_token;
    opt.eos_token = src.eos_token;
    nlohmann::ordered_json messages;
    if (doc.is_array()) {
        messages = doc;
    } else if (doc.is_object() && doc.contains("messages")) {
        messages = doc["messages"];
        if (doc.contains("tools")) opt.tools = doc["tools"];
    } else {
        return make_error("{}: expected an array of messages or {{\"messages\": [...]}}",
                          a.messages_path);
    }
    if (!a.tools_path.empty()) IG_ASSIGN_OR_RETURN(opt.tools, read_json(a.tools_path));
    ChatTemplate tpl;
    IG_ASSIGN_OR_RETURN(tpl, ChatTemplate::parse(src.source));
    if (!tpl.accepts_content_parts()) messages = flatten_content_parts(messages);
    RenderedPrompt r;
    IG_ASSIGN_OR_RETURN(r, tpl.render(messages, opt));
    out << r.text;
    out.flush();
    return {};
}

}  // namespace ig
