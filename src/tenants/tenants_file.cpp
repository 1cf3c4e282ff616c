#include "tenants/tenants_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "util/read_file.h"

namespace ig::tenants {

namespace {

constexpr std::string_view kHashPrefix = "sha256:";

std::string type_name(toml::node_type t) {
    std::ostringstream s;
    s << t;
    return s.str();
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::optional<Sha256Digest> parse_hash(std::string_view s) {
    if (s.size() != kHashPrefix.size() + 64 || s.substr(0, kHashPrefix.size()) != kHashPrefix)
        return std::nullopt;
    s.remove_prefix(kHashPrefix.size());
    Sha256Digest d{};
    for (size_t i = 0; i < d.size(); ++i) {
        const int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        d[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    return d;
}

std::string hash_string(const Sha256Digest& d) {
    std::string s(kHashPrefix);
    for (uint8_t b : d) s += fmt::format("{:02x}", b);
    return s;
}

// A TOML basic string with its escapes, as toml++ writes one.
std::string quoted(const std::string& s) {
    std::ostringstream o;
    o << toml::value<std::string>(s);
    return o.str();
}

// Reads one [[tenant]] table; `where(node, key)` prefixes errors.
class TenantReader {
  public:
    TenantReader(const std::string& path, size_t index) : path_(path), index_(index) {}

    Error error(const toml::node& node, std::string_view key, const std::string& msg) const {
        return make_error("{}:{}: tenant[{}] '{}': {}", path_, node.source().begin.line, index_,
                          key, msg);
    }

    Expected<Tenant> read(const toml::table& t) const {
        Tenant out;
        for (auto&& [k, node] : t) {
            const std::string key(k.str());
            if (key == "id") {
                const auto* v = node.as_string();
                if (!v) return error(node, key, "must be a string, not " + type_name(node.type()));
                if (!valid_tenant_id(v->get()))
                    return error(node, key, "must be 1 to 64 of A-Z a-z 0-9 _ . -");
                out.id = v->get();
            } else if (key == "name") {
                const auto* v = node.as_string();
                if (!v) return error(node, key, "must be a string, not " + type_name(node.type()));
                out.name = v->get();
            } else if (key == "keys") {
                IG_ASSIGN_OR_RETURN(out.key_hashes, read_keys(node, key));
            } else if (key == "models") {
                const auto* arr = node.as_array();
                if (!arr)
                    return error(node, key,
                                 "must be an array of strings, not " + type_name(node.type()));
                std::vector<std::string> models;
                for (const toml::node& m : *arr) {
                    const auto* s = m.as_string();
                    if (!s || s->get().empty())
                        return error(m, key, "must hold non-empty strings (served model names)");
                    models.push_back(s->get());
                }
                out.models = std::move(models);
            } else {
                return error(node, key, "unknown key (a tenant has id, name, keys, models)");
            }
        }
        if (out.id.empty()) return error(t, "id", "missing: every tenant needs an id");
        return out;
    }

  private:
    Expected<std::vector<Sha256Digest>> read_keys(const toml::node& node,
                                                  const std::string& key) const {
        const auto* arr = node.as_array();
        if (!arr)
            return error(
                node, key,
                "must be an array of \"sha256:<64 hex>\" strings, not " + type_name(node.type()));
        std::vector<Sha256Digest> out;
        for (size_t i = 0; i < arr->size(); ++i) {
            const toml::node& k = *arr->get(i);
            const auto* s = k.as_string();
            if (!s) return error(k, key, fmt::format("[{}] must be a string", i));
            auto d = parse_hash(s->get());
            // Never echo the value: it may be a key pasted in plaintext.
            if (!d)
                return error(k, key,
                             fmt::format("[{}] is not a \"sha256:<64 hex>\" hash; the file "
                                         "holds key hashes only, never keys (`infergrid "
                                         "tenants add-key` writes them)",
                                         i));
            out.push_back(*d);
        }
        return out;
    }

    const std::string& path_;
    size_t index_;
};

}  // namespace

bool Tenant::allows(std::string_view model) const {
    return !models || std::find(models->begin(), models->end(), model) != models->end();
}

bool valid_tenant_id(std::string_view id) {
    if (id.empty() || id.size() > 64) return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '.' || c == '-';
    });
}

std::string key_hash_string(std::string_view key) {
    return hash_string(sha256({reinterpret_cast<const uint8_t*>(key.data()), key.size()}));
}

Expected<TenantsFile> parse_tenants(std::string_view text, const std::string& path) {
    toml::table root;
    try {
        root = toml::parse(text, path);
    } catch (const toml::parse_error& e) {
        return make_error("{}:{}: {}", path, e.source().begin.line, std::string(e.description()));
    }
    TenantsFile file;
    for (auto&& [k, node] : root) {
        const std::string key(k.str());
        if (key != "tenant")
            return make_error("{}:{}: '{}': unknown key (the file holds [[tenant]] tables)", path,
                              node.source().begin.line, key);
        const auto* arr = node.as_array();
        if (!arr || !arr->is_array_of_tables())
            return make_error("{}:{}: 'tenant': must be [[tenant]] tables, not {}", path,
                              node.source().begin.line, type_name(node.type()));
        // Duplicates: a second tenant of the same id would be unreachable, a
        // shared key hash would make a key's tenant ambiguous.
        std::set<std::string> ids;
        std::set<Sha256Digest> hashes;
        for (size_t i = 0; i < arr->size(); ++i) {
            const toml::table& tbl = *arr->get(i)->as_table();
            TenantReader reader(path, i);
            Tenant t;
            IG_ASSIGN_OR_RETURN(t, reader.read(tbl));
            if (!ids.insert(t.id).second)
                return reader.error(*tbl.get("id"), "id",
                                    fmt::format("duplicate tenant id '{}'", t.id));
            for (size_t j = 0; j < t.key_hashes.size(); ++j)
                if (!hashes.insert(t.key_hashes[j]).second)
                    return reader.error(
                        *tbl.get("keys")->as_array()->get(j), "keys",
                        fmt::format("[{}] is a duplicate key hash (a key belongs to one tenant)",
                                    j));
            file.tenants.push_back(std::move(t));
        }
    }
    return file;
}

Expected<TenantsFile> load_tenants_file(const std::string& path) {
    std::string text;
    IG_ASSIGN_OR_RETURN(text, read_file(path));
    return parse_tenants(text, path);
}

std::string to_toml(const TenantsFile& file) {
    std::string out =
        "# infergrid tenants: key hashes only (`infergrid tenants add-key` adds keys).\n";
    for (const Tenant& t : file.tenants) {
        out += "\n[[tenant]]\nid = " + quoted(t.id) + "\n";
        if (!t.name.empty()) out += "name = " + quoted(t.name) + "\n";
        out += "keys = [";
        for (size_t i = 0; i < t.key_hashes.size(); ++i)
            out += std::string(i ? ",\n" : "\n") + "    \"" + hash_string(t.key_hashes[i]) + "\"";
        out += t.key_hashes.empty() ? "]\n" : ",\n]\n";
        if (t.models) {
            out += "models = [";
            for (size_t i = 0; i < t.models->size(); ++i)
                out += (i ? ", " : "") + quoted((*t.models)[i]);
            out += "]\n";
        }
    }
    return out;
}

Status save_tenants_file(const std::string& path, const TenantsFile& file) {
    const std::string text = to_toml(file);
    namespace fs = std::filesystem;
    const fs::path target(path);
    const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    std::string tmp = (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
    const int fd = ::mkstemp(tmp.data());  // mode 0600
    if (fd < 0)
        return make_error(ErrorCode::Io, "{}: cannot create a temporary file: {}", tmp,
                          std::strerror(errno));
    // An existing file keeps its permissions; a new one is 0600.
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) ::fchmod(fd, st.st_mode & 07777);
    size_t off = 0;
    bool ok = true;
    while (ok && off < text.size()) {
        const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
        if (n < 0 && errno == EINTR) continue;
        ok = n > 0;
        if (ok) off += static_cast<size_t>(n);
    }
    ok = ok && ::fsync(fd) == 0;
    const int err = errno;
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
        const int e = ok ? errno : err;
        ::unlink(tmp.c_str());
        return make_error(ErrorCode::Io, "{}: cannot write: {}", path, std::strerror(e));
    }
    // The rename itself survives a crash once the directory is synced.
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    return {};
}

}  // namespace ig::tenants
