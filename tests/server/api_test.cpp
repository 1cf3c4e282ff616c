// The OpenAI endpoints against a live in-process server: shapes, usage
// numbers against the tokenizer, streaming equal to non-streaming, n, stop
// strings, seeds, logprobs, metadata routes.
#include <gtest/gtest.h>

#include "support/server_fixture.h"

namespace ig::test {
namespace {

using nlohmann::json;

class ApiTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { server_ = TestServer::start().release(); }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }
    void SetUp() override {
        if (server_model_path().empty()) GTEST_SKIP() << "no model";
        ASSERT_NE(server_, nullptr);
    }
    static uint16_t port() { return server_->port; }
    static int64_t prompt_tokens(const std::string& text) {
        return static_cast<int64_t>(server_->tokenizer->encode(text, {true, true, {}}).size());
    }

    // Concatenated text and the finish reasons of an SSE completion stream.
    struct Streamed {
        std::vector<std::string> text;
        std::vector<std::string> finish;
        json usage;
        bool done = false;
        int chunks = 0;
    };
    static Streamed collect(const HttpReply& r, bool chat) {
        Streamed s;
        for (const std::string& d : r.sse_data()) {
            if (d == "[DONE]") {
                s.done = true;
                continue;
            }
            json j = json::parse(d);
            EXPECT_FALSE(s.done) << "data after [DONE]";
            EXPECT_EQ(j["object"], chat ? "chat.completion.chunk" : "text_completion");
            if (j.contains("usage") && !j["usage"].is_null()) s.usage = j["usage"];
            for (const json& c : j["choices"]) {
                const size_t i = c["index"].get<size_t>();
                if (s.text.size() <= i) s.text.resize(i + 1), s.finish.resize(i + 1);
                if (chat) {
                    if (c["delta"].contains("content"))
                        s.text[i] += c["delta"]["content"].get<std::string>();
                } else {
                    s.text[i] += c["text"].get<std::string>();
                }
                if (!c["finish_reason"].is_null()) s.finish[i] = c["finish_reason"];
                ++s.chunks;
            }
        }
        return s;
    }

    static TestServer* server_;
};
TestServer* ApiTest::server_ = nullptr;

TEST_F(ApiTest, CompletionNonStreaming) {
    HttpReply r = fetch(port(), "POST", "/v1/completions", completion_body());
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.headers["content-type"], "application/json");
    json j = r.json();
    EXPECT_EQ(j["object"], "text_completion");
    EXPECT_EQ(j["model"], "test-model");
    EXPECT_TRUE(j["id"].get<std::string>().rfind("cmpl-", 0) == 0);
    EXPECT_GT(j["created"].get<int64_t>(), 1600000000);
    ASSERT_EQ(j["choices"].size(), 1u);
    EXPECT_EQ(j["choices"][0]["index"], 0);
    EXPECT_FALSE(j["choices"][0]["text"].get<std::string>().empty());
    const json& u = j["usage"];
    EXPECT_EQ(u["prompt_tokens"], prompt_tokens("Once upon a time"));
    const std::string fr = j["choices"][0]["finish_reason"];
    if (fr == "length") {
        EXPECT_EQ(u["completion_tokens"], 8);
    }
    EXPECT_EQ(u["total_tokens"],
              u["prompt_tokens"].get<int64_t>() + u["completion_tokens"].get<int64_t>());
    EXPECT_TRUE(u["prompt_tokens_details"]["cached_tokens"].is_number_integer());
}

TEST_F(ApiTest, CompletionStreamingMatchesNonStreaming) {
    HttpReply full = fetch(port(), "POST", "/v1/completions", completion_body("", 12));
    ASSERT_EQ(full.status, 200) << full.body;
    HttpReply r =
        fetch(port(), "POST", "/v1/completions",
              completion_body(R"("stream":true,"stream_options":{"include_usage":true})", 12));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.headers["content-type"], "text/event-stream");
    Streamed s = collect(r, false);
    EXPECT_TRUE(s.done);
    ASSERT_EQ(s.text.size(), 1u);
    json j = full.json();
    EXPECT_EQ(s.text[0], j["choices"][0]["text"]);
    EXPECT_EQ(s.finish[0], j["choices"][0]["finish_reason"]);
    EXPECT_EQ(s.usage["completion_tokens"], j["usage"]["completion_tokens"]);
    EXPECT_EQ(s.usage["prompt_tokens"], j["usage"]["prompt_tokens"]);
}

