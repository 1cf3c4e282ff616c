#include "server/api_server.h"

#include <csignal>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <stdexcept>

#include "server/api_auth.h"
#include "server/api_error.h"
#include "server/completion_job.h"
#include "server/exposition_merge.h"
#include "server/model_wait_job.h"
#include "server/openai_request.h"
#include "server/tenant_admission.h"

namespace ig::server {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kVersion = "0.1.0";
constexpr int kMaxJsonDepth = 64;
// Carries the authenticated key's id from handle() to the generation
// handlers (the usage ledger); erased from every incoming request first.
constexpr const char* kKeyIdField = "X-Infergrid-Key-Id";

// Total tokens the request asks for, against the context window; the
// message follows OpenAI's wording so that clients that parse it still work.
std::optional<ApiError> check_context(int64_t n_ctx, int64_t prompt, int64_t max_tokens,
                                      bool chat) {
    if (prompt + max_tokens <= n_ctx) return std::nullopt;
    ApiError e = invalid_field(
        chat ? "messages" : "prompt",
        fmt::format("This model's maximum context length is {} tokens. However, you requested {} "
                    "tokens ({} in the {}, {} in the completion). Please reduce the length of the "
                    "{} or completion.",
                    n_ctx, prompt + max_tokens, prompt, chat ? "messages" : "prompt", max_tokens,
                    chat ? "messages" : "prompt"));
    e.code = "context_length_exceeded";
    return e;
}

// A client's X-Request-Id is echoed and logged only when it is 1..128
// visible ASCII characters (no spaces, no CR/LF: header and log safe).
bool valid_request_id(std::string_view id) {
    if (id.empty() || id.size() > 128) return false;
    for (char c : id)
        if (c < 0x21 || c > 0x7e) return false;
    return true;
}

std::string header_value(const HttpRequest& req, std::string_view name) {
    auto it = req.find(boost::beast::string_view(name.data(), name.size()));
    return it == req.end() ? std::string() : std::string(it->value());
}

}  // namespace

ApiServer::ApiServer(ServerConfig cfg, ServedModel model)
    : ApiServer(std::move(cfg), std::make_shared<ModelSet>(std::move(model))) {}

ApiServer::ApiServer(ServerConfig cfg, std::shared_ptr<ModelSet> models)
    : cfg_(std::move(cfg)), models_(std::move(models)), router_(cfg_.retry_after_seconds) {
    if (cfg_.keys) {
        tenants_ = std::make_shared<tenants::TenantDirectory>(cfg_.keys, cfg_.tenants_path);
        if (!cfg_.limiter) cfg_.limiter = std::make_shared<tenants::TenantLimiter>();
    }
    add_routes();
    add_model_routes();
    add_admin_routes();
    add_model_admin_routes();
    for (const auto& [metrics, loaded] : models_->metrics_views()) {
        metrics->set_max_tenants(cfg_.max_tenant_labels);
        if (loaded && loaded->load_seconds > 0)
            metrics->set_model_load_seconds(loaded->load_seconds);
    }
    front_metrics_ = models_->metrics_of(models_->default_name());
    if (cfg_.request_log) {
        if (cfg_.request_log_sink) {
            request_log_ = cfg_.request_log_sink;
        } else {
            // Not registered with spdlog: several servers may live in one process.
            auto logger = std::make_shared<spdlog::logger>(
                "requests", std::make_shared<spdlog::sinks::stdout_sink_mt>());
            logger->set_pattern("%v");
            logger->set_level(spdlog::get_level());
            logger->flush_on(spdlog::level::info);  // whole lines reach log shippers at once
            request_log_ = [logger](const std::string& line) { logger->info("{}", line); };
        }
    }
    std::random_device rd;
    // 64 random bits: the usage ledger refuses a response id twice, and ids
    // of every restart on the same ledger must not meet.
    id_salt_ = fmt::format("{:08x}{:08x}", rd(), rd());
    http_ = std::make_unique<HttpServer>(cfg_,
                                         [this](HttpRequest&& r) { return handle(std::move(r)); });
}

ApiServer::~ApiServer() {
    stop();
}

Status ApiServer::start() {
    return http_->start();
}

uint16_t ApiServer::port() const {
    return http_->port();
}

void ApiServer::begin_drain() {
    draining_.store(true);
    http_->set_draining(true);
}

