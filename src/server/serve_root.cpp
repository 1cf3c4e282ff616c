#include "server/serve_root.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>

#include <spdlog/spdlog.h>

#include "chat/chat_template.h"
#include "model/llama_model.h"
#include "server/generation_defaults.h"
#include "tokenizer/gguf_vocab.h"
#include "tokenizer/tokenizer.h"
#include "util/progress.h"
#include "util/read_file.h"

namespace ig::server {

namespace {

// The chat template source, or "" when the model has none.
Expected<std::string> chat_template_source(const ServeOptions& opt, const GgufFile& f) {
    if (!opt.chat_template_path.empty()) {
        auto text = read_file(opt.chat_template_path);
        if (!text.ok()) return make_error(ErrorCode::Io, "chat template: {}", text.error().message);
        return text;
    }
    if (auto t = f.get_string("tokenizer.chat_template")) return std::string(*t);
    return std::string();
}

// The renderer of a parsed template, with the tokenizer's BOS/EOS text.
ChatRenderer make_chat_renderer(std::shared_ptr<const ChatTemplate> ct, const Tokenizer& tok) {
    auto token_text = [&](int32_t id) {
        return id >= 0 && id < tok.n_vocab() ? tok.vocab().tokens[static_cast<size_t>(id)]
                                             : std::string();
    };
    ChatRenderOptions base;
    base.bos_token = token_text(tok.bos_id());
    base.eos_token = token_text(tok.eos_id());
    return [ct = std::move(ct), base](const nlohmann::json& messages,
                                      const nlohmann::ordered_json& tools,
                                      const nlohmann::json& kwargs) -> Expected<ChatPrompt> {
        ChatRenderOptions o = base;
        o.tools = tools;
        if (!kwargs.is_null()) o.extra_context = nlohmann::ordered_json::parse(kwargs.dump());
        auto r = ct->render(messages, o);
        if (!r.ok()) return r.error();
        return ChatPrompt{std::move(r->text), std::move(r->special_allowed)};
    };
}

// Thousands of open streams need descriptors: raise the soft limit to the hard one.
void raise_fd_limit(int64_t want) {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    const rlim_t target = std::min<rlim_t>(rl.rlim_max, static_cast<rlim_t>(want + 256));
    if (rl.rlim_cur < target) {
        rl.rlim_cur = target;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && static_cast<int64_t>(rl.rlim_cur) < want + 64)
        spdlog::warn("open-file limit {} is below --max-connections {}", rl.rlim_cur, want);
}

}  // namespace

Expected<ServedModel> load_served_model(const ServeOptions& opt) {
    const auto t0 = std::chrono::steady_clock::now();
    // 1. The model.
    std::unique_ptr<LlamaModel> loaded;
    spdlog::info("loading {}", opt.model_path);
    IG_ASSIGN_OR_RETURN(
        loaded, LlamaModel::load(opt.model_path, ProgressLine("loading " + opt.model_path)));
    std::shared_ptr<LlamaModel> model = std::move(loaded);
    spdlog::info("{}: open {:.3f} s, bind+pack {:.3f} s", opt.model_path,
                 model->load_times().open_seconds, model->load_times().pack_seconds);
    // 2. Its tokenizer.
    std::unique_ptr<Tokenizer> tok_owned;
    IG_ASSIGN_OR_RETURN(tok_owned, load_tokenizer(model->gguf()));
    std::shared_ptr<const Tokenizer> tok = std::move(tok_owned);

    ServedModel sm;
    sm.tokenizer = tok;
    IG_ASSIGN_OR_RETURN(sm.sampling_defaults, generation_defaults(opt.model_path));
    sm.name = opt.served_model_name.empty() ? std::filesystem::path(opt.model_path).stem().string()
                                            : opt.served_model_name;
    sm.created = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
    // 3. The chat renderer, when the model or --chat-template has a template.
    std::string tmpl;
    IG_ASSIGN_OR_RETURN(tmpl, chat_template_source(opt, model->gguf()));
    if (!tmpl.empty()) {
        auto parsed = ChatTemplate::parse(tmpl);
        if (!parsed.ok())
            return make_error("chat template{}: {}",
                              opt.chat_template_path.empty() ? "" : " " + opt.chat_template_path,
                              parsed.error().message);
        sm.chat = make_chat_renderer(
            std::make_shared<const ChatTemplate>(std::move(parsed).value()), *tok);
    }
    // How answers are read back.
    if (opt.tool_call_parser == "auto") {
        sm.tool_format = detect_tool_call_format(tmpl);
    } else {
        IG_ASSIGN_OR_RETURN(sm.tool_format, parse_tool_call_format(opt.tool_call_parser));
    }
    IG_ASSIGN_OR_RETURN(sm.reasoning_format, parse_reasoning_format(opt.reasoning_parser));
    if (sm.tool_format != ToolCallFormat::None)
        spdlog::info("tool calls read as {}", tool_call_format_name(sm.tool_format));
    // 4. The engine, feeding this model's metrics.
    sm.metrics = ServerMetrics::create(sm.name);
    EngineConfig ecfg = opt.engine;
    if (!ecfg.step_observer) ecfg.step_observer = sm.metrics->step_observer();
    std::unique_ptr<Engine> engine;
    IG_ASSIGN_OR_RETURN(engine, Engine::create(model, tok, ecfg));
    sm.engine = std::move(engine);
    sm.load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    spdlog::info("loaded {} in {:.2f} s", opt.model_path, sm.load_seconds);
    return sm;
}

Status serve(ServeOptions opt) {
    raise_fd_limit(opt.server.limits.max_connections);
    auto served = load_served_model(opt);
    if (!served.ok()) return served.error();
    // 5. The API server.
    opt.server.served_model_name = served->name;
    const std::string name = served->name;
    ApiServer srv(opt.server, std::move(served).value());
    IG_TRY(srv.start());
    std::cout << "infergrid serving '" << name << "' at http://" << opt.server.host << ":"
              << srv.port() << "/v1" << std::endl;
    srv.run_until_signal();
    spdlog::info("stopped");
    return {};
}

}  // namespace ig::server