TEST_F(ApiTest, ChatStreamingAndNot) {
    const std::string body =
        R"({"model":"test-model","messages":[{"role":"system","content":"Be brief."},)"
        R"({"role":"user","content":[{"type":"text","text":"Tell a story"}]}],"temperature":0,"max_tokens":10)";
    HttpReply full = fetch(port(), "POST", "/v1/chat/completions", body + "}");
    ASSERT_EQ(full.status, 200) << full.body;
    json j = full.json();
    EXPECT_EQ(j["object"], "chat.completion");
    EXPECT_TRUE(j["id"].get<std::string>().rfind("chatcmpl-", 0) == 0);
    EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
    EXPECT_EQ(j["usage"]["prompt_tokens"],
              prompt_tokens("system: Be brief.\nuser: Tell a story\nassistant:"));

    HttpReply r = fetch(port(), "POST", "/v1/chat/completions", body + R"(,"stream":true})");
    ASSERT_EQ(r.status, 200);
    auto data = r.sse_data();
    ASSERT_GE(data.size(), 2u);
    json first = json::parse(data[0]);
    EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
    Streamed s = collect(r, true);
    EXPECT_TRUE(s.done);
    EXPECT_EQ(s.text[0], j["choices"][0]["message"]["content"]);
    EXPECT_EQ(s.finish[0], j["choices"][0]["finish_reason"]);
    EXPECT_TRUE(s.usage.is_null());  // not asked for
}

// Values of not-yet-supported fields that ask for what the server does anyway
// (plain text, no tools) and nulls are accepted, with the same answer.
TEST_F(ApiTest, NoOpValuesOfUnsupportedFieldsAreAccepted) {
    const std::string base =
        R"({"model":"test-model","messages":[{"role":"user","content":"Tell a story"}],)"
        R"("temperature":0,"max_tokens":6)";
    HttpReply plain = fetch(port(), "POST", "/v1/chat/completions", base + "}");
    ASSERT_EQ(plain.status, 200) << plain.body;
    for (const char* extra :
         {R"("response_format":{"type":"text"})", R"("tools":[])", R"("tool_choice":"none")",
          R"("guided_json":null)", R"("frobnicate":null)"}) {
        HttpReply r = fetch(port(), "POST", "/v1/chat/completions", base + "," + extra + "}");
        ASSERT_EQ(r.status, 200) << extra << ": " << r.body;
        EXPECT_EQ(r.json()["choices"][0]["message"]["content"],
                  plain.json()["choices"][0]["message"]["content"])
            << extra;
    }
}

