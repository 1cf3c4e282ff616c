#pragma once
// HTTP/1.1 front end on Boost.Beast: a few IO threads run every connection
// (no thread per connection); each connection lives on its own strand.
// Keep-alive, body/header limits, idle and request timeouts, a cap on open
// connections, chunked SSE responses, and a read kept pending while a
// response is being generated so a client that goes away is noticed at once.
#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "server/http_types.h"
#include "server/server_config.h"
#include "util/expected.h"

namespace ig::server {

class HttpServer {
  public:
    HttpServer(ServerConfig cfg, Handler handler);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Binds host:port and starts the IO threads.
    Status start();
    // Closes the listener and every connection, joins the IO threads.
    void stop();
    uint16_t port() const;
    // Responses from now on carry `Connection: close`.
    void set_draining(bool on);
    int64_t open_connections() const;

    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace ig::server
