// Table-driven abuse: every malformed request gets its documented status and
// an OpenAI error body, and the server answers a normal request correctly
// after each one.
#include <gtest/gtest.h>

#include "support/server_fixture.h"

namespace ig::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

struct BadCase {
    const char* name;
    std::string raw;              // the exact bytes sent
    int status;                   // expected HTTP status
    const char* param = nullptr;  // expected error.param, when there is one
    const char* code = nullptr;   // expected error.code, when there is one
    std::chrono::milliseconds wait = 30s;
};

BadCase post(const char* name, const std::string& path, const std::string& body, int status,
             const char* param = nullptr, const char* code = nullptr) {
    return {name, http_request("POST", path, body), status, param, code};
}
BadCase comp(const char* name, const std::string& body, int status, const char* param = nullptr,
             const char* code = nullptr) {
    return post(name, "/v1/completions", body, status, param, code);
}
BadCase chat(const char* name, const std::string& body, int status, const char* param = nullptr,
             const char* code = nullptr) {
    return post(name, "/v1/chat/completions", body, status, param, code);
}
// A completions body with one field set to a JSON value.
std::string with(const std::string& field, const std::string& value) {
    return R"({"prompt":"Once upon a time","max_tokens":4,")" + field + "\":" + value + "}";
}
// A chat body with one field set to a JSON value.
std::string chat_with(const std::string& field, const std::string& value) {
    return R"({"max_tokens":4,"messages":[{"role":"user","content":"hi"}],")" + field +
           "\":" + value + "}";
}
std::string msgs(const std::string& messages) {
    return R"({"max_tokens":4,"messages":)" + messages + "}";
}

