#pragma once
// The tenants file (`serve --tenants FILE`): who may call the API, with
// which keys, for which models. TOML, one [[tenant]] table each:
//
//   [[tenant]]
//   id = "acme"                        # required, [A-Za-z0-9_.-]{1,64}
//   name = "Acme Corp"                 # optional
//   keys = ["sha256:<64 hex>", ...]    # SHA-256 of each key, never the key
//   models = ["llama-3-8b"]            # optional; absent: every model
//   weight = 3.0                       # fair-share weight (default 1)
//   priority = 0                       # priority class: lower is more urgent
//   admin = false                      # its keys may use /metrics and /admin
//   cache_group = "shared-docs"        # tenants of one group share cached prefixes
//   [tenant.limits]                    # each absent or 0: unlimited, or [default_limits]'s
//   requests_per_minute = 60
//   tokens_per_minute = 100000         # prompt + generated tokens
//   max_concurrent_requests = 8
//   max_context_tokens = 4096          # prompt + max_tokens of one request
//   max_tokens = 1024                  # largest max_tokens a request may ask for
//   quota_tokens = 5000000             # per quota_period ("day" or "month", UTC)
//   quota_period = "month"
//   [tenant.prices]                    # USD per million tokens, for `infergrid usage`
//   prompt = 0.15
//   cached = 0.075
//   completion = 0.60
//
// A top-level [default_limits] table (same keys as [tenant.limits]) gives
// every tenant the limits it does not set itself; `tenants add-key` creates
// tenants with those. Only hashes are stored, so a leaked file (or backup)
// grants nothing.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/expected.h"
#include "util/sha256.h"

namespace ig::tenants {

enum class QuotaPeriod { Day, Month };

// Limits as written: each field unset means "the default's, else unlimited".
struct LimitsSpec {
    std::optional<int64_t> requests_per_minute;
    std::optional<int64_t> tokens_per_minute;
    std::optional<int64_t> max_concurrent_requests;
    std::optional<int64_t> max_context_tokens;
    std::optional<int64_t> max_tokens;
    std::optional<int64_t> quota_tokens;
    std::optional<QuotaPeriod> quota_period;
    bool empty() const;
};

// The count field of `l` that a limits key names ("tokens_per_minute", ...);
// nullptr for quota_period and unknown keys.
std::optional<int64_t>* limit_field(LimitsSpec& l, std::string_view key);

// Limits in force: 0 is unlimited.
struct Limits {
    int64_t requests_per_minute = 0;
    int64_t tokens_per_minute = 0;
    int64_t max_concurrent_requests = 0;
    int64_t max_context_tokens = 0;
    int64_t max_tokens = 0;
    int64_t quota_tokens = 0;
    QuotaPeriod quota_period = QuotaPeriod::Month;
};

// USD per million tokens; prompt tokens served from the cache cost `cached`.
struct TokenPrices {
    double prompt = 0;
    double cached = 0;
    double completion = 0;
};

struct Tenant {
    std::string id;
    std::string name;  // empty when not given
    std::vector<Sha256Digest> key_hashes;
    std::optional<std::vector<std::string>> models;  // nullopt: all models
    double weight = 1.0;                             // > 0
    int32_t priority = 0;                            // the most urgent class its requests may use
    bool admin = false;
    std::string cache_group;  // empty: its own cached prefixes only
    LimitsSpec limits;
    std::optional<TokenPrices> prices;

    // Whether this tenant may use the served model `model`.
    bool allows(std::string_view model) const;
};

struct TenantsFile {
    LimitsSpec default_limits;
    std::vector<Tenant> tenants;

    // `t`'s limits with the defaults filled in.
    Limits limits_of(const Tenant& t) const;
};

std::string_view quota_period_name(QuotaPeriod p);

// A tenant id: 1..64 of [A-Za-z0-9_.-] (also a Prometheus label value as is).
bool valid_tenant_id(std::string_view id);

// "sha256:" + 64 lower-case hex digits of the key's SHA-256.
std::string key_hash_string(std::string_view key);
// A key's public name: the first 12 hex digits of its hash (logs, the
// ledger, the admin API); it identifies a key without revealing it.
std::string key_id_of(const Sha256Digest& hash);

// Parses a file's text; `path` only names the file in errors. Errors name the
// file, the line and the key: unknown keys, wrong TOML types, a missing or
// malformed id, a key that is not a "sha256:<64 hex>" hash (the value itself
// is never echoed: it may be a plaintext key), duplicate ids or key hashes.
Expected<TenantsFile> parse_tenants(std::string_view text, const std::string& path);
Expected<TenantsFile> load_tenants_file(const std::string& path);

// The file as TOML text (comments and formatting of a loaded file are not kept).
std::string to_toml(const TenantsFile& file);

// Writes `file` to `path` atomically: a temporary file in the same
// directory, fsync, then rename, so a reader never sees half a file.
Status save_tenants_file(const std::string& path, const TenantsFile& file);

}  // namespace ig::tenants
