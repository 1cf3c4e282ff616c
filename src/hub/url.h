#pragma once
// Absolute http(s) URLs as the hub client needs them: parsed into the parts
// a connection uses, Location headers resolved against the URL they answer,
// and percent-encoding of repo paths and revisions.
#include <string>
#include <string_view>

#include "util/expected.h"

namespace ig::hub {

struct Url {
    std::string scheme;  // "http" or "https"
    std::string host;    // a name or an IP address (IPv6 without brackets)
    std::string port;    // as given, or the scheme's default
    std::string target;  // path and query, at least "/"

    bool tls() const { return scheme == "https"; }
    // scheme://host:port: the Authorization header goes to one origin only.
    std::string origin() const;
    // The Host header: host, with :port when not the scheme's default.
    std::string host_header() const;
    std::string str() const;
};

Expected<Url> parse_url(std::string_view s);

// A Location header (absolute, scheme-relative "//host/..", or a path) as a
// URL; the fragment is dropped.
Expected<Url> resolve_location(const Url& base, std::string_view location);

// RFC 3986 unreserved characters stay, everything else becomes %XX; with
// keep_slash, '/' stays too (file paths in a repo).
std::string percent_encode(std::string_view s, bool keep_slash);

}  // namespace ig::hub