std::vector<BadCase> cases() {
    std::vector<BadCase> v = {
        comp("broken_json", R"({"prompt": "hi", )", 400, "body", "invalid_json"),
        comp("empty_body", "", 400, "body", "invalid_json"),
        comp("body_is_array", "[1,2]", 400, "body"),
        comp("body_is_string", R"("prompt")", 400, "body"),
        comp("nan_literal", R"({"prompt":"a","temperature":NaN})", 400, "body", "invalid_json"),
        comp("trailing_garbage", R"({"prompt":"a"} xyz)", 400, "body", "invalid_json"),
        comp("invalid_utf8", std::string("{\"prompt\":\"a\xff\xfe b\"}"), 400, "body",
             "invalid_json"),
        comp("overlong_utf8", std::string("{\"prompt\":\"\xc0\xaf\"}"), 400, "body",
             "invalid_json"),
        comp("prompt_missing", R"({"max_tokens":4})", 400, "prompt"),
        comp("prompt_number", R"({"prompt":5})", 400, "prompt"),
        comp("prompt_empty_list", R"({"prompt":[]})", 400, "prompt"),
        comp("prompt_mixed_list", R"({"prompt":["a", 1]})", 400, "prompt[1]"),
        comp("prompt_id_out_of_vocab", R"({"prompt":[1, 99999999]})", 400, "prompt"),
        comp("prompt_id_negative", R"({"prompt":[-1]})", 400, "prompt"),
        comp("prompt_id_float", R"({"prompt":[1.5]})", 400, "prompt"),
        comp("prompt_empty_nested", R"({"prompt":[[1,2],[]]})", 400, "prompt[1]"),
        comp("max_tokens_negative", with("max_tokens", "-5"), 400, "max_tokens"),
        comp("max_tokens_zero", with("max_tokens", "0"), 400, "max_tokens"),
        comp("max_tokens_string", with("max_tokens", R"("10")"), 400, "max_tokens"),
        comp("max_tokens_huge", with("max_tokens", "1000000000000"), 400, "max_tokens"),
        comp("max_tokens_float", with("max_tokens", "2.5"), 400, "max_tokens"),
        comp("max_tokens_over_context", with("max_tokens", "100000"), 400, "prompt",
             "context_length_exceeded"),
        comp("max_completion_tokens_bad", with("max_completion_tokens", "-1"), 400,
             "max_completion_tokens"),
        comp("temperature_negative", with("temperature", "-1"), 400, "temperature"),
        comp("temperature_huge", with("temperature", "1e308"), 400, "temperature"),
        comp("temperature_overflow", with("temperature", "1e999"), 400, nullptr),
        comp("temperature_string", with("temperature", R"("hot")"), 400, "temperature"),
        comp("top_p_zero", with("top_p", "0"), 400, "top_p"),
        comp("top_p_above_one", with("top_p", "1.5"), 400, "top_p"),
        comp("n_zero", with("n", "0"), 400, "n"),
        comp("n_huge", with("n", "100000"), 400, "n"),
        comp("n_float", with("n", "1.5"), 400, "n"),
        comp("stream_string", with("stream", R"("yes")"), 400, "stream"),
        comp("stream_options_without_stream", with("stream_options", R"({"include_usage":true})"),
             400, "stream_options"),
        comp("stop_number", with("stop", "5"), 400, "stop"),
        comp("stop_too_many",
             with("stop",
                  R"(["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q"])"),
             400, "stop"),
        comp("stop_empty_string", with("stop", R"([""])"), 400, "stop"),
        comp("seed_string", with("seed", R"("abc")"), 400, "seed"),
        comp("presence_penalty_range", with("presence_penalty", "3"), 400, "presence_penalty"),
        comp("frequency_penalty_range", with("frequency_penalty", "-2.5"), 400,
             "frequency_penalty"),
        comp("logit_bias_array", with("logit_bias", "[1,2]"), 400, "logit_bias"),
        comp("logit_bias_bad_key", with("logit_bias", R"({"abc":1})"), 400, "logit_bias"),
        comp("logit_bias_key_out_of_vocab", with("logit_bias", R"({"999999":1})"), 400,
             "logit_bias"),
        comp("logit_bias_value_range", with("logit_bias", R"({"5":500})"), 400, "logit_bias"),
        comp("logprobs_too_many", with("logprobs", "50"), 400, "logprobs"),
        comp("top_k_string", with("top_k", R"("a")"), 400, "top_k"),
        comp("min_p_range", with("min_p", "2"), 400, "min_p"),
        comp("repetition_penalty_zero", with("repetition_penalty", "0"), 400, "repetition_penalty"),
        comp("ignore_eos_number", with("ignore_eos", "1"), 400, "ignore_eos"),
        comp("priority_string", with("priority", R"("high")"), 400, "priority"),
        comp("user_number", with("user", "42"), 400, "user"),
        comp("echo_unsupported", with("echo", "true"), 400, "echo"),
        comp("unknown_model", with("model", R"("gpt-4")"), 404, nullptr, "model_not_found"),
        comp("model_number", with("model", "4"), 400, "model"),
        chat("messages_missing", R"({"max_tokens":4})", 400, "messages"),
        chat("messages_empty", msgs("[]"), 400, "messages"),
        chat("messages_not_list", msgs(R"({"role":"user"})"), 400, "messages"),
        chat("message_not_object", msgs(R"(["hi"])"), 400, "messages[0]"),
        chat("role_missing", msgs(R"([{"content":"hi"}])"), 400, "messages[0].role"),
        chat("role_unknown", msgs(R"([{"role":"wizard","content":"hi"}])"), 400,
             "messages[0].role"),
        chat("content_number", msgs(R"([{"role":"user","content":7}])"), 400,
             "messages[0].content"),
        chat("content_missing", msgs(R"([{"role":"user"}])"), 400, "messages[0].content"),
        chat("content_part_image",
             msgs(R"([{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}])"),
             400, "messages[0].content[0].type"),
        chat("content_part_no_text", msgs(R"([{"role":"user","content":[{"type":"text"}]}])"), 400,
             "messages[0].content[0].text"),
        chat("top_logprobs_without_logprobs",
             R"({"messages":[{"role":"user","content":"hi"}],"top_logprobs":2})", 400,
             "top_logprobs"),
        chat("chat_logprobs_integer",
             R"({"messages":[{"role":"user","content":"hi"}],"logprobs":3})", 400, "logprobs"),
        // Fields defined by OpenAI/vLLM and not implemented: 400, never ignored.
        chat("functions", chat_with("functions", R"([{"name":"f"}])"), 400, "functions",
             "unsupported_parameter"),
        chat("reasoning_effort", chat_with("reasoning_effort", R"("low")"), 400, "reasoning_effort",
             "unsupported_parameter"),
        // Structured output and tools, malformed (more in structured_output_test.cpp).
        chat("response_format_banana", chat_with("response_format", R"({"type":"banana"})"), 400,
             "response_format.type"),
        chat("response_format_string", chat_with("response_format", R"("json")"), 400,
             "response_format"),
        // This server's template writes no tool calls it could read back.
        chat("tools_without_a_tool_format",
             chat_with("tools", R"([{"type":"function","function":{"name":"f"}}])"), 400, "tools"),
        chat("tools_not_objects", chat_with("tools", "[123]"), 400, "tools[0]"),
        chat("tools_without_function", chat_with("tools", R"([{"type":"function"}])"), 400,
             "tools[0].function"),
        chat("tools_not_list", chat_with("tools", R"({"type":"function"})"), 400, "tools"),
        chat("tool_choice_banana", chat_with("tool_choice", R"("banana")"), 400, "tool_choice"),
        chat("tool_choice_auto_without_tools", chat_with("tool_choice", R"("auto")"), 400,
             "tool_choice"),
        chat("guided_json_banana", chat_with("guided_json", R"({"type":"banana"})"), 400,
             "guided_json", "invalid_grammar"),
        comp("guided_regex_unbalanced", with("guided_regex", R"("(a+")"), 400, "guided_regex",
             "invalid_grammar"),
        comp("guided_whitespace_pattern", with("guided_whitespace_pattern", R"(" ")"), 400,
             "guided_whitespace_pattern", "unsupported_parameter"),
        comp("unknown_field", with("frobnicate", "1"), 400, "frobnicate", "unknown_parameter"),
        comp("chat_field_on_completions", with("messages", "[]"), 400, "messages",
             "unknown_parameter"),
        chat("completions_field_on_chat", chat_with("echo", "true"), 400, "echo",
             "unknown_parameter"),
        comp("min_tokens_over_max_tokens", with("min_tokens", "5"), 400, "min_tokens"),
        post("unknown_path", "/v1/engines", "{}", 404, nullptr, "not_found"),
        {"wrong_method_get", http_request("GET", "/v1/completions", ""), 405, nullptr,
         "method_not_allowed"},
        {"wrong_method_delete", http_request("DELETE", "/health", ""), 405, nullptr,
         "method_not_allowed"},
        {"unknown_get_path", http_request("GET", "/admin", ""), 404, nullptr, "not_found"},
        {"garbage_request_line", "GARBAGE\r\n\r\n", 400, nullptr, "bad_http_request"},
        {"bad_content_length", "POST /v1/completions HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400,
         nullptr, "bad_http_request"},
        {"huge_header", "GET /health HTTP/1.1\r\nX-Big: " + std::string(64 << 10, 'a') + "\r\n\r\n",
         431, nullptr, "headers_too_large"},
        {"body_10mb", http_request("POST", "/v1/completions", std::string(10 << 20, ' ')), 413,
         nullptr, "request_too_large"},
        {"slowloris_partial_headers", "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Le", 408,
         nullptr, "request_timeout"},
        {"slowloris_short_body",
         "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"prompt\":", 408,
         nullptr, "request_timeout"},
        // RFC 9112: a transfer coding other than chunked is a 400 and a close, not a
        // body read as the next request; HTTP/1.1 needs Host; unknown expectations 417.
        {"transfer_encoding_gzip",
         "POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"
         "GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
         400, nullptr, "bad_http_request"},
        {"transfer_encoding_chunked_identity",
         "POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
         400, nullptr, "bad_http_request"},
        {"http11_without_host", "GET /health HTTP/1.1\r\n\r\n", 400, nullptr, "bad_http_request"},
        {"obs_fold_space", "GET /health HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n", 400,
         nullptr, "bad_http_request"},
        {"obs_fold_tab", "GET /health HTTP/1.1\r\nHost: x\r\nX-A: one\r\n\ttwo\r\n\r\n", 400,
         nullptr, "bad_http_request"},
        {"expect_unknown",
         "POST /v1/completions HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: "
         "2\r\n\r\n{}",
         417, nullptr, "bad_http_request"},
    };
    // Deep nesting: refused while parsing, past 64 levels, before it costs memory.
    v.push_back(comp("deep_nesting",
                     R"({"prompt":)" + std::string(20000, '[') + std::string(20000, ']') + "}", 400,
                     "body", "invalid_json"));
    auto nested = [](int levels) {
        return R"({"prompt":"x","logit_bias":)" + std::string(levels, '[') +
               std::string(levels, ']') + "}";
    };
    v.push_back(comp("nesting_65_levels", nested(65), 400, "body", "invalid_json"));
    v.push_back(comp("nesting_64_levels_parse", nested(64), 400, "logit_bias"));
    return v;
}

class BadInputTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        server::ServerConfig cfg;
        cfg.limits.request_timeout = 1000ms;  // slowloris cases wait this long
        server_ = TestServer::start(cfg).release();
    }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }
    void SetUp() override {
        if (server_model_path().empty()) GTEST_SKIP() << "no model";
        ASSERT_NE(server_, nullptr);
    }
    static TestServer* server_;
};
TestServer* BadInputTest::server_ = nullptr;

