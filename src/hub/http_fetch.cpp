#include "hub/http_fetch.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <array>
#include <limits>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "hub/url.h"

namespace ig::hub {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

constexpr size_t kErrorBodyBytes = 64 << 10;
constexpr size_t kChunkBytes = 64 << 10;

bool is_ip_address(const std::string& host) {
    beast::error_code ec;
    net::ip::make_address(host, ec);
    return !ec;
}

// Runs the io_context until the one pending operation started by `start`
// completes; every operation carries its own deadline (tcp_stream's).
template <class Start>
beast::error_code run_one(net::io_context& ioc, Start&& start) {
    beast::error_code result = net::error::would_block;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
}

// One connection to one origin: plain TCP or TLS over it.
class Connection {
  public:
    Connection(net::io_context& ioc, ssl::context& ctx, const Url& url, const HttpOptions& opt)
        : ioc_(ioc), url_(url), opt_(opt) {
        if (url.tls())
            tls_.emplace(ioc, ctx);
        else
            plain_.emplace(ioc);
    }

    beast::tcp_stream& tcp() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }

    template <class F>
    auto with_stream(F&& f) {
        if (tls_) return f(*tls_);
        return f(*plain_);
    }

    Status open() {
        const std::string where = url_.host + ":" + url_.port;
        // Name resolution has no deadline of its own: cancel it from outside.
        tcp::resolver resolver(ioc_);
        tcp::resolver::results_type endpoints;
        beast::error_code ec = net::error::would_block;
        resolver.async_resolve(url_.host, url_.port,
                               [&](beast::error_code e, tcp::resolver::results_type r) {
                                   ec = e;
                                   endpoints = std::move(r);
                               });
        ioc_.restart();
        ioc_.run_for(opt_.connect_timeout);
        if (ec == net::error::would_block) {
            resolver.cancel();
            ioc_.restart();
            ioc_.run();
            return make_error(ErrorCode::Io, "resolving {}: timed out after {} ms", url_.host,
                              opt_.connect_timeout.count());
        }
        if (ec) return make_error(ErrorCode::Io, "resolving {}: {}", url_.host, ec.message());
        tcp().expires_after(opt_.connect_timeout);
        ec = run_one(ioc_, [&](auto h) { tcp().async_connect(endpoints, std::move(h)); });
        if (ec == beast::error::timeout)
            return make_error(ErrorCode::Io, "connecting to {}: timed out after {} ms", where,
                              opt_.connect_timeout.count());
        if (ec) return make_error(ErrorCode::Io, "connecting to {}: {}", where, ec.message());
        if (!tls_) return {};
        SSL* s = tls_->native_handle();
        // SNI carries names only (RFC 6066); the certificate must name the
        // host we asked for, as a DNS name or an IP address.
        X509_VERIFY_PARAM* param = SSL_get0_param(s);
        if (is_ip_address(url_.host)) {
            X509_VERIFY_PARAM_set1_ip_asc(param, url_.host.c_str());
        } else {
            SSL_set_tlsext_host_name(s, url_.host.c_str());
            X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            X509_VERIFY_PARAM_set1_host(param, url_.host.c_str(), 0);
        }
        tcp().expires_after(opt_.connect_timeout);
        ec = run_one(
            ioc_, [&](auto h) { tls_->async_handshake(ssl::stream_base::client, std::move(h)); });
        if (ec) {
            const long verify = SSL_get_verify_result(s);
            if (verify != X509_V_OK)
                return make_error(ErrorCode::Io,
                                  "TLS handshake with {}: certificate verification failed: {}",
                                  where, X509_verify_cert_error_string(verify));
            if (ec == beast::error::timeout)
                return make_error(ErrorCode::Io, "TLS handshake with {}: timed out", where);
            return make_error(ErrorCode::Io, "TLS handshake with {}: {}", where, ec.message());
        }
        return {};
    }

    Status write(const http::request<http::empty_body>& req) {
        tcp().expires_after(opt_.read_timeout);
        auto ec = with_stream([&](auto& s) {
            return run_one(ioc_, [&](auto h) { http::async_write(s, req, std::move(h)); });
        });
        if (ec) return io_error("sending the request", ec);
        return {};
    }

    Status read_header(http::response_parser<http::buffer_body>& p) {
        tcp().expires_after(opt_.read_timeout);
        auto ec = with_stream([&](auto& s) {
            return run_one(ioc_,
                           [&](auto h) { http::async_read_header(s, buf_, p, std::move(h)); });
        });
        if (ec) return io_error("reading the response", ec);
        return {};
    }

    // Reads what arrives into `chunk`, the byte count in `*n`.
    Status read_some(http::response_parser<http::buffer_body>& p, char* chunk, size_t size,
                     size_t* n) {
        p.get().body().data = chunk;
        p.get().body().size = size;
        tcp().expires_after(opt_.read_timeout);
        auto ec = with_stream([&](auto& s) {
            return run_one(ioc_, [&](auto h) { http::async_read_some(s, buf_, p, std::move(h)); });
        });
        *n = size - p.get().body().size;
        if (ec == http::error::need_buffer) ec = {};
        if (ec) return io_error("reading the body", ec);
        return {};
    }

