#include "hub/url.h"

#include <cctype>

namespace ig::hub {

namespace {

std::string default_port(std::string_view scheme) {
    return scheme == "https" ? "443" : "80";
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    return true;
}

std::string bracketed(const std::string& host) {
    return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

std::string Url::origin() const {
    return scheme + "://" + bracketed(host) + ":" + port;
}

std::string Url::host_header() const {
    return port == default_port(scheme) ? bracketed(host) : bracketed(host) + ":" + port;
}

std::string Url::str() const {
    return scheme + "://" + host_header() + target;
}

Expected<Url> parse_url(std::string_view s) {
    const size_t sep = s.find("://");
    if (sep == std::string_view::npos) return make_error("'{}' is not a URL (no scheme://)", s);
    Url u;
    for (char c : s.substr(0, sep)) u.scheme += static_cast<char>(std::tolower(c));
    if (u.scheme != "http" && u.scheme != "https")
        return make_error("'{}': only http:// and https:// URLs are supported", s);
    std::string_view rest = s.substr(sep + 3);
    const size_t path_at = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, path_at);
    std::string_view target = path_at == std::string_view::npos ? "" : rest.substr(path_at);
    if (authority.find('@') != std::string_view::npos)
        return make_error("'{}': credentials in URLs are not supported (use HF_TOKEN)", s);
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
        const size_t close = authority.find(']');
        if (close == std::string_view::npos) return make_error("'{}': unclosed '[' in host", s);
        u.host = std::string(authority.substr(1, close - 1));
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return make_error("'{}': bad host", s);
            port = after.substr(1);
        }
    } else {
        const size_t colon = authority.rfind(':');
        u.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    }
    if (u.host.empty()) return make_error("'{}': no host", s);
    if (!port.empty() && (!all_digits(port) || port.size() > 5))
        return make_error("'{}': bad port '{}'", s, port);
    u.port = port.empty() ? default_port(u.scheme) : std::string(port);
    const size_t hash = target.find('#');
    target = target.substr(0, hash);
    u.target = std::string(target);
    if (u.target.empty() || u.target.front() != '/') u.target.insert(u.target.begin(), '/');
    return u;
}

Expected<Url> resolve_location(const Url& base, std::string_view location) {
    if (location.empty()) return make_error("redirect without a Location");
    if (location.find("://") != std::string_view::npos) return parse_url(location);
    if (location.substr(0, 2) == "//") return parse_url(base.scheme + ":" + std::string(location));
    Url u = base;
    std::string_view loc = location.substr(0, location.find('#'));
    if (loc.front() == '/') {
        u.target = std::string(loc);
    } else {
        // Relative to the base path's folder.
        std::string path = base.target.substr(0, base.target.find('?'));
        path = path.substr(0, path.rfind('/') + 1);
        u.target = path + std::string(loc);
    }
    return u;
}

std::string percent_encode(std::string_view s, bool keep_slash) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
            (keep_slash && c == '/')) {
            out += ch;
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

}  // namespace ig::hub