TEST_F(BadInputTest, EachGetsItsStatusAndErrorBodyAndTheServerStaysUp) {
    const auto all = cases();
    ASSERT_GE(all.size(), 40u);
    const uint16_t port = server_->port;
    for (const BadCase& c : all) {
        SCOPED_TRACE(c.name);
        Conn conn(port);
        ASSERT_TRUE(conn.ok());
        conn.send(c.raw);  // may fail half-way for the 10 MB body: the server answered already
        HttpReply r = conn.read_response(c.wait);
        EXPECT_EQ(r.status, c.status) << r.body;
        json j = r.json();
        ASSERT_TRUE(j.is_object()) << r.body;
        ASSERT_TRUE(j.contains("error")) << r.body;
        const json& e = j["error"];
        EXPECT_TRUE(e["message"].is_string() && !e["message"].get<std::string>().empty());
        EXPECT_TRUE(e["type"].is_string());
        EXPECT_TRUE(e.contains("param"));
        EXPECT_TRUE(e.contains("code"));
        if (c.param) {
            EXPECT_EQ(e["param"], c.param) << e["message"];
        }
        if (c.code) {
            EXPECT_EQ(e["code"], c.code) << e["message"];
        }
        EXPECT_EQ(r.headers["content-type"], "application/json");

        // A normal request right after works.
        HttpReply ok = fetch(port, "POST", "/v1/completions", completion_body("", 2));
        ASSERT_EQ(ok.status, 200) << ok.body;
        EXPECT_EQ(ok.json()["choices"].size(), 1u);
    }
    EXPECT_TRUE(server_->wait_blocks_free());
}

