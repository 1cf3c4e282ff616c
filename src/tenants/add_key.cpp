#include "tenants/add_key.h"

#include <openssl/rand.h>

#include <array>
#include <filesystem>

#include "tenants/tenants_file.h"

namespace ig::tenants {

namespace {

std::string base64url(const uint8_t* p, size_t n) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; ++i) {
        acc = (acc << 8) | p[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += kAlphabet[(acc >> bits) & 63];
        }
    }
    if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
    return out;
}

}  // namespace

Expected<std::string> generate_key() {
    std::array<uint8_t, 32> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
        return make_error(ErrorCode::Internal, "RAND_bytes failed: no random key");
    std::string key = "ig-" + base64url(bytes.data(), bytes.size());
    OPENSSL_cleanse(bytes.data(), bytes.size());
    return key;
}

Expected<std::string> add_key(const std::string& path, const std::string& tenant_id,
                              const std::optional<std::string>& name) {
    if (!valid_tenant_id(tenant_id))
        return make_error("--tenant '{}': must be 1 to 64 of A-Z a-z 0-9 _ . -", tenant_id);
    TenantsFile file;
    if (std::filesystem::exists(path)) IG_ASSIGN_OR_RETURN(file, load_tenants_file(path));
    Tenant* tenant = nullptr;
    for (Tenant& t : file.tenants)
        if (t.id == tenant_id) tenant = &t;
    if (!tenant) {
        // A new tenant starts with the file's [default_limits] (nothing of its own).
        Tenant t;
        t.id = tenant_id;
        file.tenants.push_back(std::move(t));
        tenant = &file.tenants.back();
    }
    if (name) tenant->name = *name;
    std::string key;
    IG_ASSIGN_OR_RETURN(key, generate_key());
    tenant->key_hashes.push_back(
        sha256({reinterpret_cast<const uint8_t*>(key.data()), key.size()}));
    IG_TRY(save_tenants_file(path, file));
    return key;
}

}  // namespace ig::tenants
