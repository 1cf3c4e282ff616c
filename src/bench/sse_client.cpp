#include "bench/sse_client.h"

#include <limits>

// GCC 12 flags Boost 1.74's recycled coroutine frames (allocated with
// ::operator new, freed through awaitable_frame_base::operator delete, which
// hands them back to the same recycling allocator) as a new/delete mismatch
// once it inlines them; the pairing is correct.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace ig {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

Expected<BaseUrl> parse_base_url(std::string_view url) {
    constexpr std::string_view scheme = "http://";
    if (url.substr(0, scheme.size()) != scheme) {
        if (url.substr(0, 8) == "https://")
            return make_error("--base-url {}: https is not supported (use http://)", url);
        return make_error("--base-url {}: expected http://host[:port][/path]", url);
    }
    std::string_view rest = url.substr(scheme.size());
    BaseUrl b;
    const size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    if (slash != std::string_view::npos) b.prefix = std::string(rest.substr(slash));
    while (!b.prefix.empty() && b.prefix.back() == '/') b.prefix.pop_back();
    const size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
        b.host = std::string(authority.substr(0, colon));
        b.port = std::string(authority.substr(colon + 1));
        if (b.port.empty() || b.port.find_first_not_of("0123456789") != std::string::npos ||
            b.port.size() > 5 || std::stoi(b.port) == 0 || std::stoi(b.port) > 65535)
            return make_error("--base-url {}: bad port '{}'", url, b.port);
    } else {
        b.host = std::string(authority);
    }
    if (b.host.empty()) return make_error("--base-url {}: no host", url);
    return b;
}

void SseParser::feed(std::string_view bytes, std::vector<std::string>& events) {
    for (char c : bytes) {
        if (c != '\n') {
            line_ += c;
            continue;
        }
        if (!line_.empty() && line_.back() == '\r') line_.pop_back();
        if (line_.empty()) {  // blank line: the event is complete
            if (has_data_) events.push_back(std::move(data_));
            data_.clear();
            has_data_ = false;
        } else if (line_.rfind("data:", 0) == 0) {
            std::string_view v(line_);
            v.remove_prefix(5);
            if (!v.empty() && v.front() == ' ') v.remove_prefix(1);
            if (has_data_) data_ += '\n';
            data_ += v;
            has_data_ = true;
        }  // other fields (event:, id:, comments) carry nothing we time
        line_.clear();
    }
}

namespace {

struct Call {
    const BaseUrl& base;
    const std::string& target;
    const std::string& body;
    const std::function<void(std::string_view)>& on_data;
    std::chrono::milliseconds idle;
    StreamReply reply;
    std::string error;

    net::awaitable<void> run() {
        auto ex = co_await net::this_coro::executor;
        beast::error_code ec;
        auto fail = [&](const char* what) { error = std::string(what) + ": " + ec.message(); };
        net::ip::tcp::resolver resolver(ex);
        auto endpoints = co_await resolver.async_resolve(
            base.host, base.port, net::redirect_error(net::use_awaitable, ec));
        if (ec) co_return fail("resolve");
        beast::tcp_stream stream(ex);
        stream.expires_after(idle);
        co_await stream.async_connect(endpoints, net::redirect_error(net::use_awaitable, ec));
        if (ec) co_return fail("connect");
        stream.socket().set_option(net::ip::tcp::no_delay(true), ec);

        http::request<http::string_body> req{http::verb::post, base.prefix + target, 11};
        req.set(http::field::host, base.host + ":" + base.port);
        req.set(http::field::content_type, "application/json");
        req.set(http::field::accept, "text/event-stream");
        req.set(http::field::connection, "close");
        if (!base.api_key.empty()) req.set(http::field::authorization, "Bearer " + base.api_key);
        req.body() = body;
        req.prepare_payload();
        stream.expires_after(idle);
        co_await http::async_write(stream, req, net::redirect_error(net::use_awaitable, ec));
        if (ec) co_return fail("send");

        beast::flat_buffer buf;
        http::response_parser<http::buffer_body> parser;
        // Not boost::none: Beast 1.74 compares Content-Length against it and refuses.
        parser.body_limit(std::numeric_limits<std::uint64_t>::max());
        stream.expires_after(idle);
        co_await http::async_read_header(stream, buf, parser,
                                         net::redirect_error(net::use_awaitable, ec));
        if (ec) co_return fail("read header");
        reply.status = static_cast<int>(parser.get().result_int());
        const bool ok = reply.status == 200;
        const bool sse =
            parser.get()[http::field::content_type].find("text/event-stream") != std::string::npos;
        SseParser sse_parser;
        std::vector<std::string> events;
        std::string whole;
        char tmp[16384];
        while (!parser.is_done()) {
            parser.get().body().data = tmp;
            parser.get().body().size = sizeof tmp;
            stream.expires_after(idle);
            co_await http::async_read_some(stream, buf, parser,
                                           net::redirect_error(net::use_awaitable, ec));
            if (ec == http::error::need_buffer) ec = {};
            const size_t n = sizeof tmp - parser.get().body().size;
            if (ok && sse) {
                sse_parser.feed(std::string_view(tmp, n), events);
                for (const std::string& e : events) on_data(e);
                events.clear();
            } else {
                whole.append(tmp, n);
            }
            if (ec == http::error::end_of_stream && parser.is_done()) break;
            if (ec) co_return fail("read body");
        }
        if (ok && sse) {
            sse_parser.feed("\n\n", events);  // a last event without its blank line
            for (const std::string& e : events) on_data(e);
        } else if (ok) {
            on_data(whole);
        } else {
            reply.body = std::move(whole);
        }
        beast::error_code ignored;
        stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
    }
};

}  // namespace

Expected<StreamReply> post_streaming(const BaseUrl& base, const std::string& target,
                                     const std::string& body,
                                     const std::function<void(std::string_view)>& on_data,
                                     std::chrono::milliseconds idle_timeout) {
    Call call{base, target, body, on_data, idle_timeout, {}, {}};
    net::io_context ioc(1);
    std::exception_ptr thrown;
    net::co_spawn(ioc, call.run(), [&](std::exception_ptr e) { thrown = e; });
    ioc.run();
    if (thrown) {
        try {
            std::rethrow_exception(thrown);
        } catch (const std::exception& e) {
            return make_error("{}:{}: {}", base.host, base.port, e.what());
        }
    }
    if (!call.error.empty()) return make_error("{}:{}: {}", base.host, base.port, call.error);
    return std::move(call.reply);
}

}  // namespace ig