TEST_F(BadInputTest, ContextErrorSaysTheNumbers) {
    HttpReply r = fetch(server_->port, "POST", "/v1/completions", with("max_tokens", "100000"));
    ASSERT_EQ(r.status, 400);
    const std::string msg = r.json()["error"]["message"];
    const int64_t n_ctx = server_->engine->model_config().n_ctx_train;
    EXPECT_NE(msg.find("maximum context length is " + std::to_string(n_ctx)), std::string::npos)
        << msg;
    EXPECT_NE(msg.find("100000 in the completion"), std::string::npos) << msg;
}

TEST_F(BadInputTest, ModelWithoutChatTemplateSaysSo) {
    auto s = TestServer::start({}, {}, /*with_chat=*/false);
    ASSERT_NE(s, nullptr);
    HttpReply r = fetch(s->port, "POST", "/v1/chat/completions",
                        R"({"messages":[{"role":"user","content":"hi"}]})");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.json()["error"]["code"], "no_chat_template");
    EXPECT_NE(r.json()["error"]["message"].get<std::string>().find("chat template"),
              std::string::npos);
}

TEST_F(BadInputTest, QueueFullGets429WithRetryAfter) {
    EngineConfig ecfg;
    ecfg.max_waiting = 1;
    ecfg.max_num_seqs = 1;
    auto s = TestServer::start({}, ecfg);
    ASSERT_NE(s, nullptr);
    // Long requests fill the one running slot and the one waiting slot.
    std::vector<std::unique_ptr<Conn>> held;
    bool saw_429 = false;
    for (int i = 0; i < 6 && !saw_429; ++i) {
        auto c = std::make_unique<Conn>(s->port);
        c->send(http_request("POST", "/v1/completions",
                             completion_body(R"("stream":true,"ignore_eos":true)", 2000)));
        HttpReply r = c->read_response(50ms);
        if (r.status == 429) {
            saw_429 = true;
            EXPECT_EQ(r.headers["retry-after"], "1");
            EXPECT_EQ(r.json()["error"]["type"], "rate_limit_error");
        }
        held.push_back(std::move(c));
    }
    EXPECT_TRUE(saw_429);
    held.clear();  // disconnects cancel the rest
    EXPECT_TRUE(s->wait_blocks_free());
}

}  // namespace
}  // namespace ig::test

namespace ig::test {
namespace {

// `Expect: 100-continue` gets its interim response before the body is sent
// (curl waits a second for it on bodies over 1 MiB otherwise).
TEST(HttpExpect, ContinueIsAnsweredBeforeTheBody) {
    auto srv = TestServer::start();
    ASSERT_NE(srv, nullptr);
    const std::string body = completion_body("", 2);
    Conn c(srv->port);
    c.send(
        "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Expect: 100-continue\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n");
    ASSERT_TRUE(c.read_until(
        [](const std::string& b) { return b.find("HTTP/1.1 100 Continue\r\n\r\n") == 0; }, 5s));
    c.send(body);
    ASSERT_TRUE(c.read_until(
        [](const std::string& b) { return b.find("\"text_completion\"") != std::string::npos; },
        30s));
}

}  // namespace
}  // namespace ig::test
