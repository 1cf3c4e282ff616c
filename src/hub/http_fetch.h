#pragma once
// A small synchronous HTTP/1.1 GET client (Boost.Beast, OpenSSL) for the hub:
// one connection per request, redirects followed up to a limit, the body
// streamed to a callback, and every network step under a deadline so a dead
// server is an error, never a hang. HTTPS verifies the certificate chain
// (system store, SSL_CERT_FILE, or --ca-file) and the host name, with SNI.
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "util/expected.h"

namespace ig::hub {

struct HttpOptions {
    std::chrono::milliseconds connect_timeout{15000};  // DNS, TCP connect, TLS handshake
    std::chrono::milliseconds read_timeout{30000};     // no byte for this long: give up
    int max_redirects = 10;
    std::string ca_file;  // extra trusted CA certificates (PEM)
    std::string user_agent = "infergrid/0.1";
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
    int status = 0;
    std::string reason;
    std::map<std::string, std::string> headers;  // names in lower case
    std::string url;                             // the URL that answered (after redirects)
    std::string error_body;                      // the start of a non-2xx body

    std::string header(const std::string& lower_name) const;
    bool success() const { return status >= 200 && status < 300; }
};

// The body of a 2xx answer: begin() once the headers are read (an error
// aborts the transfer), then data() for each piece as it arrives.
struct BodyHandler {
    std::function<Status(const HttpResponse&)> begin;
    std::function<Status(const char* data, size_t n)> data;
};

class HttpClient {
  public:
    // Fails when the CA file cannot be read.
    static Expected<std::unique_ptr<HttpClient>> create(HttpOptions opt);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // GET, following redirects. `bearer` is sent as Authorization only to
    // the origin of `url`, never to a host a redirect leads to; a redirect
    // from https to http is refused. Non-2xx answers are returned (with
    // error_body), not errors; network and TLS failures are ErrorCode::Io.
    Expected<HttpResponse> get(const std::string& url, const HttpHeaders& headers,
                               const std::string& bearer, const BodyHandler& body);
    // The same, with the body collected into `out` (at most max_bytes).
    Expected<HttpResponse> get_text(const std::string& url, const std::string& bearer,
                                    std::string& out, size_t max_bytes);

  private:
    struct Impl;
    explicit HttpClient(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace ig::hub
