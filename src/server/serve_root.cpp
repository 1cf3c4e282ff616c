#include "server/serve_root.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <optional>

#include <spdlog/spdlog.h>

#include "chat/chat_template.h"
#include "kvcache/kv_arena.h"
#include "kvcache/tier_budgets.h"
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

// Bytes of a model's weights: the GGUF file, or a folder's safetensors files.
int64_t weights_bytes(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(path, ec)) {
        const auto n = fs::file_size(path, ec);
        return ec ? 0 : static_cast<int64_t>(n);
    }
    int64_t total = 0;
    for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec))
        if (it->path().extension() == ".safetensors") {
            const auto n = fs::file_size(it->path(), ec);
            if (!ec) total += static_cast<int64_t>(n);
        }
    return total;
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

// The KV tier budgets: the operator's, checked against the machine, or the
// defaults plan_tier_budgets derives from it.
Status plan_kv_tiers(const ServeOptions& opt, int64_t weights_bytes, EngineConfig& ecfg) {
    TierBudgetInputs in;
    probe_tier_budget_inputs(ecfg.kv_disk_dir, in);
    in.weights_bytes = weights_bytes;
    in.pool_bytes = ecfg.kv_bytes > 0 ? ecfg.kv_bytes : default_kv_budget_bytes(0);
    in.prefix_cache = ecfg.enable_prefix_cache;
    in.host_bytes = opt.kv_host_bytes;
    in.disk_bytes = opt.kv_disk_bytes;
    TierBudgets b;
    IG_ASSIGN_OR_RETURN(b, plan_tier_budgets(in));
    ecfg.kv_host_bytes = b.host_bytes;
    ecfg.kv_disk_bytes = b.disk_bytes;
    if (b.host_bytes == 0 && !opt.kv_host_bytes && in.prefix_cache)
        spdlog::warn("host KV tier {}", b.host_reason);
    else
        spdlog::info("host KV tier {}", b.host_reason);
    spdlog::info("disk KV tier {}", b.disk_reason);
    return {};
}

}  // namespace

Expected<ServedModel> load_served_model(const ServeOptions& opt,
                                        std::shared_ptr<ServerMetrics> metrics) {
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
    sm.metrics = metrics ? std::move(metrics) : ServerMetrics::create(sm.name);
    EngineConfig ecfg = opt.engine;
    if (!ecfg.step_observer) ecfg.step_observer = sm.metrics->step_observer();
    if (opt.plan_kv_tiers) IG_TRY(plan_kv_tiers(opt, model->gguf().file_size(), ecfg));
    std::unique_ptr<Engine> engine;
    IG_ASSIGN_OR_RETURN(engine, Engine::create(model, tok, ecfg));
    sm.engine = std::move(engine);
    sm.memory_bytes = weights_bytes(opt.model_path) + sm.engine->config().kv_bytes;
    sm.load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    spdlog::info("loaded {} in {:.2f} s", opt.model_path, sm.load_seconds);
    return sm;
}

Expected<std::shared_ptr<ModelSet>> open_model_set(const ServeOptions& opt) {
    CatalogSources src;
    src.models_dir = opt.models_dir;
    if (!opt.model_path.empty()) src.models.push_back(opt.model_path);
    for (const std::string& m : opt.more_models) src.models.push_back(m);
    src.served_model_name = opt.served_model_name;
    std::vector<ModelSpec> specs;
    IG_ASSIGN_OR_RETURN(specs, build_catalog(src));
    const size_t preload = src.models.size();
    const bool several = specs.size() > 1;
    // One pool of compute threads for every engine: steps take turns.
    auto compute = std::make_shared<ComputeShare>(opt.engine.threads);
    auto options_for = [opt, compute, several](const ModelSpec& spec) {
        ServeOptions o = opt;
        o.model_path = spec.path;
        o.served_model_name = spec.name;
        if (!spec.chat_template_path.empty()) o.chat_template_path = spec.chat_template_path;
        if (spec.tool_call_parser) o.tool_call_parser = *spec.tool_call_parser;
        if (spec.reasoning_parser) o.reasoning_parser = *spec.reasoning_parser;
        if (spec.kv_bytes) o.engine.kv_bytes = *spec.kv_bytes;
        if (spec.context) o.engine.max_context = *spec.context;
        o.engine.compute = compute;
        // Each model's disk tier in its own folder: their budgets and scans
        // must not evict each other's files.
        if (several && !o.engine.kv_disk_dir.empty())
            o.engine.kv_disk_dir =
                (std::filesystem::path(o.engine.kv_disk_dir) / spec.name).string();
        return o;
    };
    auto loader = [options_for](const ModelSpec& spec, std::shared_ptr<ServerMetrics> metrics) {
        return load_served_model(options_for(spec), std::move(metrics));
    };
    auto estimate = [options_for](const ModelSpec& spec) {
        const ServeOptions o = options_for(spec);
        return weights_bytes(spec.path) +
               (o.engine.kv_bytes > 0 ? o.engine.kv_bytes : default_kv_budget_bytes(0));
    };
    auto set = std::make_shared<ModelSet>(std::move(specs), loader, estimate, opt.model_set);
    // The models named on the command line are served from the start.
    for (size_t i = 0; i < preload; ++i) {
        const std::string name = set->names()[i];
        auto m = set->load_and_wait(name, std::chrono::hours(24));
        if (!m.ok()) return m.error();
    }
    return set;
}

Status serve(ServeOptions opt) {
    raise_fd_limit(opt.server.limits.max_connections);
    auto models = open_model_set(opt);
    if (!models.ok()) return models.error();
    // 5. The API server.
    const std::string name = (*models)->default_name();
    opt.server.served_model_name = name;
    ApiServer srv(opt.server, std::move(models).value());
    IG_TRY(srv.start());
    std::string all;
    for (const std::string& n : srv.models().names()) all += (all.empty() ? "" : ", ") + n;
    if (srv.models().names().size() == 1)
        std::cout << "infergrid serving '" << name << "' at http://" << opt.server.host << ":"
                  << srv.port() << "/v1" << std::endl;
    else
        std::cout << "infergrid serving " << all << " at http://" << opt.server.host << ":"
                  << srv.port() << "/v1" << std::endl;
    srv.run_until_signal();
    spdlog::info("stopped");
    return {};
}

}  // namespace ig::server
