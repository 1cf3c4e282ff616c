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

// An integer or a float as a double (TOML keeps them apart; `weight = 1` is fine).
std::optional<double> number(const toml::node& node) {
    if (const auto* i = node.as_integer()) return static_cast<double>(i->get());
    if (const auto* f = node.as_floating_point()) return f->get();
    return std::nullopt;
}

// A limits table ([tenant.limits] or [default_limits]); `where` names it in errors.
Expected<LimitsSpec> read_limits(const toml::node& node, const std::string& path,
                                 const std::string& where) {
    const auto* t = node.as_table();
    if (!t)
        return make_error("{}:{}: '{}': must be a table, not {}", path, node.source().begin.line,
                          where, type_name(node.type()));
    LimitsSpec out;
    for (auto&& [k, v] : *t) {
        const std::string key(k.str());
        const int line = static_cast<int>(v.source().begin.line);
        if (key == "quota_period") {
            const auto* s = v.as_string();
            if (!s || (s->get() != "day" && s->get() != "month"))
                return make_error("{}:{}: '{}.{}': must be \"day\" or \"month\"", path, line, where,
                                  key);
            out.quota_period = s->get() == "day" ? QuotaPeriod::Day : QuotaPeriod::Month;
            continue;
        }
        std::optional<int64_t>* field = limit_field(out, key);
        if (!field)
            return make_error(
                "{}:{}: '{}.{}': unknown key (limits are requests_per_minute, tokens_per_minute, "
                "max_concurrent_requests, max_context_tokens, max_tokens, quota_tokens, "
                "quota_period)",
                path, line, where, key);
        const auto* i = v.as_integer();
        // 1e15: far above any real budget, far below int64 overflow when summed.
        if (!i || i->get() < 0 || i->get() > 1'000'000'000'000'000)
            return make_error("{}:{}: '{}.{}': must be an integer from 0 (unlimited) to 1e15", path,
                              line, where, key);
        *field = i->get();
    }
    return out;
}

void append_limits(std::string& out, const LimitsSpec& l) {
    auto put = [&](const char* k, const std::optional<int64_t>& v) {
        if (v) out += fmt::format("{} = {}\n", k, *v);
    };
    put("requests_per_minute", l.requests_per_minute);
    put("tokens_per_minute", l.tokens_per_minute);
    put("max_concurrent_requests", l.max_concurrent_requests);
    put("max_context_tokens", l.max_context_tokens);
    put("max_tokens", l.max_tokens);
    put("quota_tokens", l.quota_tokens);
    if (l.quota_period)
        out += fmt::format("quota_period = \"{}\"\n", quota_period_name(*l.quota_period));
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
            } else if (key == "weight") {
                const std::optional<double> w = number(node);
                if (!w || !(*w > 0) || *w > 1e6)
                    return error(node, key, "must be a number above 0 (at most 1e6)");
                out.weight = *w;
            } else if (key == "priority") {
                const auto* v = node.as_integer();
                if (!v || v->get() < -1000 || v->get() > 1000)
                    return error(node, key, "must be an integer from -1000 to 1000");
                out.priority = static_cast<int32_t>(v->get());
            } else if (key == "admin") {
                const auto* v = node.as_boolean();
                if (!v) return error(node, key, "must be true or false");
                out.admin = v->get();
            } else if (key == "cache_group") {
                const auto* v = node.as_string();
                if (!v || !valid_tenant_id(v->get()))
                    return error(node, key, "must be a string of 1 to 64 of A-Z a-z 0-9 _ . -");
                out.cache_group = v->get();
            } else if (key == "limits") {
                IG_ASSIGN_OR_RETURN(out.limits, read_limits(node, path_, "tenant." + key));
            } else if (key == "prices") {
                IG_ASSIGN_OR_RETURN(out.prices, read_prices(node));
            } else {
                return error(node, key,
                             "unknown key (a tenant has id, name, keys, models, weight, priority, "
                             "admin, cache_group, limits, prices)");
            }
        }
        if (out.id.empty()) return error(t, "id", "missing: every tenant needs an id");
        return out;
    }

  private:
    Expected<TokenPrices> read_prices(const toml::node& node) const {
        const auto* t = node.as_table();
        if (!t)
            return error(node, "prices",
                         "must be a table of prompt, cached, completion (USD per million tokens)");
        TokenPrices p;
        for (auto&& [k, v] : *t) {
            const std::string key(k.str());
            double* field = key == "prompt"       ? &p.prompt
                            : key == "cached"     ? &p.cached
                            : key == "completion" ? &p.completion
                                                  : nullptr;
            if (!field)
                return error(v, "prices." + key,
                             "unknown key (prices has prompt, cached, completion)");
            const std::optional<double> x = number(v);
            if (!x || !(*x >= 0) || *x > 1e9)
                return error(v, "prices." + key, "must be a number from 0 to 1e9");
            *field = *x;
        }
        return p;
    }

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

