// `infergrid tenants add-key --tenants FILE --tenant ID [--name NAME]`: a new
// API key for a tenant. The key goes to stdout once (scripts capture it);
// the file gets only its SHA-256.
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "app/commands.h"
#include "tenants/add_key.h"

namespace ig::app {

namespace {

struct AddKeyArgs {
    std::string file;
    std::string tenant;
    std::optional<std::string> name;
};

}  // namespace

Command add_tenants(CLI::App& app) {
    auto* t = app.add_subcommand("tenants", "Manage tenants and their API keys");
    t->require_subcommand(1);
    auto a = std::make_shared<AddKeyArgs>();
    auto* add = t->add_subcommand(
        "add-key", "Generate an API key for a tenant; print it once, store its hash in the file");
    add->add_option("--tenants", a->file, "Tenants TOML file (created when missing)")->required();
    add->add_option("--tenant", a->tenant, "Tenant id, [A-Za-z0-9_.-]{1,64} (added when missing)")
        ->required();
    add->add_option("--name", a->name, "Display name of the tenant");
    return {t, [add, a] {
                if (!add->parsed()) return 0;
                auto key = tenants::add_key(a->file, a->tenant, a->name);
                if (!key.ok()) return fail(key.error());
                std::cout << *key << std::endl;
                std::cerr << "added a key for tenant '" << a->tenant << "' to " << a->file
                          << " (only its hash is stored: keep the key now, it is not shown "
                             "again)\n";
                return 0;
            }};
}

}  // namespace ig::app
