// SSE framing: events, the [DONE] event, the response head and chunked coding.
#include "server/sse.h"

#include <gtest/gtest.h>

namespace ig::server {
namespace {

TEST(Sse, EventsAndChunks) {
    std::string out;
    sse::append_event(out, "x");
    sse::append_json_event(out, nlohmann::json{{"a", 1}});
    out += sse::kDoneEvent;
    EXPECT_EQ(out, "data: x\n\ndata: {\"a\":1}\n\ndata: [DONE]\n\n");
    EXPECT_EQ(sse::chunk("data: x\n\n"), "9\r\ndata: x\n\n\r\n");
    EXPECT_EQ(sse::chunk(std::string(26, 'a')).substr(0, 4), "1a\r\n");
    EXPECT_EQ(sse::kLastChunk, "0\r\n\r\n");
}

TEST(Sse, InvalidUtf8IsReplacedNotThrown) {
    std::string out;
    sse::append_json_event(out, nlohmann::json{{"t", std::string("\xff")}});
    EXPECT_EQ(out, "data: {\"t\":\"\xEF\xBF\xBD\"}\n\n");
}

TEST(Sse, StreamHeadCarriesConnectionAndExtraHeaders) {
    const std::string h = sse::stream_head(true, {{"X-Request-Id", "r1"}});
    EXPECT_EQ(h.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
    EXPECT_NE(h.find("Content-Type: text/event-stream\r\n"), std::string::npos);
    EXPECT_NE(h.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
    EXPECT_NE(h.find("Connection: keep-alive\r\n"), std::string::npos);
    EXPECT_NE(h.find("X-Request-Id: r1\r\n"), std::string::npos);
    EXPECT_EQ(h.substr(h.size() - 4), "\r\n\r\n");
    EXPECT_NE(sse::stream_head(false).find("Connection: close\r\n"), std::string::npos);
}

}  // namespace
}  // namespace ig::server
