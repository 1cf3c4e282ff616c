// The model routes of ApiServer:
//   GET  /v1/models                    every model the tenant may use, with its state
//   GET  /v1/models/{id}               one model (name or alias)
//   GET  /admin/models                 every model: state, memory, requests in flight
//   POST /admin/models/{name}/load     load now (answers once loaded, or the load error)
//   POST /admin/models/{name}/unload   unload an idle model (409 while requests run)
// The admin routes need an admin key when tenants are on (handle()).
#include <fmt/format.h>

#include "server/api_error.h"
#include "server/api_server.h"

namespace ig::server {

using nlohmann::json;

namespace {

json model_json(const ModelStatus& s) {
    json j = {{"id", s.name},
              {"object", "model"},
              {"created", 0},
              {"owned_by", "infergrid"},
              {"state", model_state_name(s.state)},
              {"memory_bytes", s.bytes},
              {"aliases", s.aliases}};
    if (s.state == ModelState::Loaded) j["max_model_len"] = s.context;
    return j;
}

}  // namespace

void ApiServer::add_model_routes() {
    using http::verb;
    router_.add(verb::get, "/v1/models", [this](HttpRequest&& req, std::string_view) {
        json data = json::array();
        for (const ModelStatus& s : models_->list()) {
            if (!tenant_allowed(req, s.name)) continue;
            json j = model_json(s);
            if (auto m = models_->get_if_loaded(s.name)) j["created"] = m->created;
            data.push_back(std::move(j));
        }
        return Reply{json_response({{"object", "list"}, {"data", std::move(data)}}, req.version()),
                     nullptr};
    });
    router_.add_prefix(
        verb::get, "/v1/models/", "/v1/models/{id}",
        [this](HttpRequest&& req, std::string_view id) {
            const std::string name = models_->resolve(id);
            if (name.empty() || !tenant_allowed(req, name)) {
                // With keys on, a model that is not there and one the
                // tenant may not use get the same answer (as from OpenAI).
                const char* access = tenants_ ? " or you do not have access to it" : "";
                return Reply{error_response(not_found(fmt::format("The model '{}' does not exist{}",
                                                                  std::string(id), access),
                                                      "model_not_found"),
                                            req.version(), cfg_.retry_after_seconds),
                             nullptr};
            }
            for (const ModelStatus& s : models_->list()) {
                if (s.name != name) continue;
                json j = model_json(s);
                if (auto m = models_->get_if_loaded(s.name)) j["created"] = m->created;
                return Reply{json_response(j, req.version()), nullptr};
            }
            return Reply{error_response(not_found("no such model", "model_not_found"),
                                        req.version(), cfg_.retry_after_seconds),
                         nullptr};
        });
}

void ApiServer::add_model_admin_routes() {
    using http::verb;
    auto error = [this](const HttpRequest& req, const ApiError& e) {
        return Reply{error_response(e, req.version(), cfg_.retry_after_seconds), nullptr};
    };
    router_.add(verb::get, "/admin/models", [this](HttpRequest&& req, std::string_view) {
        json data = json::array();
        for (const ModelStatus& s : models_->list()) {
            json j = model_json(s);
            j["path"] = s.path;
            j["requests_in_flight"] = s.in_flight;
            j["idle_seconds"] = s.idle_seconds;
            j["load_seconds"] = s.load_seconds;
            j["last_error"] = s.last_error.empty() ? json() : json(s.last_error);
            data.push_back(std::move(j));
        }
        return Reply{json_response({{"object", "list"}, {"data", std::move(data)}}, req.version()),
                     nullptr};
    });
    router_.add_prefix(
        verb::post, "/admin/models/", "/admin/models/{name}/{action}",
        [this, error](HttpRequest&& req, std::string_view param) {
            const size_t slash = param.rfind('/');
            const std::string_view action =
                slash == std::string_view::npos ? std::string_view() : param.substr(slash + 1);
            if (action != "load" && action != "unload")
                return error(req, not_found("POST /admin/models/{name}/load or /unload"));
            const std::string name = models_->resolve(param.substr(0, slash));
            if (name.empty())
                return error(req, not_found(fmt::format("no model '{}'",
                                                        std::string(param.substr(0, slash))),
                                            "model_not_found"));
            if (action == "unload") {
                const Status st = models_->unload(name);
                if (!st.ok()) {
                    ApiError e = from_error(st.error());
                    if (st.error().code == ErrorCode::Unavailable) {
                        e.status = 409;
                        e.code = "model_busy";
                    }
                    return error(req, e);
                }
                return Reply{
                    json_response({{"model", name}, {"state", "available"}}, req.version()),
                    nullptr};
            }
            // Blocks this IO thread for the load: an operator's call, not a client's.
            auto m = models_->load_and_wait(name, cfg_.model_load_wait);
            if (!m.ok()) {
                ApiError e = from_error(m.error());
                e.status = m.error().code == ErrorCode::Unavailable ? 503 : 500;
                e.code = "model_load_failed";
                return error(req, e);
            }
            return Reply{
                json_response(
                    {{"model", name}, {"state", "loaded"}, {"load_seconds", (*m)->load_seconds}},
                    req.version()),
                nullptr};
        });
}

}  // namespace ig::server
