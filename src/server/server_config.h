#pragma once
// Settings of the HTTP front end. `infergrid serve` fills them from flags or
// a TOML file (same names); tests fill them directly.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "tenants/key_store.h"
#include "tenants/tenant_limiter.h"
#include "tenants/usage_ledger.h"

namespace ig::server {

struct HttpLimits {
    int64_t max_body_bytes = 8 << 20;     // larger bodies get 413
    int64_t max_header_bytes = 16 << 10;  // larger headers get 431
    // A keep-alive connection with no request in flight is closed after this.
    std::chrono::milliseconds idle_timeout{60'000};
    // A request must arrive completely within this once its first byte has
    // (slowloris), and one write may not stall longer than this.
    std::chrono::milliseconds request_timeout{30'000};
    int64_t max_connections = 16384;  // further connections get 503 and are closed
};

struct ServerConfig {
    std::string host = "127.0.0.1";
    uint16_t port = 8080;  // 0: ephemeral (tests)
    int io_threads = 2;
    HttpLimits limits;
    std::string served_model_name;
    std::chrono::milliseconds grace_period{30'000};  // SIGTERM: in-flight requests get this long
    int retry_after_seconds = 1;                     // Retry-After on 429/503
    int max_n = 16;                                  // upper bound of `n`
    // A request for a model that is not loaded waits this long for the load
    // (and for room, when budgets make a load wait), then gets 503.
    std::chrono::milliseconds model_load_wait{300'000};
    // Distinct X-Tenant-Id values kept as metric labels; later ones fold into "other".
    size_t max_tenant_labels = 100;
    // API keys (`--tenants`, `--api-key`). Null: no authentication, and the
    // client's X-Tenant-Id names the tenant. Set: every route but GET
    // /health, /ready and /version needs a key, and the key's tenant is the
    // request's tenant (X-Tenant-Id from the client is ignored).
    std::shared_ptr<const tenants::KeyStore> keys;
    // The file `keys` came from: SIGHUP and POST /admin/tenants/reload read
    // it again, admin changes write it. Empty: changes stay in memory.
    std::string tenants_path;
    // The usage ledger (`--usage-db`). Set: every admitted generation request
    // appends one record when it ends, and a response's end (the whole JSON,
    // or a stream's usage chunk and [DONE]) is sent only once its record is
    // committed. Null: no ledger.
    std::shared_ptr<tenants::UsageLedger> ledger;
    // Live counts of the tenants' limits (with keys only). Null: the server
    // makes its own; given, it can outlive a server (a reload) or carry a
    // quota restore hook or, in tests, a shorter window.
    std::shared_ptr<tenants::TenantLimiter> limiter;
    // One JSON line per finished generation request (server_metrics.h). The
    // sink gets each line; empty: spdlog at info level on stdout.
    bool request_log = true;
    std::function<void(const std::string&)> request_log_sink;
};

}  // namespace ig::server
