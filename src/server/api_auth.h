#pragma once
// API-key checks in front of the route table (`serve --tenants` or
// `--api-key`): which routes stay open, where a client puts its key, and the
// 401 it gets without a good one.
#include <string_view>

#include "server/http_types.h"
#include "tenants/key_store.h"

namespace ig::server {

// Probes stay open so that load balancers and Kubernetes need no key:
// GET /health, /ready and /version. Everything else (/metrics included)
// needs one.
bool open_without_key(const HttpRequest& req);

// The key a client presents: `Authorization: Bearer KEY` (the OpenAI SDKs),
// else `x-api-key: KEY`; empty when there is none.
std::string_view presented_key(const HttpRequest& req);

// OpenAI's 401 (code invalid_api_key) with WWW-Authenticate: Bearer. The
// message never repeats the key.
HttpResponse unauthorized(unsigned http_version, bool key_given);

// Routes only an admin tenant's key may use: GET /metrics and /admin/...
bool needs_admin(const HttpRequest& req);

// 403 permission_denied: a good key, but not an admin's.
HttpResponse forbidden(unsigned http_version);

// Removes the key headers, so that nothing after authentication can log them.
void strip_key_headers(HttpRequest& req);

}  // namespace ig::server
