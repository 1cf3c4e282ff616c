#pragma once
// A raw-socket HTTP/1.1 client for the server tests: it sends exactly the
// bytes a test gives (broken requests included) and parses what comes back,
// de-chunking SSE streams.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ig::test {

struct HttpReply {
    int status = 0;                              // 0: no (complete) response
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;                            // de-chunked
    nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
    // `data:` payloads of an SSE body, in order.
    std::vector<std::string> sse_data() const {
        std::vector<std::string> out;
        size_t pos = 0;
        while ((pos = body.find("data: ", pos)) != std::string::npos) {
            const size_t end = body.find("\n\n", pos);
            if (end == std::string::npos) break;
            out.push_back(body.substr(pos + 6, end - pos - 6));
            pos = end + 2;
        }
        return out;
    }
};

class Conn {
  public:
    explicit Conn(uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            ::close(fd_);
            fd_ = -1;
        }
        int one = 1;
        if (fd_ >= 0) setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    ~Conn() { close(); }
    Conn(const Conn&) = delete;
    Conn& operator=(const Conn&) = delete;

    bool ok() const { return fd_ >= 0; }
    int fd() const { return fd_; }
    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    // Closes with a reset (SO_LINGER 0), as a killed client does.
    void abort() {
        if (fd_ < 0) return;
        linger l{1, 0};
        setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        close();
    }

    bool send(std::string_view data) {
        while (!data.empty()) {
            const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;
            data.remove_prefix(static_cast<size_t>(n));
        }
        return true;
    }

    // Reads what arrives within `timeout` (until EOF or until `done` says
    // the buffer holds a whole response); appends to buf_.
    template <class Done>
    bool read_until(Done done, std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        char tmp[16384];
        while (!done(buf_)) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return false;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
            const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
            if (n <= 0) {
                eof_ = true;
                return done(buf_);
            }
            buf_.append(tmp, static_cast<size_t>(n));
        }
        return true;
    }

    // Reads one complete response (Content-Length, chunked, or to EOF).
    HttpReply read_response(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
        HttpReply r;
        size_t consumed = 0;
        auto complete = [&](const std::string& b) { return parse(b, r, consumed) || eof_; };
        read_until(complete, timeout);
        if (!parse(buf_, r, consumed)) {
            if (eof_ && r.status != 0) {
                consumed = buf_.size();
            } else {
                r.status = 0;
                return r;
            }
        }
        buf_.erase(0, consumed);
        return r;
    }

    bool eof() const { return eof_; }
    std::string& buffer() { return buf_; }

    // Parses a complete response at the start of b; false if incomplete.
    static bool parse(const std::string& b, HttpReply& r, size_t& consumed) {
        const size_t he = b.find("\r\n\r\n");
        if (he == std::string::npos) return false;
        r = HttpReply{};
        if (b.compare(0, 9, "HTTP/1.1 ") != 0 && b.compare(0, 9, "HTTP/1.0 ") != 0) return false;
        r.status = std::atoi(b.c_str() + 9);
        size_t pos = b.find("\r\n") + 2;
        while (pos < he) {
            const size_t e = b.find("\r\n", pos);
            const std::string line = b.substr(pos, e - pos);
            const size_t c = line.find(':');
            if (c != std::string::npos) {
                std::string k = line.substr(0, c);
                for (char& ch : k)
                    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
                size_t vs = c + 1;
                while (vs < line.size() && line[vs] == ' ') ++vs;
                r.headers[k] = line.substr(vs);
            }
            pos = e + 2;
        }
        size_t p = he + 4;
        if (r.headers.count("content-length")) {
            const size_t len = std::stoul(r.headers["content-length"]);
            if (b.size() < p + len) return false;
            r.body = b.substr(p, len);
            consumed = p + len;
            return true;
        }
        if (r.headers.count("transfer-encoding")) {
            std::string body;
            while (true) {
                const size_t le = b.find("\r\n", p);
                if (le == std::string::npos) return false;
                const size_t len = std::stoul(b.substr(p, le - p), nullptr, 16);
                if (b.size() < le + 2 + len + 2) return false;
                body += b.substr(le + 2, len);
                p = le + 2 + len + 2;
                if (len == 0) break;
            }
            r.body = std::move(body);
            consumed = p;
            return true;
        }
        r.body = b.substr(p);  // to EOF
        consumed = b.size();
        return false;
    }

  private:
    int fd_ = -1;
    std::string buf_;
    bool eof_ = false;
};

inline std::string http_request(const std::string& method, const std::string& path,
                                const std::string& body, bool keep_alive = false) {
    std::string r = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (!body.empty() || method == "POST") {
        r += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\n";
    }
    if (!keep_alive) r += "Connection: close\r\n";
    return r + "\r\n" + body;
}

// One request on a fresh connection.
inline HttpReply fetch(uint16_t port, const std::string& method, const std::string& path,
                       const std::string& body = "",
                       std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    Conn c(port);
    if (!c.ok() || !c.send(http_request(method, path, body))) return {};
    return c.read_response(timeout);
}

}  // namespace ig::test
