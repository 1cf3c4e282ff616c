#include "tools/serve_model.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "model/llama_model.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "tools/gguf_vocab.h"

namespace ig {

namespace {

Expected<std::string> read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error(ErrorCode::Io, "cannot read chat template '{}'", path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The chat template source, or "" when the model has none.
Expected<std::string> chat_template_source(const ServeModelOptions& opt, const GgufFile& f) {
    if (!opt.chat_template_path.empty()) return read_text(opt.chat_template_path);
    if (auto t = f.get_string("tokenizer.chat_template")) return std::string(*t);
    return std::string();
}

}  // namespace

Expected<server::ServedModel> load_served_model(const ServeModelOptions& opt) {
    const auto t0 = std::chrono::steady_clock::now();
    std::unique_ptr<LlamaModel> loaded;
    IG_ASSIGN_OR_RETURN(loaded, LlamaModel::load(opt.model_path));
    std::shared_ptr<LlamaModel> model = std::move(loaded);
    std::unique_ptr<Tokenizer> tok_owned;
    IG_ASSIGN_OR_RETURN(tok_owned, load_tokenizer(model->gguf()));
    std::shared_ptr<const Tokenizer> tok = std::move(tok_owned);

    std::string tmpl;
    IG_ASSIGN_OR_RETURN(tmpl, chat_template_source(opt, model->gguf()));

    server::ServedModel sm;
    sm.tokenizer = tok;
    sm.name = opt.served_model_name.empty() ? std::filesystem::path(opt.model_path).stem().string()
                                            : opt.served_model_name;
    sm.created = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
    if (!tmpl.empty()) {
        auto parsed = ChatTemplate::parse(tmpl);
        if (!parsed.ok())
            return make_error("chat template{}: {}",
                              opt.chat_template_path.empty() ? "" : " " + opt.chat_template_path,
                              parsed.error().message);
        auto ct = std::make_shared<const ChatTemplate>(std::move(parsed).value());
        auto token_text = [&](int32_t id) {
            return id >= 0 && id < tok->n_vocab() ? tok->vocab().tokens[static_cast<size_t>(id)]
                                                  : std::string();
        };
        ChatRenderOptions base;
        base.bos_token = token_text(tok->bos_id());
        base.eos_token = token_text(tok->eos_id());
        sm.chat = [ct, base](const nlohmann::json& messages,
                             const nlohmann::json& tools) -> Expected<server::ChatPrompt> {
            ChatRenderOptions o = base;
            if (!tools.is_null()) o.tools = nlohmann::ordered_json::parse(tools.dump());
            auto r = ct->render(messages, o);
            if (!r.ok()) return r.error();
            return server::ChatPrompt{std::move(r->text), std::move(r->special_allowed)};
        };
    }
    sm.metrics = server::ServerMetrics::create(sm.name);
    EngineConfig ecfg = opt.engine;
    if (!ecfg.step_observer) ecfg.step_observer = sm.metrics->step_observer();
    std::unique_ptr<Engine> engine;
    IG_ASSIGN_OR_RETURN(engine, Engine::create(model, tok, ecfg));
    sm.engine = std::move(engine);
    sm.load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return sm;
}

}  // namespace ig
