// SSE framing and base-URL parsing of the benchmark's HTTP client.
#include <gtest/gtest.h>

#include "bench/sse_client.h"

namespace ig {
namespace {

TEST(SseParser, EventsSplitAcrossReadsAndLineEndings) {
    SseParser p;
    std::vector<std::string> ev;
    p.feed("data: {\"a\":1}\n", ev);
    EXPECT_TRUE(ev.empty());
    p.feed("\ndata: x", ev);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0], "{\"a\":1}");
    p.feed("y\r\n\r\n: comment\n\nevent: e\ndata:one\ndata: two\n\ndata: [DONE]\n\n", ev);
    ASSERT_EQ(ev.size(), 4u);
    EXPECT_EQ(ev[1], "xy");
    EXPECT_EQ(ev[2], "one\ntwo");
    EXPECT_EQ(ev[3], "[DONE]");
}

TEST(BaseUrl, ParsesAndRefuses) {
    auto b = parse_base_url("http://127.0.0.1:8080");
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->host, "127.0.0.1");
    EXPECT_EQ(b->port, "8080");
    EXPECT_EQ(b->prefix, "");
    b = parse_base_url("http://example.org/proxy/");
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->port, "80");
    EXPECT_EQ(b->prefix, "/proxy");
    for (const char* bad : {"127.0.0.1:8080", "https://x", "http://", "http://h:0",
                            "http://h:99999", "http://h:x1"}) {
        auto r = parse_base_url(bad);
        EXPECT_FALSE(r.ok()) << bad;
        if (!r.ok()) {
            EXPECT_NE(r.error().message.find("--base-url"), std::string::npos);
        }
    }
}

TEST(SseClient, UnreachableServerIsAnErrorNotAHang) {
    BaseUrl b{"127.0.0.1", "1", ""};
    auto r = post_streaming(
        b, "/v1/completions", "{}", [](std::string_view) {}, std::chrono::milliseconds(2000));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("connect"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace ig
