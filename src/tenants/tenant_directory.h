#pragma once
// The tenants in force while serving, replaced whole on a reload (SIGHUP,
// POST /admin/tenants/reload) or an admin change: readers take the current
// KeyStore snapshot and keep it for as long as they use its Tenant
// pointers, so a request in flight never sees half a change. A bad file or
// change is refused with its reason and the old tenants stay.
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "tenants/key_store.h"
#include "util/expected.h"

namespace ig::tenants {

class TenantDirectory {
  public:
    // `path`: the tenants file that reload() reads and update() writes;
    // empty: none (--api-key, tests): updates stay in memory, reload fails.
    TenantDirectory(std::shared_ptr<const KeyStore> initial, std::string path);

    std::shared_ptr<const KeyStore> current() const;
    const std::string& path() const { return path_; }

    // Reads the file again; on success it replaces the tenants at once.
    Status reload();
    // Applies `edit` to a copy of the current tenants, checks the result as
    // strictly as a loaded file, writes the file atomically (when there is
    // one), then replaces the tenants. Nothing changes when any step fails.
    Status update(const std::function<Status(TenantsFile&)>& edit);

  private:
    void swap_in(TenantsFile file);

    mutable std::mutex mu_;  // guards current_ (readers copy the pointer)
    std::mutex write_mu_;    // one reload or update at a time, so none is lost
    std::shared_ptr<const KeyStore> current_;
    std::string path_;
};

}  // namespace ig::tenants
