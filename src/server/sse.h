#pragma once
// Server-sent events over HTTP/1.1 chunked transfer: the framing every
// streaming response uses (the OpenAI endpoints and the bench stub server).
// A response is stream_head(), then chunk()s of events, then kLastChunk.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace ig::server::sse {

// "data: <payload>\n\n", appended to `out`.
void append_event(std::string& out, std::string_view payload);
// An event whose payload is `j` (invalid UTF-8 replaced, never a throw).
void append_json_event(std::string& out, const nlohmann::json& j);
// The event OpenAI streams end with.
inline constexpr std::string_view kDoneEvent = "data: [DONE]\n\n";

// Status line and headers of a 200 text/event-stream response, blank line included.
std::string stream_head(bool keep_alive,
                        const std::vector<std::pair<std::string, std::string>>& headers = {});
// One chunk of the chunked transfer coding.
std::string chunk(std::string_view data);
// Ends the chunked body.
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace ig::server::sse
