#pragma once
// Who a presented API key belongs to. Keys are compared by their SHA-256
// against every stored hash with a constant-time compare, visiting all of
// them, so response time says nothing about how close a guess was.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tenants/tenants_file.h"
#include "util/expected.h"

namespace ig::tenants {

// Who a key belongs to, and which of the tenant's keys it is: `key_id` is
// the first 12 hex digits of its SHA-256 (as in the tenants file), enough to
// tell a tenant's keys apart in the usage ledger and useless to an attacker.
struct KeyMatch {
    const Tenant* tenant = nullptr;  // lives as long as the store
    std::string key_id;
};

class KeyStore {
  public:
    explicit KeyStore(TenantsFile file);
    // `serve --api-key KEY`: one tenant, id "default", every model.
    static Expected<KeyStore> single_key(std::string_view key);

    // The tenant whose key this is; nullptr for an empty or unknown key.
    // The pointer lives as long as the store.
    const Tenant* authenticate(std::string_view presented_key) const;
    // As authenticate(), with the matched key's id; nullopt for no match.
    std::optional<KeyMatch> match(std::string_view presented_key) const;
    // The tenant with this id; nullptr if none.
    const Tenant* find(std::string_view id) const;
    // `t`'s limits in force: its own, else the file's [default_limits].
    Limits limits_of(const Tenant& t) const;
    size_t size() const { return tenants_.size(); }
    size_t entries_count() const { return entries_.size(); }
    const std::vector<Tenant>& tenants() const { return tenants_; }
    // The store as a tenants file (to edit and write back).
    TenantsFile to_file() const { return {default_limits_, tenants_}; }

  private:
    struct Entry {
        Sha256Digest hash;
        size_t tenant;
    };
    std::vector<Tenant> tenants_;
    LimitsSpec default_limits_;
    std::vector<Entry> entries_;  // every key hash, flattened
};

// The store `serve` runs with: from --tenants FILE or --api-key KEY (both:
// an error); nullopt when neither is set (no authentication).
Expected<std::optional<KeyStore>> key_store_from(const std::string& tenants_path,
                                                 const std::string& api_key);

}  // namespace ig::tenants
