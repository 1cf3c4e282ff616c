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

// A special token of tokenizer_config.json: "text", {"content": "text", ...} or null.
Expected<std::string> config_token(const nlohmann::ordered_json& j, const char* key,
                                   const std::string& path) {
    if (!j.contains(key) || j[key].is_null()) return std::string();
    const auto& v = j[key];
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string())
        return v["content"].get<std::string>();
    return make_error("{}: '{}' is neither a string nor {{\"content\": ...}}", path, key);
}

}  // namespace

Expected<GgufChatTemplate> read_tokenizer_config(const std::string& path) {
    nlohmann::ordered_json j;
    IG_ASSIGN_OR_RETURN(j, read_json(path));
    if (!j.is_object()) return make_error("{}: expected a JSON object", path);
    GgufChatTemplate out;
    IG_ASSIGN_OR_RETURN(out.bos_token, config_token(j, "bos_token", path));
    IG_ASSIGN_OR_RETURN(out.eos_token, config_token(j, "eos_token", path));
    if (j.contains("chat_template")) {
        const auto& t = j["chat_template"];
        if (t.is_string()) {
            out.source = t.get<std::string>();
        } else if (t.is_array()) {  // named templates: the "default" one
            for (const auto& e : t)
                if (e.is_object() && e.value("name", "") == "default" && e.contains("template") &&
                    e["template"].is_string())
                    out.source = e["template"].get<std::string>();
        }
    }
    return out;
}

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
    if (!a.model.empty() && (!a.template_path.empty() || !a.tokenizer_config.empty()))
        return make_error("--model brings its own template and BOS/EOS: give it alone");
    if (a.model.empty() && a.template_path.empty() && a.tokenizer_config.empty())
        return make_error("give --model, --template or --tokenizer-config");
    GgufChatTemplate src;
    if (!a.model.empty()) {
        IG_ASSIGN_OR_RETURN(src, read_gguf_chat_template(a.model));
    } else {
        if (!a.tokenizer_config.empty())
            IG_ASSIGN_OR_RETURN(src, read_tokenizer_config(a.tokenizer_config));
        if (!a.template_path.empty()) {
            IG_ASSIGN_OR_RETURN(src.source, read_file(a.template_path));
        } else if (src.source.empty()) {
            return make_error("{}: no chat_template in it; give --template", a.tokenizer_config);
        }
        // Without them, a Llama 3 template renders no <|begin_of_text|>:
        // a prompt that silently differs from Hugging Face's.
        if (a.tokenizer_config.empty() && (src.source.find("bos_token") != std::string::npos ||
                                           src.source.find("eos_token") != std::string::npos))
            return make_error(
                "{}: the template uses bos_token/eos_token, whose text a .jinja file does not "
                "carry: give --tokenizer-config tokenizer_config.json (or --model M.gguf)",
                a.template_path);
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