void ApiServer::run_until_signal() {
    boost::asio::io_context ioc;
    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM, SIGHUP);
    int got = 0;
    std::function<void(const boost::system::error_code&, int)> on_signal =
        [&](const boost::system::error_code& ec, int sig) {
            if (!ec && sig == SIGHUP) {  // reload the tenants file, keep serving
                const Status st = reload_tenants();
                if (st.ok())
                    spdlog::info("SIGHUP: tenants reloaded from {}", cfg_.tenants_path);
                else
                    spdlog::error("SIGHUP: tenants not reloaded, the old ones stay: {}",
                                  st.error().message);
                signals.async_wait(on_signal);
                return;
            }
            got = sig;
        };
    signals.async_wait(on_signal);
    ioc.run();
    spdlog::info("signal {}: draining ({} in flight, grace period {} ms)", got, in_flight(),
                 cfg_.grace_period.count());
    drain_and_stop();
}

void ApiServer::drain_and_stop() {
    begin_drain();
    const auto deadline = Clock::now() + cfg_.grace_period;
    while (in_flight() > 0 && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (in_flight() > 0) {
        spdlog::warn("grace period over: cancelling {} requests", in_flight());
        for (const auto& m : models_->loaded()) m->engine->shutdown(/*drain=*/false);
        // Cancelled requests still get their final chunk written.
        const auto flush = Clock::now() + std::chrono::seconds(2);
        while (in_flight() > 0 && Clock::now() < flush)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    stop();
}

void ApiServer::stop() {
    // Engine first: once its thread is gone no stream notifier can post to
    // the IO context that http_->stop() winds down.
    models_->shutdown();
    {
        // A usage record committed from now on must not post to the IO
        // context that http_->stop() winds down; its job is abandoned anyway.
        std::lock_guard lk(wake_gate_->mu);
        wake_gate_->open = false;
    }
    if (http_) http_->stop();
}

std::string ApiServer::next_id(const char* prefix) {
    return fmt::format("{}-{}{:016x}", prefix, id_salt_, next_id_.fetch_add(1) + 1);
}

HttpResponse ApiServer::json_response(const json& body, unsigned version,
                                      http::status status) const {
    HttpResponse res{status, version};
    res.set(http::field::content_type, "application/json");
    res.body() = body.dump(-1, ' ', false, json::error_handler_t::replace);
    return res;
}

Reply ApiServer::handle(HttpRequest&& req) {
    const std::string endpoint =
        router_.endpoint_label(path_of({req.target().data(), req.target().size()}));
    // Only handle() sets the key id: a client's copy is never believed.
    req.erase(kKeyIdField);
    // One snapshot per request: a reload meanwhile does not move its tenant.
    const auto keys = this->keys();
    if (keys && !open_without_key(req)) {
        const std::optional<tenants::KeyMatch> match = keys->match(presented_key(req));
        const tenants::Tenant* tenant = match ? match->tenant : nullptr;
        if (!tenant) {
            const bool given = req.count(http::field::authorization) || req.count("x-api-key");
            HttpResponse res = unauthorized(req.version(), given);
            front_metrics_->count_http(endpoint, static_cast<int>(res.result_int()));
            return Reply{std::move(res), nullptr};
        }
        if (needs_admin(req) && !tenant->admin) {
            HttpResponse res = forbidden(req.version());
            front_metrics_->count_http(endpoint, static_cast<int>(res.result_int()));
            return Reply{std::move(res), nullptr};
        }
        // The verified tenant reaches the handlers in X-Tenant-Id, replacing
        // whatever the client sent there; the key itself goes no further.
        strip_key_headers(req);
        req.set("X-Tenant-Id", tenant->id);
        req.set(kKeyIdField, match->key_id);
    }
    Reply r = router_.dispatch(std::move(req));
    // Jobs count their own status when they end.
    if (r.response)
        front_metrics_->count_http(endpoint, static_cast<int>(r.response->result_int()));
    return r;
}

void ApiServer::log_rejected(const RequestContext& ctx, bool chat, const HttpResponse& res) {
    RequestRecord r;
    r.request_id = ctx.request_id;
    r.tenant = ctx.tenant;
    r.endpoint = chat ? "chat" : "completions";
    r.stream = ctx.stream;
    r.status = static_cast<int>(res.result_int());
    const json body = json::parse(res.body(), nullptr, false);
    r.error_type = "error";
    if (body.is_object() && body.contains("error") && body["error"].is_object()) {
        const json& e = body["error"];
        if (e.contains("code") && e["code"].is_string())
            r.error_type = e["code"].get<std::string>();
        else if (e.contains("type") && e["type"].is_string())
            r.error_type = e["type"].get<std::string>();
    }
    r.e2e_seconds = std::chrono::duration<double>(Clock::now() - ctx.received).count();
    ServerMetrics& m = metrics_for(ctx.model);
    m.record(r);
    if (request_log_) request_log_(request_log_line(r, m.model()));
}

ServerMetrics& ApiServer::metrics_for(const std::string& model) const {
    auto m = model.empty() ? nullptr : models_->metrics_of(model);
    return m ? *m : *front_metrics_;
}

void ApiServer::finish_rejected(const RequestContext& ctx, bool chat, HttpResponse& res) {
    counters_->rejected_total.fetch_add(1);
    res.set("X-Request-Id", ctx.request_id);
    log_rejected(ctx, chat, res);
}

void ApiServer::add_routes() {
    using http::verb;
    auto json_reply = [this](const json& body, const HttpRequest& req,
                             http::status status = http::status::ok) {
        return Reply{json_response(body, req.version(), status), nullptr};
    };
    router_.add(verb::post, "/v1/chat/completions", [this](HttpRequest&& req, std::string_view) {
        return generate(std::move(req), true);
    });
    router_.add(verb::post, "/v1/completions", [this](HttpRequest&& req, std::string_view) {
        return generate(std::move(req), false);
    });
    router_.add(verb::get, "/health", [json_reply](HttpRequest&& req, std::string_view) {
        return json_reply({{"status", "ok"}}, req);
    });
    router_.add(verb::get, "/ready", [this, json_reply](HttpRequest&& req, std::string_view) {
        if (draining_.load())
            return json_reply({{"status", "draining"}}, req, http::status::service_unavailable);
        return json_reply({{"status", "ready"}}, req);
    });
    router_.add(verb::get, "/version", [json_reply](HttpRequest&& req, std::string_view) {
        return json_reply({{"version", kVersion}, {"name", "infergrid"}}, req);
    });
    router_.add(verb::get, "/metrics", [this](HttpRequest&& req, std::string_view) {
        HttpResponse res{http::status::ok, req.version()};
        res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        // One exposition per model (an unloaded model's counters stay), merged
        // into one family each.
        std::vector<std::string> parts;
        for (const auto& [metrics, loaded] : models_->metrics_views())
            parts.push_back(metrics->render(loaded ? loaded->engine->stats() : EngineStats{},
                                            *counters_, http_->open_connections(),
                                            !draining_.load()));
        res.body() = parts.size() == 1 ? std::move(parts[0]) : merge_expositions(parts);
        return Reply{std::move(res), nullptr};
    });
}

bool ApiServer::tenant_allowed(const HttpRequest& req, const std::string& model) const {
    const auto keys = this->keys();
    if (!keys) return true;
    // handle() has set X-Tenant-Id to the authenticated tenant.
    const tenants::Tenant* t = keys->find(header_value(req, "X-Tenant-Id"));
    return t && t->allows(model);
}

Reply ApiServer::generate(HttpRequest&& req, bool chat) {
    RequestContext ctx;
    ctx.received = Clock::now();
    ctx.id = next_id(chat ? "chatcmpl" : "cmpl");
    const std::string client_id = header_value(req, "X-Request-Id");
    ctx.request_id = valid_request_id(client_id) ? client_id : ctx.id;
    ctx.tenant_id = header_value(req, "X-Tenant-Id");
    if (const auto keys = this->keys(); keys && !keys->find(ctx.tenant_id))
        return Reply{unauthorized(req.version(), true), nullptr};  // removed by a reload just now
    ctx.tenant = front_metrics_->tenant_label(ctx.tenant_id);
    ctx.received_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    if (cfg_.keys) {
        // handle() verified both: the key's tenant, unfolded, is who pays.
        ctx.billing_tenant = ctx.tenant_id;
        ctx.key_id = header_value(req, kKeyIdField);
    }
    Reply r = completions(std::move(req), chat, ctx);
    if (r.response) finish_rejected(ctx, chat, *r.response);
    return r;
}

Reply ApiServer::completions(HttpRequest&& req, bool chat, RequestContext& ctx) {
    const unsigned v = req.version();
    auto error = [&](const ApiError& e) {
        return Reply{error_response(e, v, cfg_.retry_after_seconds), nullptr};
    };
    if (draining_.load()) {
        ApiError e;
        e.status = 503;
        e.type = "service_unavailable";
        e.code = "draining";
        e.message = "the server is shutting down; retry on another replica";
        return error(e);
    }

    json body;
    try {
        // Deeper nesting than any real request is refused while parsing, before
        // it costs memory (megabytes of '[' would build that many nodes).
        body = json::parse(req.body(), [](int depth, json::parse_event_t, json&) {
            if (depth > kMaxJsonDepth)
                throw std::length_error(
                    fmt::format("JSON nested deeper than {} levels", kMaxJsonDepth));
            return true;
        });
    } catch (const std::exception& ex) {  // json parse_error, and out_of_range for 1e999
        ApiError e = invalid_field("body", fmt::format("invalid JSON body: {}", ex.what()));
        e.code = "invalid_json";
        return error(e);
    }

    // The model first: the request's bounds (vocabulary) are the model's.
    std::string name = models_->default_name();
    if (body.is_object() && body.contains("model")) {
        const json& m = body["model"];
        if (!m.is_string()) return error(invalid_field("model", "'model' must be a string"));
        name = models_->resolve(m.get<std::string>());
        // A tenant without access is told what OpenAI tells it: 404, as if the
        // model were not there (a 403 would confirm that it is).
        const char* access = tenants_ ? " or you do not have access to it" : "";
        if (name.empty() || !tenant_allowed(req, name)) {
            std::string known;
            if (!tenants_)
                for (const std::string& n : models_->names())
                    known += (known.empty() ? "" : ", ") + n;
            return error(not_found(
                fmt::format("The model '{}' does not exist{}{}", m.get<std::string>(), access,
                            known.empty() ? "" : "; this server serves: " + known),
                "model_not_found"));
        }
    } else if (!tenant_allowed(req, name)) {
        return error(not_found(fmt::format("The model '{}' does not exist or you do not have "
                                           "access to it",
                                           name),
                               "model_not_found"));
    }
    ctx.model = name;
    if (auto loaded = models_->get(name)) return completions_on(loaded, req, body, chat, ctx);

    // Not loaded: wait for it without holding an IO thread.
    auto held = std::make_shared<HttpRequest>(std::move(req));
    auto shared_body = std::make_shared<json>(std::move(body));
    auto cont = [this, held, shared_body, chat, ctx](std::shared_ptr<ServedModel> m) mutable {
        Reply r = completions_on(m, *held, *shared_body, chat, ctx);
        if (r.response) {
            finish_rejected(ctx, chat, *r.response);
            metrics_for(ctx.model).count_http(chat ? "/v1/chat/completions" : "/v1/completions",
                                              static_cast<int>(r.response->result_int()));
        }
        return r;
    };
    auto fail = [this, chat, ctx, v](int status, const std::string& message,
                                     const std::string& code) {
        ApiError e;
        e.status = status;
        e.type = status >= 500 && status != 503 ? "server_error" : "service_unavailable";
        e.code = code;
        e.message = message;
        HttpResponse res = error_response(e, v, cfg_.retry_after_seconds);
        finish_rejected(ctx, chat, res);
        metrics_for(ctx.model).count_http(chat ? "/v1/chat/completions" : "/v1/completions",
                                          status);
        return res;
    };
    return {std::nullopt,
            std::make_shared<ModelWaitJob>(models_, name, Clock::now() + cfg_.model_load_wait,
                                           std::move(cont), std::move(fail))};
}

Reply ApiServer::completions_on(const std::shared_ptr<ServedModel>& model, const HttpRequest& req,
                                const json& body, bool chat, RequestContext& ctx) {
    const unsigned v = req.version();
    auto error = [&](const ApiError& e) {
        return Reply{error_response(e, v, cfg_.retry_after_seconds), nullptr};
    };
    const ServedModel& sm = *model;
    const ModelConfig& mc = sm.engine->model_config();
    RequestBounds bounds;
    bounds.n_vocab = static_cast<int32_t>(mc.n_vocab);
    bounds.max_n = cfg_.max_n;
    bounds.defaults = sm.sampling_defaults;
    ParsedRequest pr;
    if (auto e = parse_request(body, chat ? Endpoint::Chat : Endpoint::Completions, bounds, pr))
        return error(*e);
    ctx.stream = pr.stream;

    // The output plan reads the body again keeping key order: a schema's
    // properties come out in the order it lists them.
    OutputPlan plan;
    {
        nlohmann::ordered_json ordered = nlohmann::ordered_json::parse(req.body(), nullptr, false);
        if (auto e = plan_output(ordered, chat, sm, grammars_, plan)) return error(*e);
    }
    std::vector<std::vector<int32_t>> prompts;
    if (auto e = tokenize_prompts(sm, pr, chat, plan, prompts)) return error(*e);

    const int64_t n_ctx = sm.engine->context_length();
    // With keys, the tenant's limits: first the max_tokens default they allow.
    const auto keys = this->keys();
    const tenants::Tenant* tenant = keys ? keys->find(header_value(req, "X-Tenant-Id")) : nullptr;
    const tenants::Limits limits = tenant ? keys->limits_of(*tenant) : tenants::Limits{};
    if (tenant && !pr.max_tokens && limits_default_max_tokens(limits)) {
        const tenants::Demand d = demand_of(prompts, pr.n, 0);
        const int64_t room = std::max<int64_t>(1, n_ctx - d.longest_prompt);
        pr.max_tokens = default_max_tokens(limits, chat ? room : std::min<int64_t>(16, room), d);
    }
    int64_t max_want = 0;  // the most any one sequence may generate
    for (size_t i = 0; i < prompts.size(); ++i) {
        if (prompts[i].empty()) {
            ApiError e = invalid_field(chat ? "messages" : "prompt",
                                       chat ? "the rendered chat prompt is empty"
                                            : "'prompt' is empty after tokenization");
            return error(e);
        }
        const int64_t plen = static_cast<int64_t>(prompts[i].size());
        const int64_t want = pr.max_tokens.value_or(
            chat ? std::max<int64_t>(1, n_ctx - plen)
                 : std::min<int64_t>(16, std::max<int64_t>(1, n_ctx - plen)));
        if (auto e = check_context(n_ctx, plen, want, chat)) return error(*e);
        max_want = std::max(max_want, want);
    }

    tenants::Lease lease;
    if (tenant) {
        tenants::Admission a =
            cfg_.limiter->admit(tenant->id, limits, demand_of(prompts, pr.n, max_want));
        if (!a.ok()) {
            const tenants::Rejection& r = a.rejection();
            if (r.retryable)
                metrics_for(ctx.model).count_rate_limited(ctx.tenant, tenants::limit_name(r.limit));
            return Reply{limit_response(r, v), nullptr};
        }
        lease = std::move(a.lease());
    }
    return submit(model, pr, std::move(prompts), chat, ctx, v, std::move(lease), plan);
}

// Prompts as token ids: the chat rendered by the model's template, or each
// completion prompt (text or ids).
std::optional<ApiError> ApiServer::tokenize_prompts(
    const ServedModel& model, ParsedRequest& pr, bool chat, OutputPlan& plan,
    std::vector<std::vector<int32_t>>& prompts) const {
    const Tokenizer& tok = *model.tokenizer;
    if (chat) {
        if (!model.chat) {
            ApiError e = invalid_field(
                "messages",
                fmt::format("the model '{}' has no chat template: start the server with "
                            "--chat-template FILE, or use /v1/completions",
                            model.name));
            e.code = "no_chat_template";
            return e;
        }
        const nlohmann::ordered_json no_tools;
        auto rendered = model.chat(pr.messages, plan.tools.active() ? plan.tools.tools : no_tools,
                                   plan.template_kwargs);
        if (!rendered.ok()) return from_error(rendered.error(), "messages");
        plan.prompt_opens_reasoning = ig::prompt_opens_reasoning(rendered->text);
        bool add_special = true;
        if (tok.bos_id() >= 0) {
            const std::string bos = tok.vocab().tokens[static_cast<size_t>(tok.bos_id())];
            if (!bos.empty() && rendered->text.compare(0, bos.size(), bos) == 0)
                add_special = false;
        }
        EncodeOptions opt;
        opt.add_special = add_special;
        opt.parse_special = true;
        opt.special_allowed = rendered->special_allowed;
        prompts.push_back(tok.encode(rendered->text, opt));
    } else {
        for (PromptInput& p : pr.prompts) {
            if (auto* ids = std::get_if<std::vector<int32_t>>(&p)) {
                prompts.push_back(std::move(*ids));
            } else {
                EncodeOptions opt;
                opt.add_special = true;
                opt.parse_special = true;
                prompts.push_back(tok.encode(std::get<std::string>(p), opt));
            }
        }
    }
    return std::nullopt;
}

// Every prompt to the engine (all or none), then one job streams or collects them.
Reply ApiServer::submit(const std::shared_ptr<ServedModel>& model, ParsedRequest& pr,
                        std::vector<std::vector<int32_t>> prompts, bool chat,
                        const RequestContext& ctx, unsigned v, tenants::Lease lease,
                        const OutputPlan& plan) {
    const ServedModel& sm = *model;
    const int64_t n_ctx = sm.engine->context_length();
    JobSpec spec;
    spec.chat = chat;
    spec.stream = pr.stream;
    spec.include_usage = pr.include_usage;
    spec.logprobs = pr.sampling.logprobs;
    spec.id = ctx.id;
    spec.request_id = ctx.request_id;
    spec.tenant = ctx.tenant;
    spec.received = ctx.received;
    spec.request_log = request_log_;
    spec.ledger = cfg_.ledger;
    spec.wake_gate = wake_gate_;
    spec.billing_tenant = ctx.billing_tenant;
    spec.key_id = ctx.key_id;
    spec.received_unix_ms = ctx.received_unix_ms;
    spec.model = sm.name;
    spec.model_hold = model;
    spec.created = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
    spec.n = pr.n;
    spec.user = pr.user;
    spec.http_version = v;
    spec.headers = rate_header_fields(lease.headers());
    spec.lease = std::move(lease);
    spec.single_tool_call = plan.tools.active() && !plan.tools.parallel;
    if (chat && plan.parses_output()) {
        ReasoningOptions ro;
        ro.start_in_reasoning = plan.prompt_opens_reasoning;
        spec.output_parser = [ro, tools = plan.tool_format, reasoning = plan.reasoning] {
            // Mistral's template refuses call ids that are not 9 alphanumerics
            // when the calls come back in the next turn's history.
            IdGenerator ids = tools == ToolCallFormat::Mistral
                                  ? make_call_id_generator(std::random_device{}(), "", 9)
                                  : IdGenerator{};
            return std::make_unique<ChatOutputParser>(reasoning, ro, tools, std::move(ids));
        };
    }

    // With keys on, handle() has set X-Tenant-Id to the authenticated tenant.
    const auto keys = this->keys();
    const tenants::Tenant* tenant = keys ? keys->find(ctx.tenant_id) : nullptr;
    std::vector<SubmittedPrompt> submitted;
    for (size_t i = 0; i < prompts.size(); ++i) {
        GenerationRequest g;
        g.id = prompts.size() == 1 ? spec.id : fmt::format("{}-{}", spec.id, i);
        const int64_t plen = static_cast<int64_t>(prompts[i].size());
        g.sampling = pr.sampling;
        g.stop = pr.stop;
        g.stop.max_tokens =
            pr.max_tokens.value_or(chat ? n_ctx - plen : std::min<int64_t>(16, n_ctx - plen));
        g.n = pr.n;
        g.priority = pr.priority.value_or(0);
        g.group = spec.id;  // all prompts of one request share one fair share
        if (tenant) {
            // A request may ask for a less urgent class than its tenant's, not a more urgent one.
            g.priority = std::max(pr.priority.value_or(tenant->priority), tenant->priority);
            g.tenant = tenant->id;
            g.tenant_weight = tenant->weight;
            // Each tenant's prefix blocks hang off its own hash root, so no
            // tenant can hit (or time) another's cached prompt; a cache group
            // shares one root. Tenant ids and group names are distinct
            // namespaces, hence the prefixes.
            g.cache_salt = tenant->cache_group.empty() ? "tenant:" + tenant->id
                                                       : "group:" + tenant->cache_group;
        }
        g.grammar = plan.grammar;
        g.render_special = plan.render_special;
        g.prompt = std::move(prompts[i]);
        auto stream = sm.engine->submit(std::move(g));
        if (!stream.ok()) {
            for (SubmittedPrompt& s : submitted) sm.engine->cancel(s.request_id);
            return {error_response(from_error(stream.error()), v, cfg_.retry_after_seconds),
                    nullptr};
        }
        submitted.push_back({prompts.size() == 1 ? spec.id : fmt::format("{}-{}", spec.id, i),
                             std::move(stream).value(), plen});
    }
    auto job = std::make_shared<CompletionJob>(std::move(spec), sm.engine, sm.tokenizer,
                                               std::move(submitted), counters_,
                                               Clock::now() - ctx.received, sm.metrics);
    return {std::nullopt, std::move(job)};
}

}  // namespace ig::server
