#include "server/http_server.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>

#include "server/api_error.h"
#include "server/router.h"
#include "server/sse.h"

namespace ig::server {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

namespace {

// Bytes read ahead while a response is generated (pipelined requests) before
// the connection stops reading: bounds memory per connection.
constexpr size_t kMaxReadAhead = 64 << 10;
// After an error response with `Connection: close`, unread request bytes are
// discarded for a while so the client sees the response instead of a reset.
constexpr int64_t kMaxLingerBytes = 64 << 20;
constexpr std::chrono::seconds kLingerTime{2};
// How long a connection over --max-connections may take to send its request.
constexpr std::chrono::milliseconds kOverCapWait{2000};

// What a request's headers alone make unacceptable (RFC 9112): a transfer
// coding other than chunked (the body's end would be guessed), an HTTP/1.1
// request without Host, an expectation other than 100-continue.
std::optional<ApiError> header_error(const http::request_header<>& h) {
    auto bad = [](int status, std::string message) {
        ApiError e;
        e.status = status;
        e.message = std::move(message);
        e.code = "bad_http_request";
        return e;
    };
    const auto te = h[http::field::transfer_encoding];
    if (!te.empty() && !beast::iequals(te, "chunked"))
        return bad(400, fmt::format("Transfer-Encoding '{}' is not supported (only chunked)",
                                    std::string(te)));
    if (h.version() >= 11 && h.find(http::field::host) == h.end())
        return bad(400, "an HTTP/1.1 request needs a Host header");
    const auto expect = h[http::field::expect];
    if (!expect.empty() && !beast::iequals(expect, "100-continue"))
        return bad(417, fmt::format("Expect '{}' is not supported", std::string(expect)));
    return std::nullopt;
}

// Whether the header block at the start of `bytes` (up to its blank line, or
// all of it while incomplete) folds a line (obs-fold: CRLF then SP or HTAB).
// RFC 9112 lets a server unfold it, as Beast does, or refuse it; refused,
// because a proxy in front may split the same bytes differently.
bool has_obs_fold(std::string_view bytes) {
    const size_t end = bytes.find("\r\n\r\n");
    const std::string_view head = bytes.substr(0, end == std::string_view::npos ? end : end + 2);
    for (size_t i = head.find("\r\n"); i != std::string_view::npos; i = head.find("\r\n", i + 2))
        if (i + 2 < head.size() && (head[i + 2] == ' ' || head[i + 2] == '\t')) return true;
    return false;
}

}  // namespace

// Sessions point at this; it outlives them: they are destroyed with the
// io_context's pending handlers, and so everything they touch is declared
// before `ioc`.
struct HttpServer::Impl {
    ServerConfig cfg;
    Handler handler;
    std::atomic<int64_t> connections{0};
    std::atomic<bool> draining{false};
    std::atomic<bool> stopped{false};
    uint16_t port = 0;
    net::io_context ioc;
    std::optional<tcp::acceptor> acceptor;
    net::steady_timer accept_retry{ioc};
    std::vector<std::thread> threads;

    void accept();
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
  public:
    Session(tcp::socket&& s, HttpServer::Impl* srv)
        : stream_(std::move(s)), deadline_(stream_.get_executor()), srv_(srv) {
        srv_->connections.fetch_add(1);
    }
    ~Session() {
        if (job_) job_->cancel();
        srv_->connections.fetch_sub(1);
    }

    void run() {
        net::dispatch(stream_.get_executor(),
                      [self = shared_from_this()] { self->wait_request(); });
    }

