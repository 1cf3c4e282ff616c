#pragma once
// The HTTP vocabulary shared by the connection layer and the API layer.
#include <boost/beast/http.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ig::server {

namespace http = boost::beast::http;
using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

// What an asynchronous job hands the connection to write next.
struct JobOutput {
    std::optional<HttpResponse> full;  // a complete response; the job is over
    bool start_stream = false;         // write the SSE response head first
    // Extra header fields of the SSE head (values must not contain CR/LF).
    std::vector<std::pair<std::string, std::string>> stream_headers;
    std::string chunk;        // SSE bytes to send (one HTTP chunk)
    bool end_stream = false;  // last chunk written: the job is over
    bool empty() const { return !full && !start_stream && chunk.empty() && !end_stream; }
};

// A response produced over time by the engine (SSE stream, or a complete
// response that waits for generation). All calls come from the connection's
// strand; `wake` may be called from any thread and makes the connection call
// poll() again soon.
class AsyncJob {
  public:
    virtual ~AsyncJob() = default;
    virtual void start(std::function<void()> wake) = 0;
    virtual JobOutput poll() = 0;
    // The client went away: stop generating at once.
    virtual void cancel() = 0;
};

// A handler answers at once, or with a job.
struct Reply {
    std::optional<HttpResponse> response;
    std::shared_ptr<AsyncJob> job;
};

using Handler = std::function<Reply(HttpRequest&&)>;

}  // namespace ig::server
