// The admin routes of ApiServer (admin keys only, checked in handle()):
//   GET    /admin/tenants                      tenants, their limits and live usage
//   POST   /admin/tenants/reload               read the tenants file again
//   POST   /admin/tenants/{id}/keys            a new key (shown once; tenant created if new)
//   DELETE /admin/tenants/{id}/keys/{key_id}   revoke a key
//   PATCH  /admin/tenants/{id}                 change name, weight, priority, admin,
//                                              cache_group, models, limits, prices
// Every change goes through TenantDirectory::update: checked like a loaded
// file, written atomically, applied whole or not at all.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "server/api_error.h"
#include "server/api_server.h"
#include "tenants/add_key.h"

namespace ig::server {

using nlohmann::json;

namespace {

json limits_json(const tenants::Limits& l) {
    return {{"requests_per_minute", l.requests_per_minute},
            {"tokens_per_minute", l.tokens_per_minute},
            {"max_concurrent_requests", l.max_concurrent_requests},
            {"max_context_tokens", l.max_context_tokens},
            {"max_tokens", l.max_tokens},
            {"quota_tokens", l.quota_tokens},
            {"quota_period", tenants::quota_period_name(l.quota_period)}};
}

ApiError bad(std::string param, std::string message) {
    return invalid_field(std::move(param), std::move(message));
}

// Applies a PATCH body to `t`. Types are checked here; ranges and names by
// the file check that every change passes afterwards.
std::optional<ApiError> apply_patch(const json& body, tenants::Tenant& t) {
    if (!body.is_object()) return bad("body", "must be a JSON object");
    for (const auto& [k, v] : body.items()) {
        if (k == "name") {
            if (!v.is_string()) return bad(k, "must be a string");
            t.name = v.get<std::string>();
        } else if (k == "weight") {
            if (!v.is_number()) return bad(k, "must be a number");
            t.weight = v.get<double>();
        } else if (k == "priority") {
            if (!v.is_number_integer()) return bad(k, "must be an integer");
            const int64_t p = v.get<int64_t>();
            if (p < -1000 || p > 1000) return bad(k, "must be from -1000 to 1000");
            t.priority = static_cast<int32_t>(p);
        } else if (k == "admin") {
            if (!v.is_boolean()) return bad(k, "must be true or false");
            t.admin = v.get<bool>();
        } else if (k == "cache_group") {
            if (!v.is_string() && !v.is_null()) return bad(k, "must be a string or null");
            t.cache_group = v.is_null() ? "" : v.get<std::string>();
        } else if (k == "models") {
            if (v.is_null()) {
                t.models.reset();
                continue;
            }
            if (!v.is_array()) return bad(k, "must be an array of model names or null (all)");
            std::vector<std::string> m;
            for (const json& x : v) {
                if (!x.is_string() || x.get<std::string>().empty())
                    return bad(k, "must hold non-empty strings");
                m.push_back(x.get<std::string>());
            }
            t.models = std::move(m);
        } else if (k == "limits") {
            if (!v.is_object()) return bad(k, "must be an object (a limit set to null is unset)");
            tenants::LimitsSpec& l = t.limits;
            for (const auto& [lk, lv] : v.items()) {
                const std::string param = "limits." + lk;
                if (lk == "quota_period") {
                    if (lv.is_null()) {
                        l.quota_period.reset();
                    } else if (lv == "day" || lv == "month") {
                        l.quota_period =
                            lv == "day" ? tenants::QuotaPeriod::Day : tenants::QuotaPeriod::Month;
                    } else {
                        return bad(param, "must be \"day\", \"month\" or null");
                    }
                    continue;
                }
                std::optional<int64_t>* f = tenants::limit_field(l, lk);
                if (!f) return bad(param, "unknown limit");
                if (lv.is_null()) {
                    f->reset();
                } else if (lv.is_number_integer() && lv.get<int64_t>() >= 0 &&
                           lv.get<int64_t>() <= 1'000'000'000'000'000) {
                    *f = lv.get<int64_t>();
                } else {
                    return bad(param, "must be an integer from 0 (unlimited) to 1e15, or null");
                }
            }
        } else if (k == "prices") {
            if (v.is_null()) {
                t.prices.reset();
                continue;
            }
            if (!v.is_object()) return bad(k, "must be an object of prompt, cached, completion");
            tenants::TokenPrices p = t.prices.value_or(tenants::TokenPrices{});
            for (const auto& [pk, pv] : v.items()) {
                double* f = pk == "prompt"       ? &p.prompt
                            : pk == "cached"     ? &p.cached
                            : pk == "completion" ? &p.completion
                                                 : nullptr;
                if (!f) return bad("prices." + pk, "unknown price");
                if (!pv.is_number() || pv.get<double>() < 0)
                    return bad("prices." + pk, "must be a number >= 0");
                *f = pv.get<double>();
            }
            t.prices = p;
        } else {
            return bad(k,
                       "unknown field (name, weight, priority, admin, cache_group, models, "
                       "limits, prices)");
        }
    }
    return std::nullopt;
}

}  // namespace

Status ApiServer::reload_tenants() {
    if (!tenants_) return make_error("the server runs without keys: there are no tenants");
    IG_TRY(tenants_->reload());
    const auto keys = tenants_->current();
    // Counts of tenants that are gone go too (their requests in flight keep theirs).
    if (cfg_.limiter)
        cfg_.limiter->retain([&](const std::string& id) { return keys->find(id) != nullptr; });
    return {};
}

void ApiServer::add_admin_routes() {
    using http::verb;
    auto reply = [this](const HttpRequest& req, const json& body,
                        http::status st = http::status::ok) {
        return Reply{json_response(body, req.version(), st), nullptr};
    };
    auto error = [this](const HttpRequest& req, const ApiError& e) {
        return Reply{error_response(e, req.version(), cfg_.retry_after_seconds), nullptr};
    };
    // Without keys there are no tenants and no admin: these routes say so.
    auto no_tenants = [error](const HttpRequest& req) {
        ApiError e =
            not_found("the server runs without --tenants: there is no tenant admin", "no_tenants");
        return error(req, e);
    };
    // A change through the directory; its error (a bad value, a failed write) is a 400.
    auto change =
        [this, error](
            const HttpRequest& req,
            const std::function<Status(tenants::TenantsFile&)>& edit) -> std::optional<Reply> {
        const Status st = tenants_->update(edit);
        if (st.ok()) return std::nullopt;
        ApiError e = from_error(st.error());
        if (st.error().code == ErrorCode::Io) e.status = 500;
        return error(req, e);
    };

    router_.add(verb::get, "/admin/tenants", [=, this](HttpRequest&& req, std::string_view) {
        if (!tenants_) return no_tenants(req);
        const auto keys = tenants_->current();
        // Lags of every loaded model's engine (a tenant is in one at a time, mostly).
        std::vector<TenantLag> lags;
        for (const auto& m : models_->loaded())
            for (const TenantLag& g : m->engine->stats().tenant_lags) lags.push_back(g);
        json data = json::array();
        for (const tenants::Tenant& t : keys->tenants()) {
            const tenants::Limits l = keys->limits_of(t);
            json key_ids = json::array();
            for (const Sha256Digest& h : t.key_hashes) key_ids.push_back(tenants::key_id_of(h));
            json usage = json::object();
            if (cfg_.limiter && l.quota_tokens > 0) {
                const tenants::QuotaBalance q = cfg_.limiter->quota_balance(t.id, l);
                usage["quota"] = {{"quota_tokens", q.quota},
                                  {"used_tokens", q.used},
                                  {"reserved_tokens", q.reserved},
                                  {"remaining_tokens", q.remaining},
                                  {"resets_at_unix_ms", q.resets_at_ms}};
            }
            json lag = nullptr;
            for (const TenantLag& g : lags)
                if (g.tenant == t.id && lag.is_null()) lag = g.tokens;
            usage["virtual_token_lag"] = lag;  // null: no request of it in the engine
            json j = {{"id", t.id},
                      {"name", t.name},
                      {"weight", t.weight},
                      {"priority", t.priority},
                      {"admin", t.admin},
                      {"cache_group", t.cache_group.empty() ? json() : json(t.cache_group)},
                      {"models", t.models ? json(*t.models) : json()},
                      {"key_ids", std::move(key_ids)},
                      {"limits", limits_json(l)},
                      {"usage", std::move(usage)}};
            if (t.prices)
                j["prices"] = {{"prompt", t.prices->prompt},
                               {"cached", t.prices->cached},
                               {"completion", t.prices->completion}};
            data.push_back(std::move(j));
        }
        return reply(req, {{"object", "list"}, {"data", std::move(data)}});
    });

    router_.add(
        verb::post, "/admin/tenants/reload", [=, this](HttpRequest&& req, std::string_view) {
            if (!tenants_) return no_tenants(req);
            const Status st = reload_tenants();
            if (!st.ok()) {
                ApiError e = from_error(st.error());
                e.code = "tenants_file_invalid";
                return error(req, e);
            }
            spdlog::info("tenants reloaded from {} (admin API)", cfg_.tenants_path);
            return reply(req, {{"reloaded", true}, {"tenants", tenants_->current()->size()}});
        });

    // POST /admin/tenants/{id}/keys
    router_.add_prefix(
        verb::post, "/admin/tenants/", "/admin/tenants/{id}/keys",
        [=, this](HttpRequest&& req, std::string_view param) {
            if (!tenants_) return no_tenants(req);
            const size_t slash = param.find('/');
            if (slash == std::string_view::npos || param.substr(slash) != "/keys")
                return error(req, not_found("POST /admin/tenants/{id}/keys adds a key"));
            const std::string id(param.substr(0, slash));
            if (!tenants::valid_tenant_id(id))
                return error(req, bad("id", "must be 1 to 64 of A-Z a-z 0-9 _ . -"));
            auto key = tenants::generate_key();
            if (!key.ok()) return error(req, from_error(key.error()));
            const Sha256Digest hash =
                sha256({reinterpret_cast<const uint8_t*>(key->data()), key->size()});
            bool created = false;
            if (auto r = change(req, [&](tenants::TenantsFile& f) -> Status {
                    for (tenants::Tenant& t : f.tenants)
                        if (t.id == id) {
                            t.key_hashes.push_back(hash);
                            return {};
                        }
                    tenants::Tenant t;
                    t.id = id;
                    t.key_hashes.push_back(hash);
                    f.tenants.push_back(std::move(t));
                    created = true;
                    return {};
                }))
                return std::move(*r);
            spdlog::info("admin: key {} added to tenant {}", tenants::key_id_of(hash), id);
            return reply(req,
                         {{"tenant", id},
                          {"key", *key},  // the only time it exists in plaintext
                          {"key_id", tenants::key_id_of(hash)},
                          {"tenant_created", created}},
                         http::status::created);
        });

    // DELETE /admin/tenants/{id}/keys/{key_id}
    router_.add_prefix(
        verb::delete_, "/admin/tenants/", "/admin/tenants/{id}/keys/{key_id}",
        [=, this](HttpRequest&& req, std::string_view param) {
            if (!tenants_) return no_tenants(req);
            const size_t a = param.find("/keys/");
            if (a == std::string_view::npos)
                return error(req,
                             not_found("DELETE /admin/tenants/{id}/keys/{key_id} revokes a key"));
            const std::string id(param.substr(0, a)), key_id(param.substr(a + 6));
            bool found = false;
            if (auto r = change(req, [&](tenants::TenantsFile& f) -> Status {
                    for (tenants::Tenant& t : f.tenants) {
                        if (t.id != id) continue;
                        found = std::erase_if(t.key_hashes, [&](const Sha256Digest& h) {
                                    return tenants::key_id_of(h) == key_id;
                                }) > 0;
                    }
                    return found ? Status{}
                                 : make_error(ErrorCode::NotFound, "tenant '{}' has no key '{}'",
                                              id, key_id);
                }))
                return std::move(*r);
            spdlog::info("admin: key {} of tenant {} revoked", key_id, id);
            return reply(req, {{"tenant", id}, {"key_id", key_id}, {"revoked", true}});
        });

    // PATCH /admin/tenants/{id}
    router_.add_prefix(
        verb::patch, "/admin/tenants/", "/admin/tenants/{id}",
        [=, this](HttpRequest&& req, std::string_view param) {
            if (!tenants_) return no_tenants(req);
            const std::string id(param);
            const json body = json::parse(req.body(), nullptr, false);
            if (body.is_discarded()) return error(req, bad("body", "invalid JSON body"));
            std::optional<ApiError> patch_error;
            if (auto r = change(req, [&](tenants::TenantsFile& f) -> Status {
                    for (tenants::Tenant& t : f.tenants)
                        if (t.id == id) {
                            patch_error = apply_patch(body, t);
                            return patch_error ? make_error("{}", patch_error->message) : Status{};
                        }
                    return make_error(ErrorCode::NotFound, "no tenant '{}'", id);
                })) {
                if (patch_error) return error(req, *patch_error);
                return std::move(*r);
            }
            spdlog::info("admin: tenant {} changed", id);
            return reply(req, {{"tenant", id}, {"updated", true}});
        });
}

}  // namespace ig::server
