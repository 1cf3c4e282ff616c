#pragma once
// The tenants file (`serve --tenants FILE`): who may call the API, with
// which keys, for which models. TOML, one [[tenant]] table each:
//
//   [[tenant]]
//   id = "acme"                        # required, [A-Za-z0-9_.-]{1,64}
//   name = "Acme Corp"                 # optional
//   keys = ["sha256:<64 hex>", ...]    # SHA-256 of each key, never the key
//   models = ["llama-3-8b"]            # optional; absent: every model
//
// Only hashes are stored, so a leaked file (or backup) grants nothing.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/expected.h"
#include "util/sha256.h"

namespace ig::tenants {

struct Tenant {
    std::string id;
    std::string name;  // empty when not given
    std::vector<Sha256Digest> key_hashes;
    std::optional<std::vector<std::string>> models;  // nullopt: all models

    // Whether this tenant may use the served model `model`.
    bool allows(std::string_view model) const;
};

struct TenantsFile {
    std::vector<Tenant> tenants;
};

// A tenant id: 1..64 of [A-Za-z0-9_.-] (also a Prometheus label value as is).
bool valid_tenant_id(std::string_view id);

// "sha256:" + 64 lower-case hex digits of the key's SHA-256.
std::string key_hash_string(std::string_view key);

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