    // Over the connection cap: one request is read, then the connection
    // closes. GET /health is answered (liveness must not depend on load: a
    // probe that saw 503 would restart a healthy server); the rest get 503.
    void reject() {
        net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
            self->over_cap_ = true;
            self->wait_request();
        });
    }

  private:
    const HttpLimits& limits() const { return srv_->cfg.limits; }

    // Idle keep-alive wait: the first byte of the next request.
    void wait_request() {
        if (closed_) return;
        if (buffer_.size() > 0) return read_request();
        stream_.expires_after(
            over_cap_ ? std::min<std::chrono::milliseconds>(limits().idle_timeout, kOverCapWait)
                      : limits().idle_timeout);
        stream_.async_read_some(buffer_.prepare(1024),
                                [self = shared_from_this()](beast::error_code ec, size_t n) {
                                    if (ec) return self->close();
                                    self->buffer_.commit(n);
                                    self->read_request();
                                });
    }

    void read_request() {
        parser_.emplace();
        parser_->header_limit(static_cast<uint32_t>(limits().max_header_bytes));
        parser_->body_limit(static_cast<uint64_t>(limits().max_body_bytes));
        // The deadline cancels the read instead of closing the socket (as the
        // stream's own timeout would), so that the 408 can still be sent.
        stream_.expires_never();
        timed_out_ = false;
        reading_ = true;
        deadline_.expires_after(
            over_cap_ ? std::min<std::chrono::milliseconds>(limits().request_timeout, kOverCapWait)
                      : limits().request_timeout);
        deadline_.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (ec || !self->reading_) return;
            self->timed_out_ = true;
            beast::error_code ignored;
            self->stream_.socket().cancel(ignored);
        });
        parse_header();
    }

    // Feeds the parser from buffer_ until the headers are in (Beast's
    // async_read_header, but the raw header bytes are checked first).
    void parse_header() {
        if (buffer_.size() > 0) {
            const auto data = buffer_.data();
            if (has_obs_fold({static_cast<const char*>(data.data()), data.size()})) {
                ApiError e;
                e.status = 400;
                e.message = "obsolete line folding in the request headers is not accepted";
                e.code = "bad_http_request";
                return refuse_header(e);
            }
            beast::error_code ec;
            try {
                buffer_.consume(parser_->put(data, ec));
            } catch (const std::length_error&) {
                // Beast stores a field in at most 64 KiB and throws on a
                // longer one, whatever --max-header-bytes allows.
                ApiError e;
                e.status = 431;
                e.message = "a request header field exceeds 65535 bytes";
                e.code = "headers_too_large";
                return refuse_header(e);
            }
            if (!ec && parser_->is_header_done()) return on_header({});
            if (ec && ec != http::error::need_more) return end_read(ec);
        }
        const size_t room = std::max<size_t>(
            1024, std::min<size_t>(static_cast<size_t>(limits().max_header_bytes), 64 << 10));
        stream_.async_read_some(buffer_.prepare(room),
                                [self = shared_from_this()](beast::error_code ec, size_t n) {
                                    if (ec) {
                                        // Bytes that ended before the headers: Beast's own error.
                                        if (ec == net::error::eof && self->buffer_.size() > 0)
                                            ec = http::error::partial_message;
                                        else if (ec == net::error::eof)
                                            ec = http::error::end_of_stream;
                                        return self->end_read(ec);
                                    }
                                    self->buffer_.commit(n);
                                    self->parse_header();
                                });
    }

    // A request its headers make unacceptable: answered, then the connection
    // closes (the body's framing is unknown).
    void refuse_header(const ApiError& e) {
        reading_ = false;
        deadline_.cancel();
        keep_alive_ = false;
        send_full(error_response(e, 11, srv_->cfg.retry_after_seconds));
    }

    // Headers are in: refuse what RFC 9112 says to refuse before reading a
    // body, and answer `Expect: 100-continue`, then read the body.
    void on_header(beast::error_code ec) {
        if (ec) return end_read(ec);
        if (auto e = header_error(parser_->get())) return refuse_header(*e);
        if (parser_->is_done()) return end_read({});  // no body
        if (!parser_->get()[http::field::expect].empty()) {
            static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
            return net::async_write(stream_, net::buffer(kContinue),
                                    [self = shared_from_this()](beast::error_code ec, size_t) {
                                        if (ec) return self->end_read(ec);
                                        self->read_body();
                                    });
        }
        read_body();
    }

    void read_body() {
        http::async_read(
            stream_, buffer_, *parser_,
            [self = shared_from_this()](beast::error_code ec, size_t) { self->end_read(ec); });
    }

    void end_read(beast::error_code ec) {
        reading_ = false;
        deadline_.cancel();
        if (timed_out_) ec = beast::error::timeout;
        on_read(ec);
    }

    void on_read(beast::error_code ec) {
        if (ec == http::error::end_of_stream || ec == net::error::eof ||
            ec == net::error::connection_reset || ec == net::error::operation_aborted)
            return close();
        if (ec) {
            ApiError e;
            if (ec == beast::error::timeout) {
                e.status = 408;
                e.message = fmt::format("request not received within {} ms",
                                        limits().request_timeout.count());
                e.code = "request_timeout";
            } else if (ec == http::error::body_limit) {
                e.status = 413;
                e.message = fmt::format("request body exceeds the limit of {} bytes",
                                        limits().max_body_bytes);
                e.code = "request_too_large";
            } else if (ec == http::error::header_limit) {
                e.status = 431;
                e.message = fmt::format("request headers exceed the limit of {} bytes",
                                        limits().max_header_bytes);
                e.code = "headers_too_large";
            } else {
                e.status = 400;
                e.message = fmt::format("malformed HTTP request: {}", ec.message());
                e.code = "bad_http_request";
            }
            keep_alive_ = false;
            return send_full(error_response(e, 11, srv_->cfg.retry_after_seconds));
        }
        HttpRequest req = parser_->release();
        parser_.reset();
        keep_alive_ = req.keep_alive() && !srv_->draining.load() && !over_cap_;
        version_ = req.version();
        if (over_cap_ && !(req.method() == http::verb::get &&
                           path_of({req.target().data(), req.target().size()}) == "/health")) {
            ApiError e;
            e.status = 503;
            e.type = "service_unavailable";
            e.code = "too_many_connections";
            e.message = "too many open connections";
            return send_full(error_response(e, version_, srv_->cfg.retry_after_seconds));
        }
        Reply r;
        try {
            r = srv_->handler(std::move(req));
        } catch (const std::exception& ex) {
            // A bug, not the client's fault: answer 500 and keep the IO thread alive.
            ApiError e;
            e.status = 500;
            e.type = "server_error";
            e.code = "internal_error";
            e.message = fmt::format("internal error: {}", ex.what());
            r = Reply{error_response(e, version_, srv_->cfg.retry_after_seconds), nullptr};
        }
        if (r.job) return start_job(std::move(r.job));
        if (!r.response) {
            ApiError e;
            e.status = 500;
            e.type = "server_error";
            e.message = "handler produced no response";
            r.response = error_response(e, version_, srv_->cfg.retry_after_seconds);
        }
        send_full(std::move(*r.response));
    }

    void send_full(HttpResponse res) {
        if (srv_->draining.load()) keep_alive_ = false;
        res.keep_alive(keep_alive_);
        res.prepare_payload();
        res_ = std::make_shared<HttpResponse>(std::move(res));
        writing_ = true;
        stream_.expires_after(limits().request_timeout);
        http::async_write(stream_, *res_,
                          [self = shared_from_this()](beast::error_code ec, size_t) {
                              self->writing_ = false;
                              self->res_.reset();
                              if (ec) return self->close();
                              self->after_response();
                          });
    }

    // A response is complete: next request, or close.
    void after_response() {
        job_.reset();
        if (!keep_alive_) return linger_close();
        if (watching_) {
            // on_watch resumes with wait_request() once the read is cancelled.
            stream_.socket().cancel();
            return;
        }
        wait_request();
    }

    void start_job(std::shared_ptr<AsyncJob> job) {
        job_ = std::move(job);
        job_done_ = false;
        watch();
        std::weak_ptr<Session> weak = weak_from_this();
        auto ex = stream_.get_executor();
        job_->start([weak, ex, flag = wake_pending_] {
            if (flag->exchange(true)) return;  // a pump is already queued
            net::post(ex, [weak] {
                if (auto self = weak.lock()) self->pump();
            });
        });
        pump();
    }

    // Keeps a read pending while the job runs: EOF or an error means the
    // client is gone and generation stops.
    void watch() {
        if (watching_ || closed_) return;
        watching_ = true;
        stream_.expires_never();
        stream_.async_read_some(
            buffer_.prepare(1024),
            [self = shared_from_this()](beast::error_code ec, size_t n) { self->on_watch(ec, n); });
    }

    void on_watch(beast::error_code ec, size_t n) {
        watching_ = false;
        if (!ec) {
            buffer_.commit(n);
            if (job_ && buffer_.size() < kMaxReadAhead) return watch();
            if (!job_ && !writing_) return wait_request();
            return;
        }
        if (ec == net::error::operation_aborted && !job_ && !closed_) return wait_request();
        // The client closed or reset the connection.
        if (job_) {
            job_->cancel();
            job_.reset();
        }
        close();
    }

    void pump() {
        wake_pending_->store(false);
        if (!job_ || writing_ || job_done_ || closed_) return;
        JobOutput out = job_->poll();
        if (out.empty()) return;
        if (out.full) {
            job_done_ = true;
            return send_full(std::move(*out.full));
        }
        out_.clear();
        if (out.start_stream) {
            if (srv_->draining.load()) keep_alive_ = false;
            out_ = sse::stream_head(keep_alive_, out.stream_headers);
        }
        if (!out.chunk.empty()) out_ += sse::chunk(out.chunk);
        if (out.end_stream) {
            out_ += sse::kLastChunk;
            job_done_ = true;
        }
        writing_ = true;
        stream_.expires_after(limits().request_timeout);
        net::async_write(stream_, net::buffer(out_),
                         [self = shared_from_this()](beast::error_code ec, size_t) {
                             self->writing_ = false;
                             if (ec) {
                                 if (self->job_) self->job_->cancel();
                                 self->job_.reset();
                                 return self->close();
                             }
                             if (self->job_done_) return self->after_response();
                             self->pump();
                         });
    }

    // Half-close, then discard what the client still sends for a while, so
    // that it reads our response rather than a connection reset.
    void linger_close() {
        if (closed_) return;
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
        if (watching_) {
            stream_.socket().cancel();
            watching_ = false;
        }
        linger_deadline_ = std::chrono::steady_clock::now() + kLingerTime;
        linger_read();
    }

    void linger_read() {
        auto left = linger_deadline_ - std::chrono::steady_clock::now();
        if (left <= std::chrono::steady_clock::duration::zero() || lingered_ > kMaxLingerBytes)
            return close();
        buffer_.consume(buffer_.size());
        stream_.expires_after(std::chrono::duration_cast<std::chrono::milliseconds>(left));
        stream_.async_read_some(buffer_.prepare(16 << 10),
                                [self = shared_from_this()](beast::error_code ec, size_t n) {
                                    if (ec) return self->close();
                                    self->lingered_ += static_cast<int64_t>(n);
                                    self->linger_read();
                                });
    }

    void close() {
        if (closed_) return;
        closed_ = true;
        deadline_.cancel();
        if (job_) {
            job_->cancel();
            job_.reset();
        }
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        stream_.close();
    }

    beast::tcp_stream stream_;
    net::steady_timer deadline_;  // request_timeout while a request is read
    HttpServer::Impl* srv_;
    beast::flat_buffer buffer_;
    bool over_cap_ = false;  // opened over --max-connections: one request, then close
    std::optional<http::request_parser<http::string_body>> parser_;
    std::shared_ptr<HttpResponse> res_;
    std::shared_ptr<AsyncJob> job_;
    std::shared_ptr<std::atomic<bool>> wake_pending_ = std::make_shared<std::atomic<bool>>(false);
    std::string out_;
    unsigned version_ = 11;
    bool keep_alive_ = true;
    bool writing_ = false;
    bool watching_ = false;
    bool job_done_ = false;
    bool closed_ = false;
    bool reading_ = false;
    bool timed_out_ = false;
    std::chrono::steady_clock::time_point linger_deadline_;
    int64_t lingered_ = 0;
};

}  // namespace

