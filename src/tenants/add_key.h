#pragma once
// `infergrid tenants add-key`: a new random key for a tenant, whose hash is
// added to the tenants file (file and tenant created when missing).
#include <optional>
#include <string>

#include "util/expected.h"

namespace ig::tenants {

// "ig-" + base64url (no padding) of 32 random bytes (RAND_bytes): 46
// characters, 256 bits.
Expected<std::string> generate_key();

// Adds a fresh key to tenant `tenant_id` in `path` and returns the key, the
// only time it exists in plaintext. `name`, when given, sets the tenant's
// name. The file is rewritten atomically (comments are not kept).
Expected<std::string> add_key(const std::string& path, const std::string& tenant_id,
                              const std::optional<std::string>& name);

}  // namespace ig::tenants