TEST_F(ApiTest, TwoChoicesAndMultiplePrompts) {
    HttpReply r = fetch(port(), "POST", "/v1/completions",
                        completion_body(R"("n":2,"temperature":1.0,"seed":7)", 6));
    ASSERT_EQ(r.status, 200) << r.body;
    json j = r.json();
    ASSERT_EQ(j["choices"].size(), 2u);
    EXPECT_EQ(j["choices"][0]["index"], 0);
    EXPECT_EQ(j["choices"][1]["index"], 1);
    EXPECT_EQ(j["usage"]["prompt_tokens"], prompt_tokens("Once upon a time"));

    r = fetch(
        port(), "POST", "/v1/completions",
        R"({"prompt":["Once upon a time","The cat"],"n":2,"max_tokens":4,"temperature":0,"stream":true})");
    ASSERT_EQ(r.status, 200) << r.body;
    Streamed s = collect(r, false);
    ASSERT_EQ(s.text.size(), 4u);
    for (const std::string& f : s.finish) EXPECT_FALSE(f.empty());
    // Greedy: both choices of a prompt agree.
    EXPECT_EQ(s.text[0], s.text[1]);
    EXPECT_EQ(s.text[2], s.text[3]);

    r = fetch(port(), "POST", "/v1/completions", R"({"prompt":[1, 400, 200],"max_tokens":3})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["usage"]["prompt_tokens"], 3);
}

TEST_F(ApiTest, StopStringEndsTheText) {
    HttpReply r = fetch(port(), "POST", "/v1/completions", completion_body("", 24));
    ASSERT_EQ(r.status, 200);
    const std::string text = r.json()["choices"][0]["text"];
    ASSERT_GE(text.size(), 8u) << text;
    // Stop at a piece of text from the middle of the greedy continuation.
    const std::string stop = text.substr(text.size() / 2, 3);
    const size_t at = text.find(stop);
    json body = json::parse(completion_body("", 24));
    body["stop"] = json::array({stop, "@@never@@"});
    r = fetch(port(), "POST", "/v1/completions", body.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    json j = r.json();
    EXPECT_EQ(j["choices"][0]["text"], text.substr(0, at));
    EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");

    body["stream"] = true;
    r = fetch(port(), "POST", "/v1/completions", body.dump());
    Streamed s = collect(r, false);
    EXPECT_EQ(s.text[0], text.substr(0, at));
    EXPECT_EQ(s.finish[0], "stop");
}

TEST_F(ApiTest, SeedReproducible) {
    const std::string body = completion_body(R"("temperature":1.0,"top_p":0.95,"seed":1234)", 16);
    HttpReply a = fetch(port(), "POST", "/v1/completions", body);
    HttpReply b = fetch(port(), "POST", "/v1/completions", body);
    ASSERT_EQ(a.status, 200);
    ASSERT_EQ(b.status, 200);
    EXPECT_EQ(a.json()["choices"][0]["text"], b.json()["choices"][0]["text"]);
}

TEST_F(ApiTest, CompletionLogprobs) {
    HttpReply r = fetch(port(), "POST", "/v1/completions", completion_body(R"("logprobs":3)", 5));
    ASSERT_EQ(r.status, 200) << r.body;
    json j = r.json();
    const json& lp = j["choices"][0]["logprobs"];
    const size_t n = static_cast<size_t>(j["usage"]["completion_tokens"].get<int64_t>());
    ASSERT_EQ(lp["tokens"].size(), n);
    ASSERT_EQ(lp["token_logprobs"].size(), n);
    ASSERT_EQ(lp["top_logprobs"].size(), n);
    ASSERT_EQ(lp["text_offset"].size(), n);
    for (size_t i = 0; i < n; ++i) {
        EXPECT_LE(lp["token_logprobs"][i].get<double>(), 0.0);
        EXPECT_LE(lp["top_logprobs"][i].size(), 3u);
        EXPECT_GE(lp["top_logprobs"][i].size(), 1u);
    }
}

TEST_F(ApiTest, ChatLogprobs) {
    HttpReply r =
        fetch(port(), "POST", "/v1/chat/completions",
              R"({"messages":[{"role":"user","content":"Hi"}],"max_tokens":4,"temperature":0,)"
              R"("logprobs":true,"top_logprobs":2})");
    ASSERT_EQ(r.status, 200) << r.body;
    json j = r.json();
    const json& content = j["choices"][0]["logprobs"]["content"];
    ASSERT_EQ(content.size(), static_cast<size_t>(j["usage"]["completion_tokens"].get<int64_t>()));
    for (const json& e : content) {
        EXPECT_TRUE(e["token"].is_string());
        EXPECT_LE(e["logprob"].get<double>(), 0.0);
        EXPECT_TRUE(e["bytes"].is_array());
        EXPECT_EQ(e["top_logprobs"].size(), 2u);
    }
}

TEST_F(ApiTest, MetadataRoutes) {
    HttpReply r = fetch(port(), "GET", "/v1/models");
    ASSERT_EQ(r.status, 200);
    json j = r.json();
    EXPECT_EQ(j["object"], "list");
    EXPECT_EQ(j["data"][0]["id"], "test-model");
    EXPECT_EQ(fetch(port(), "GET", "/v1/models/test-model").status, 200);
    EXPECT_EQ(fetch(port(), "GET", "/v1/models/other").status, 404);
    EXPECT_EQ(fetch(port(), "GET", "/health").status, 200);
    EXPECT_EQ(fetch(port(), "GET", "/ready").status, 200);
    EXPECT_EQ(fetch(port(), "GET", "/version").json()["version"], "0.1.0");
    r = fetch(port(), "GET", "/metrics");
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.body.find("infergrid_kv_blocks_free"), std::string::npos);
    EXPECT_NE(r.body.find("infergrid_http_requests_total"), std::string::npos);
}

TEST_F(ApiTest, KeepAliveServesSeveralRequestsOnOneConnection) {
    Conn c(port());
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(c.send(http_request("POST", "/v1/completions", completion_body("", 2), true)));
        HttpReply r = c.read_response();
        ASSERT_EQ(r.status, 200) << i;
        EXPECT_EQ(r.json()["object"], "text_completion");
    }
    // Two pipelined requests answered in order.
    ASSERT_TRUE(c.send(http_request("GET", "/health", "", true) +
                       http_request("GET", "/version", "", true)));
    EXPECT_EQ(c.read_response().json()["status"], "ok");
    EXPECT_EQ(c.read_response().json()["name"], "infergrid");
}

}  // namespace
}  // namespace ig::test