  private:
    Error io_error(const char* what, beast::error_code ec) const {
        if (ec == beast::error::timeout)
            return make_error(ErrorCode::Io, "{} from {}: no data for {} ms", what, url_.origin(),
                              opt_.read_timeout.count());
        if (ec == http::error::partial_message || ec == http::error::end_of_stream ||
            ec == net::error::eof || ec == ssl::error::stream_truncated)
            return make_error(ErrorCode::Io, "{} from {}: the connection closed early", what,
                              url_.origin());
        return make_error(ErrorCode::Io, "{} from {}: {}", what, url_.origin(), ec.message());
    }

    net::io_context& ioc_;
    Url url_;
    const HttpOptions& opt_;
    std::optional<beast::tcp_stream> plain_;
    std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
    beast::flat_buffer buf_;
};

}  // namespace

std::string HttpResponse::header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
}

struct HttpClient::Impl {
    HttpOptions opt;
    net::io_context ioc;
    ssl::context ctx{ssl::context::tls_client};
};

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

Expected<std::unique_ptr<HttpClient>> HttpClient::create(HttpOptions opt) {
    auto impl = std::make_unique<Impl>();
    impl->opt = std::move(opt);
    beast::error_code ec;
    // The system store; OpenSSL also reads SSL_CERT_FILE / SSL_CERT_DIR here.
    impl->ctx.set_default_verify_paths(ec);
    if (!impl->opt.ca_file.empty()) {
        impl->ctx.load_verify_file(impl->opt.ca_file, ec);
        if (ec) return make_error(ErrorCode::Io, "CA file {}: {}", impl->opt.ca_file, ec.message());
    }
    impl->ctx.set_verify_mode(ssl::verify_peer);
    return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

Expected<HttpResponse> HttpClient::get(const std::string& url, const HttpHeaders& headers,
                                       const std::string& bearer, const BodyHandler& body) {
    Url cur;
    IG_ASSIGN_OR_RETURN(cur, parse_url(url));
    const std::string auth_origin = cur.origin();
    for (int hop = 0;; ++hop) {
        http::request<http::empty_body> req{http::verb::get, cur.target, 11};
        req.set(http::field::host, cur.host_header());
        req.set(http::field::user_agent, impl_->opt.user_agent);
        req.set(http::field::accept_encoding, "identity");
        req.set(http::field::connection, "close");
        for (const auto& [k, v] : headers) req.set(k, v);
        if (!bearer.empty() && cur.origin() == auth_origin)
            req.set(http::field::authorization, "Bearer " + bearer);

        Connection conn(impl_->ioc, impl_->ctx, cur, impl_->opt);
        IG_TRY(conn.open());
        IG_TRY(conn.write(req));
        http::response_parser<http::buffer_body> p;
        p.header_limit(64 << 10);  // signed CDN redirect URLs are long
        p.body_limit(std::numeric_limits<std::uint64_t>::max());
        IG_TRY(conn.read_header(p));

        HttpResponse r;
        r.status = static_cast<int>(p.get().result_int());
        r.reason = std::string(p.get().reason());
        r.url = cur.str();
        for (const auto& f : p.get()) {
            std::string name(f.name_string());
            for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            r.headers[name] = std::string(f.value());
        }
        const bool redirect = r.status == 301 || r.status == 302 || r.status == 303 ||
                              r.status == 307 || r.status == 308;
        if (redirect) {
            if (hop >= impl_->opt.max_redirects)
                return make_error(ErrorCode::Io, "GET {}: more than {} redirects", url,
                                  impl_->opt.max_redirects);
            Url next;
            IG_ASSIGN_OR_RETURN(next, resolve_location(cur, r.header("location")));
            if (cur.tls() && !next.tls())
                return make_error(ErrorCode::Io, "GET {}: refusing a redirect from https to {}",
                                  url, next.str());
            cur = std::move(next);
            continue;
        }
        std::array<char, kChunkBytes> chunk;
        if (!r.success()) {
            while (!p.is_done() && r.error_body.size() < kErrorBodyBytes) {
                size_t n = 0;
                if (!conn.read_some(p, chunk.data(), chunk.size(), &n).ok()) break;
                r.error_body.append(chunk.data(), std::min(n, kErrorBodyBytes));
            }
            return r;
        }
        if (body.begin) IG_TRY(body.begin(r));
        while (!p.is_done()) {
            size_t n = 0;
            IG_TRY(conn.read_some(p, chunk.data(), chunk.size(), &n));
            if (n > 0 && body.data) IG_TRY(body.data(chunk.data(), n));
        }
        return r;
    }
}

Expected<HttpResponse> HttpClient::get_text(const std::string& url, const std::string& bearer,
                                            std::string& out, size_t max_bytes) {
    out.clear();
    BodyHandler body;
    body.data = [&](const char* d, size_t n) -> Status {
        if (out.size() + n > max_bytes)
            return make_error(ErrorCode::Io, "GET {}: answer larger than {} bytes", url, max_bytes);
        out.append(d, n);
        return {};
    };
    return get(url, {}, bearer, body);
}

}  // namespace ig::hub
