#include "tenants/key_store.h"

#include <openssl/crypto.h>

#include <fmt/format.h>

namespace ig::tenants {

KeyStore::KeyStore(TenantsFile file)
    : tenants_(std::move(file.tenants)), default_limits_(file.default_limits) {
    for (size_t i = 0; i < tenants_.size(); ++i)
        for (const Sha256Digest& h : tenants_[i].key_hashes) entries_.push_back({h, i});
}

Expected<KeyStore> KeyStore::single_key(std::string_view key) {
    if (key.empty()) return make_error("--api-key: the key is empty");
    // It travels in an HTTP header: visible ASCII only, no spaces.
    for (char c : key)
        if (c < 0x21 || c > 0x7e)
            return make_error("--api-key: the key must be visible ASCII without spaces");
    Tenant t;
    t.id = "default";
    t.admin = true;  // the only key there is: it may also read /metrics and use /admin
    t.key_hashes.push_back(sha256({reinterpret_cast<const uint8_t*>(key.data()), key.size()}));
    TenantsFile f;
    f.tenants.push_back(std::move(t));
    return KeyStore(std::move(f));
}

const Tenant* KeyStore::authenticate(std::string_view presented_key) const {
    const auto m = match(presented_key);
    return m ? m->tenant : nullptr;
}

std::optional<KeyMatch> KeyStore::match(std::string_view presented_key) const {
    if (presented_key.empty()) return std::nullopt;
    const Sha256Digest h =
        sha256({reinterpret_cast<const uint8_t*>(presented_key.data()), presented_key.size()});
    // Every entry is compared in full (CRYPTO_memcmp takes the same time
    // whatever the bytes) and the loop never stops early, so timing reveals
    // neither a partial match nor which entry matched.
    size_t found = entries_.size();
    for (size_t i = 0; i < entries_.size(); ++i) {
        const int diff = CRYPTO_memcmp(h.data(), entries_[i].hash.data(), h.size());
        found = diff == 0 ? i : found;
    }
    if (found == entries_.size()) return std::nullopt;
    return KeyMatch{&tenants_[entries_[found].tenant], key_id_of(entries_[found].hash)};
}

const Tenant* KeyStore::find(std::string_view id) const {
    for (const Tenant& t : tenants_)
        if (t.id == id) return &t;
    return nullptr;
}

Limits KeyStore::limits_of(const Tenant& t) const {
    TenantsFile defaults;
    defaults.default_limits = default_limits_;
    return defaults.limits_of(t);
}

Expected<std::optional<KeyStore>> key_store_from(const std::string& tenants_path,
                                                 const std::string& api_key) {
    if (!tenants_path.empty() && !api_key.empty())
        return make_error(
            "--tenants and --api-key exclude each other (a tenants file can hold "
            "a 'default' tenant with that key's hash)");
    if (!api_key.empty()) {
        auto ks = KeyStore::single_key(api_key);
        if (!ks.ok()) return ks.error();
        return std::optional<KeyStore>(std::move(ks).value());
    }
    if (tenants_path.empty()) return std::optional<KeyStore>();
    auto file = load_tenants_file(tenants_path);
    if (!file.ok()) return file.error();
    KeyStore ks(std::move(file).value());
    // A store without keys would refuse every request: surely a mistake.
    if (ks.entries_count() == 0)
        return make_error(
            "--tenants {}: no tenant has a key (add one with `infergrid tenants "
            "add-key --tenants {} --tenant ID`)",
            tenants_path, tenants_path);
    return std::optional<KeyStore>(std::move(ks));
}

}  // namespace ig::tenants
