#pragma once
// A minimal HTTP/1.1 client for benchmarking OpenAI-compatible servers:
// POSTs one JSON body and hands every server-sent event's `data:` payload to
// a callback as it arrives, so the caller can time tokens.
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "util/expected.h"

namespace ig {

// http://host[:port][/prefix]; the prefix (e.g. "/v1" dropped by the caller
// or kept) is prepended to request targets.
struct BaseUrl {
    std::string host;
    std::string port = "80";
    std::string prefix;   // no trailing slash
    std::string api_key;  // sent as Authorization: Bearer when set (not part of the URL)
};
Expected<BaseUrl> parse_base_url(std::string_view url);

// Splits a byte stream into SSE events and returns the `data:` payload of
// each complete event (multi-line data joined with '\n'). Accepts LF and CRLF.
class SseParser {
  public:
    void feed(std::string_view bytes, std::vector<std::string>& events);

  private:
    std::string line_;
    std::string data_;
    bool has_data_ = false;
};

struct StreamReply {
    int status = 0;    // HTTP status; 0 when no response arrived
    std::string body;  // the whole body when status != 200 (error text)
};

// Sends `body` to base.prefix + target and calls on_data(payload) for every
// SSE event of a 200 text/event-stream answer (a non-SSE 200 body is passed
// whole, once). `idle_timeout` bounds every wait (connect, each read).
Expected<StreamReply> post_streaming(const BaseUrl& base, const std::string& target,
                                     const std::string& body,
                                     const std::function<void(std::string_view)>& on_data,
                                     std::chrono::milliseconds idle_timeout);

}  // namespace ig