void HttpServer::Impl::accept() {
    acceptor->async_accept(net::make_strand(ioc),
                           [self = this](beast::error_code ec, tcp::socket s) {
                               if (self->stopped.load()) return;
                               if (ec) {
                                   if (ec == net::error::operation_aborted) return;
                                   // Out of descriptors and the like: back off instead of spinning.
                                   self->accept_retry.expires_after(std::chrono::milliseconds(50));
                                   self->accept_retry.async_wait([self](beast::error_code e) {
                                       if (!e) self->accept();
                                   });
                                   return;
                               }
                               s.set_option(tcp::no_delay(true), ec);
                               auto session = std::make_shared<Session>(std::move(s), self);
                               if (self->connections.load() > self->cfg.limits.max_connections)
                                   session->reject();
                               else
                                   session->run();
                               self->accept();
                           });
}

HttpServer::HttpServer(ServerConfig cfg, Handler handler) : impl_(std::make_unique<Impl>()) {
    impl_->cfg = std::move(cfg);
    impl_->handler = std::move(handler);
}

HttpServer::~HttpServer() {
    stop();
}

Status HttpServer::start() {
    beast::error_code ec;
    auto addr = net::ip::make_address(impl_->cfg.host, ec);
    if (ec) return make_error("invalid --host '{}': {}", impl_->cfg.host, ec.message());
    tcp::endpoint ep{addr, impl_->cfg.port};
    auto& acc = impl_->acceptor.emplace(impl_->ioc);
    acc.open(ep.protocol(), ec);
    if (!ec) acc.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acc.bind(ep, ec);
    if (!ec) acc.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
        return make_error(ErrorCode::Io, "cannot listen on {}:{}: {}", impl_->cfg.host,
                          impl_->cfg.port, ec.message());
    impl_->port = acc.local_endpoint().port();
    impl_->accept();
    const int n = std::max(1, impl_->cfg.io_threads);
    for (int i = 0; i < n; ++i)
        impl_->threads.emplace_back([impl = impl_.get()] { impl->ioc.run(); });
    return {};
}

void HttpServer::stop() {
    if (impl_->stopped.exchange(true)) return;
    impl_->ioc.stop();
    for (auto& t : impl_->threads)
        if (t.joinable()) t.join();
    impl_->threads.clear();
    beast::error_code ec;
    if (impl_->acceptor) impl_->acceptor->close(ec);
    // The sessions go with the io_context's pending handlers when impl_ is
    // destroyed.
}

uint16_t HttpServer::port() const {
    return impl_->port;
}

void HttpServer::set_draining(bool on) {
    impl_->draining.store(on);
}

int64_t HttpServer::open_connections() const {
    return impl_->connections.load();
}

}  // namespace ig::server