std::optional<int64_t>* limit_field(LimitsSpec& l, std::string_view key) {
    return key == "requests_per_minute"       ? &l.requests_per_minute
           : key == "tokens_per_minute"       ? &l.tokens_per_minute
           : key == "max_concurrent_requests" ? &l.max_concurrent_requests
           : key == "max_context_tokens"      ? &l.max_context_tokens
           : key == "max_tokens"              ? &l.max_tokens
           : key == "quota_tokens"            ? &l.quota_tokens
                                              : nullptr;
}

bool LimitsSpec::empty() const {
    return !requests_per_minute && !tokens_per_minute && !max_concurrent_requests &&
           !max_context_tokens && !max_tokens && !quota_tokens && !quota_period;
}

Limits TenantsFile::limits_of(const Tenant& t) const {
    const LimitsSpec& a = t.limits;
    const LimitsSpec& d = default_limits;
    Limits l;
    l.requests_per_minute = a.requests_per_minute.value_or(d.requests_per_minute.value_or(0));
    l.tokens_per_minute = a.tokens_per_minute.value_or(d.tokens_per_minute.value_or(0));
    l.max_concurrent_requests =
        a.max_concurrent_requests.value_or(d.max_concurrent_requests.value_or(0));
    l.max_context_tokens = a.max_context_tokens.value_or(d.max_context_tokens.value_or(0));
    l.max_tokens = a.max_tokens.value_or(d.max_tokens.value_or(0));
    l.quota_tokens = a.quota_tokens.value_or(d.quota_tokens.value_or(0));
    l.quota_period = a.quota_period.value_or(d.quota_period.value_or(QuotaPeriod::Month));
    return l;
}

std::string_view quota_period_name(QuotaPeriod p) {
    return p == QuotaPeriod::Day ? "day" : "month";
}

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

std::string key_id_of(const Sha256Digest& hash) {
    return hash_string(hash).substr(kHashPrefix.size(), 12);
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
        if (key == "default_limits") {
            IG_ASSIGN_OR_RETURN(file.default_limits, read_limits(node, path, key));
            continue;
        }
        if (key != "tenant")
            return make_error(
                "{}:{}: '{}': unknown key (the file holds [default_limits] and [[tenant]] tables)",
                path, node.source().begin.line, key);
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
    if (!file.default_limits.empty()) {
        out += "\n[default_limits]\n";
        append_limits(out, file.default_limits);
    }
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
        if (t.weight != 1.0) out += fmt::format("weight = {}\n", t.weight);
        if (t.priority != 0) out += fmt::format("priority = {}\n", t.priority);
        if (t.admin) out += "admin = true\n";
        if (!t.cache_group.empty()) out += "cache_group = " + quoted(t.cache_group) + "\n";
        if (!t.limits.empty()) {
            out += "[tenant.limits]\n";
            append_limits(out, t.limits);
        }
        if (t.prices)
            out += fmt::format("[tenant.prices]\nprompt = {}\ncached = {}\ncompletion = {}\n",
                               t.prices->prompt, t.prices->cached, t.prices->completion);
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
