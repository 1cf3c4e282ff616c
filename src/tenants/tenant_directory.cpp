#include "tenants/tenant_directory.h"

namespace ig::tenants {

TenantDirectory::TenantDirectory(std::shared_ptr<const KeyStore> initial, std::string path)
    : current_(std::move(initial)), path_(std::move(path)) {}

std::shared_ptr<const KeyStore> TenantDirectory::current() const {
    std::lock_guard lk(mu_);
    return current_;
}

void TenantDirectory::swap_in(TenantsFile file) {
    auto next = std::make_shared<const KeyStore>(std::move(file));
    std::lock_guard lk(mu_);
    current_ = std::move(next);
}

Status TenantDirectory::reload() {
    std::lock_guard w(write_mu_);
    if (path_.empty())
        return make_error("no tenants file to reload (the server runs with --api-key)");
    TenantsFile file;
    IG_ASSIGN_OR_RETURN(file, load_tenants_file(path_));
    swap_in(std::move(file));
    return {};
}

Status TenantDirectory::update(const std::function<Status(TenantsFile&)>& edit) {
    std::lock_guard w(write_mu_);
    TenantsFile file = current()->to_file();
    IG_TRY(edit(file));
    // The written form is what a reload would read: check it as such.
    const std::string where = path_.empty() ? std::string("tenants") : path_;
    TenantsFile checked;
    IG_ASSIGN_OR_RETURN(checked, parse_tenants(to_toml(file), where));
    if (!path_.empty()) IG_TRY(save_tenants_file(path_, checked));
    swap_in(std::move(checked));
    return {};
}

}  // namespace ig::tenants
