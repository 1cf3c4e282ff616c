#include "chat/chat_template.h"

#include "chat/jinja_error.h"
#include "chat/jinja_interp.h"
#include "chat/jinja_parser.h"

namespace ig {

Expected<ChatTemplate> ChatTemplate::parse(std::string_view source) {
    ChatTemplate t;
    try {
        t.body_ = std::make_shared<const std::vector<jinja::NodeP>>(jinja::parse_template(source));
    } catch (const jinja::JinjaError& e) {
        return make_error("chat template: {}", e.what());
    }
    auto has = [&](std::string_view s) { return source.find(s) != std::string_view::npos; };
    // Only templates that loop over the parts render them properly; Llama 3.x merely
    // tests `content is string` for the system turn and prints a list user content
    // as its Python repr, so for everything else the caller should flatten.
    t.accepts_parts_ = has("in message.content") || has("in message['content']") ||
                       has("in message[\"content\"]") || has("in content");
    return t;
}

Expected<RenderedPrompt> ChatTemplate::render(const nlohmann::json& messages,
                                              const ChatRenderOptions& opt) const {
    return render(nlohmann::ordered_json::parse(messages.dump()), opt);
}

Expected<RenderedPrompt> ChatTemplate::render(const nlohmann::ordered_json& messages,
                                              const ChatRenderOptions& opt) const {
    using namespace jinja;
    if (!messages.is_array()) return make_error("chat template: messages must be an array");
    if (!opt.extra_context.is_null() && !opt.extra_context.is_object())
        return make_error("chat template: extra_context must be an object");
    const uint8_t data_mark = opt.allow_special_in_content ? kTemplate : kContent;
    try {
        std::unordered_map<std::string, Value> g;
        add_builtin_globals(g);
        if (opt.extra_context.is_object())
            for (auto it = opt.extra_context.begin(); it != opt.extra_context.end(); ++it)
                g[it.key()] = from_json(it.value(), data_mark);
        g["messages"] = from_json(messages, data_mark);
        if (!opt.tools.is_null()) g["tools"] = from_json(opt.tools, data_mark);
        g["add_generation_prompt"] = Value::boolean(opt.add_generation_prompt);
        g["bos_token"] = Value::string(opt.bos_token, kTemplate);
        g["eos_token"] = Value::string(opt.eos_token, kTemplate);
        Limits lim{opt.limits.max_output_bytes, opt.limits.max_steps, opt.limits.max_call_depth};
        Interp in(lim, opt.now >= 0 ? opt.now : std::time(nullptr));
        PStr out = in.render(*body_, g);
        return RenderedPrompt{std::move(out.s), std::move(out.m)};
    } catch (const JinjaError& e) {
        return make_error("chat template: {}", e.what());
    } catch (const std::bad_alloc&) {
        return make_error("chat template: out of memory");
    }
}

nlohmann::ordered_json flatten_content_parts(const nlohmann::ordered_json& messages) {
    nlohmann::ordered_json out = messages;
    if (!out.is_array()) return out;
    for (auto& m : out) {
        if (!m.is_object() || !m.contains("content") || !m["content"].is_array()) continue;
        std::string text;
        for (const auto& part : m["content"])
            if (part.is_object() && part.value("type", "") == "text" && part.contains("text") &&
                part["text"].is_string())
                text += part["text"].get<std::string>();
        m["content"] = text;
    }
    return out;
}

}  // namespace ig
