#include "bench/stub_openai_server.h"

#include <chrono>
#include <sstream>

#include <fmt/format.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "server/sse.h"

namespace ig {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

struct StubOpenAiServer::Impl {
    net::io_context ioc{1};
    tcp::acceptor acceptor{ioc};
    std::atomic<bool> stopping{false};
    std::thread accept_thread;
    struct Conn {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> done;
    };
    std::mutex mu;
    std::list<Conn> conns;

    void reap(bool all) {
        std::list<Conn> finished;
        {
            std::lock_guard lock(mu);
            for (auto it = conns.begin(); it != conns.end();) {
                auto next = std::next(it);
                if (all || it->done->load()) finished.splice(finished.end(), conns, it);
                it = next;
            }
        }
        for (Conn& c : finished) c.thread.join();
    }
};

namespace {

std::string sse_chunk(const nlohmann::json& j) {
    std::string event;
    server::sse::append_json_event(event, j);
    return server::sse::chunk(event);
}

// Serves one connection: one request, then close.
void serve(tcp::socket sock, const StubServerOptions& o, std::atomic<int64_t>& served) {
    beast::error_code ec;
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    http::read(sock, buf, req, ec);
    if (ec) return;
    const auto t0 = Clock::now();
    auto reply = [&](int status, const std::string& type, const std::string& body) {
        const std::string head = fmt::format(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: "
            "close\r\n\r\n",
            status, status == 200 ? "OK" : "Error", type, body.size());
        net::write(sock, net::buffer(head + body), ec);
    };
    const std::string target(req.target());
    const bool chat = target == "/v1/chat/completions";
    if (req.method() != http::verb::post || !(chat || target == "/v1/completions")) {
        reply(404, "application/json", R"({"error":{"message":"not found"}})");
        return;
    }
    auto j = nlohmann::json::parse(req.body(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        reply(400, "application/json", R"({"error":{"message":"bad json"}})");
        return;
    }
    const int64_t n = j.value("max_tokens", static_cast<int64_t>(o.default_max_tokens));
    std::string prompt;
    if (chat && j.contains("messages") && j["messages"].is_array()) {
        for (const auto& m : j["messages"])
            if (m.is_object() && m.contains("content") && m["content"].is_string())
                prompt += m["content"].get<std::string>() + " ";
    } else if (j.contains("prompt") && j["prompt"].is_string()) {
        prompt = j["prompt"].get<std::string>();
    }
    int64_t prompt_tokens = 0;  // words stand in for tokens
    std::istringstream words(prompt);
    for (std::string w; words >> w;) ++prompt_tokens;
    const nlohmann::json usage = {{"prompt_tokens", prompt_tokens},
                                  {"completion_tokens", n},
                                  {"total_tokens", prompt_tokens + n},
                                  {"prompt_tokens_details", {{"cached_tokens", 0}}}};
    const std::string object = chat ? "chat.completion.chunk" : "text_completion";
    auto choice = [&](const std::string& text, bool last) {
        nlohmann::json c = {{"index", 0},
                            {"finish_reason", last ? nlohmann::json("length") : nlohmann::json()}};
        if (chat)
            c["delta"] = {{"content", text}};
        else
            c["text"] = text;
        return nlohmann::json{{"id", "stub"}, {"object", object}, {"choices", {c}}};
    };
    if (!j.value("stream", false)) {
        std::string text;
        for (int64_t i = 0; i < n; ++i) text += " tok";
        std::this_thread::sleep_until(
            t0 + std::chrono::duration<double, std::milli>(o.ttft_ms + o.itl_ms * (n - 1)));
        nlohmann::json body = choice(text, true);
        body["usage"] = usage;
        reply(200, "application/json", body.dump());
        ++served;
        return;
    }
    net::write(sock, net::buffer(server::sse::stream_head(/*keep_alive=*/false)), ec);
    for (int64_t i = 0; i < n && !ec; ++i) {
        std::this_thread::sleep_until(
            t0 + std::chrono::duration<double, std::milli>(o.ttft_ms + o.itl_ms * i));
        net::write(sock, net::buffer(sse_chunk(choice(" tok", i + 1 == n))), ec);
    }
    const bool usage_wanted = j.contains("stream_options") && j["stream_options"].is_object() &&
                              j["stream_options"].value("include_usage", false);
    std::string tail;
    if (usage_wanted) {
        nlohmann::json u{{"id", "stub"}, {"object", object}, {"choices", nlohmann::json::array()}};
        u["usage"] = usage;
        tail += sse_chunk(u);
    }
    tail += server::sse::chunk(server::sse::kDoneEvent);
    tail += server::sse::kLastChunk;
    if (!ec) net::write(sock, net::buffer(tail), ec);
    if (!ec) ++served;
    sock.shutdown(tcp::socket::shutdown_send, ec);
}

}  // namespace

Expected<std::unique_ptr<StubOpenAiServer>> StubOpenAiServer::start(const StubServerOptions& o) {
    if (o.ttft_ms < 0 || o.itl_ms < 0) return make_error("stub latencies must be >= 0");
    std::unique_ptr<StubOpenAiServer> s(new StubOpenAiServer());
    s->o_ = o;
    s->impl_ = std::make_unique<Impl>();
    Impl& im = *s->impl_;
    beast::error_code ec;
    const auto addr = net::ip::make_address(o.host, ec);
    if (ec) return make_error("stub server: bad host {}: {}", o.host, ec.message());
    const tcp::endpoint ep(addr, o.port);
    im.acceptor.open(ep.protocol(), ec);
    if (!ec) im.acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) im.acceptor.bind(ep, ec);
    if (!ec) im.acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
        return make_error("stub server: cannot listen on {}:{}: {}", o.host, o.port, ec.message());
    s->port_ = im.acceptor.local_endpoint().port();
    StubOpenAiServer* self = s.get();
    im.accept_thread = std::thread([self] {
        Impl& im = *self->impl_;
        while (!im.stopping.load()) {
            beast::error_code aec;
            tcp::socket sock(im.ioc);
            im.acceptor.accept(sock, aec);
            if (im.stopping.load()) break;
            if (aec) continue;
            auto done = std::make_shared<std::atomic<bool>>(false);
            std::thread t([self, done, sock = std::move(sock)]() mutable {
                try {
                    serve(std::move(sock), self->o_, self->served_);
                } catch (const std::exception&) {
                    // A field of the wrong JSON type: the connection just closes.
                }
                done->store(true);
            });
            {
                std::lock_guard lock(im.mu);
                im.conns.push_back({std::move(t), done});
            }
            im.reap(false);
        }
    });
    return s;
}

void StubOpenAiServer::stop() {
    if (!impl_ || impl_->stopping.exchange(true)) return;
    // Wake the blocking accept with a connection of our own.
    beast::error_code ec;
    tcp::socket wake(impl_->ioc);
    wake.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ec);
    if (impl_->accept_thread.joinable()) impl_->accept_thread.join();
    impl_->reap(true);
    impl_->acceptor.close(ec);
}

StubOpenAiServer::~StubOpenAiServer() {
    stop();
}

}  // namespace ig
