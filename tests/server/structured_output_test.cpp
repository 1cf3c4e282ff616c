// Structured output and tool calls over HTTP: every constraint field gives
// output of its grammar, tool calls come back as OpenAI objects (streamed
// deltas concatenate to the non-streamed answer), and malformed schemas,
// grammars and tool definitions get 400s naming the problem.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <thread>

#include "support/server_fixture.h"

namespace ig::test {
namespace {

using nlohmann::json;

class StructuredOutput : public ::testing::Test {
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
    static json post(const std::string& path, const json& body, int want = 200) {
        HttpReply r = fetch(port(), "POST", path, body.dump());
        EXPECT_EQ(r.status, want) << body.dump() << " -> " << r.body;
        return r.json();
    }
    static json completion(json extra) {
        json b = {{"prompt", "Once upon a time"},
                  {"max_tokens", 400},
                  {"temperature", 1.0},
                  {"seed", 11},
                  {"n", 4}};
        b.update(extra);
        return b;
    }
    static TestServer* server_;
};
TestServer* StructuredOutput::server_ = nullptr;

TEST_F(StructuredOutput, JsonSchemaOnCompletionsAndChat) {
    const json schema = {
        {"type", "object"},
        {"properties",
         {{"name", {{"type", "string"}, {"maxLength", 12}}},
          {"age", {{"type", "integer"}, {"minimum", 0}, {"maximum", 120}}},
          {"pets", {{"type", "array"}, {"items", {{"enum", {"cat", "dog"}}}}, {"maxItems", 3}}}}},
        {"required", {"name", "age", "pets"}},
        {"additionalProperties", false}};
    const json rf = {{"type", "json_schema"},
                     {"json_schema", {{"name", "person"}, {"schema", schema}}}};
    auto check = [&](const std::string& text, const std::string& finish) {
        EXPECT_EQ(finish, "stop") << text;
        json v = json::parse(text, nullptr, false);
        ASSERT_TRUE(v.is_object()) << text;
        EXPECT_EQ(v.size(), 3u) << text;
        EXPECT_LE(v["name"].get<std::string>().size(), 12u * 4);
        EXPECT_TRUE(v["age"].is_number_integer());
        EXPECT_GE(v["age"].get<int>(), 0);
        EXPECT_LE(v["age"].get<int>(), 120);
        EXPECT_LE(v["pets"].size(), 3u);
        for (const json& p : v["pets"]) EXPECT_TRUE(p == "cat" || p == "dog") << text;
    };
    json r = post("/v1/completions", completion({{"response_format", rf}}));
    for (const json& c : r["choices"]) check(c["text"], c["finish_reason"]);
    json chat = {{"messages", {{{"role", "user"}, {"content", "Describe a person"}}}},
                 {"max_tokens", 400},
                 {"temperature", 1.0},
                 {"seed", 3},
                 {"n", 3},
                 {"response_format", rf}};
    r = post("/v1/chat/completions", chat);
    for (const json& c : r["choices"]) check(c["message"]["content"], c["finish_reason"]);
    // Keys in the order the schema lists them (not sorted: the body is read
    // keeping key order), sent as raw text since nlohmann::json sorts.
    const std::string raw = R"({"prompt":"Once","max_tokens":200,"temperature":1.0,"seed":4,
        "guided_json":{"type":"object","properties":{"zeta":{"type":"boolean"},
        "alpha":{"type":"integer","minimum":0,"maximum":9}},"required":["zeta","alpha"],
        "additionalProperties":false}})";
    HttpReply ordered = fetch(port(), "POST", "/v1/completions", raw);
    ASSERT_EQ(ordered.status, 200) << ordered.body;
    const std::string text = ordered.json()["choices"][0]["text"];
    ASSERT_NE(text.find("\"alpha\""), std::string::npos) << text;
    EXPECT_LT(text.find("\"zeta\""), text.find("\"alpha\"")) << text;
}

TEST_F(StructuredOutput, JsonObjectRegexChoiceAndGrammar) {
    json r =
        post("/v1/completions",
             completion({{"response_format", {{"type", "json_object"}}}, {"max_tokens", 1500}}));
    for (const json& c : r["choices"]) {
        if (c["finish_reason"] != "stop") continue;  // a random walk may run long
        EXPECT_TRUE(json::parse(c["text"].get<std::string>(), nullptr, false).is_object())
            << c["text"];
    }
    r = post("/v1/completions", completion({{"guided_regex", "[A-Z]{2}-[0-9]{3,5}"}}));
    for (const json& c : r["choices"])
        EXPECT_TRUE(
            std::regex_match(c["text"].get<std::string>(), std::regex("[A-Z]{2}-[0-9]{3,5}")))
            << c["text"];
    r = post("/v1/completions", completion({{"guided_choice", {"yes", "no", "maybe not"}}}));
    for (const json& c : r["choices"]) {
        const std::string t = c["text"];
        EXPECT_TRUE(t == "yes" || t == "no" || t == "maybe not") << t;
        EXPECT_EQ(c["finish_reason"], "stop");
    }
    for (const char* field : {"grammar", "guided_grammar"}) {
        r = post(
            "/v1/completions",
            completion({{field, "root ::= \"(\" num (\",\" num)* \")\"\nnum ::= [1-9] [0-9]?"}}));
        for (const json& c : r["choices"]) {
            if (c["finish_reason"] != "stop") continue;
            EXPECT_TRUE(std::regex_match(c["text"].get<std::string>(),
                                         std::regex(R"(\([1-9][0-9]?(,[1-9][0-9]?)*\))")))
                << c["text"];
        }
    }
    r = post("/v1/completions",
             completion({{"json_schema", {{"type", "integer"}, {"minimum", 5}, {"maximum", 7}}}}));
    for (const json& c : r["choices"]) {
        const std::string t = c["text"];
        EXPECT_TRUE(t == "5" || t == "6" || t == "7") << t;
    }
}

TEST_F(StructuredOutput, GreedyIsTheSameAloneAndBatchedWithUnconstrainedRequests) {
    const json body = {{"prompt", "Once upon a time"},
                       {"max_tokens", 120},
                       {"temperature", 0},
                       {"guided_json",
                        {{"type", "object"},
                         {"properties", {{"story", {{"type", "string"}, {"maxLength", 40}}}}},
                         {"required", {"story"}}}}};
    const json alone = post("/v1/completions", body);
    std::vector<std::thread> threads;
    std::vector<json> got(16);
    for (int i = 0; i < 16; ++i)
        threads.emplace_back([&, i] {
            got[static_cast<size_t>(i)] = i % 2 == 0
                                              ? post("/v1/completions", body)
                                              : post("/v1/completions", {{"prompt", "The cat"},
                                                                         {"max_tokens", 60},
                                                                         {"temperature", 0.9},
                                                                         {"seed", i}});
        });
    for (auto& t : threads) t.join();
    for (int i = 0; i < 16; i += 2)
        EXPECT_EQ(got[static_cast<size_t>(i)]["choices"][0]["text"], alone["choices"][0]["text"]);
}

struct Refusal {
    const char* name;
    json extra;
    const char* param;  // prefix of the expected error.param
};

TEST_F(StructuredOutput, MalformedSchemasGrammarsAndToolsAre400s) {
    auto rf = [](json schema) {
        return json{
            {"response_format",
             {{"type", "json_schema"}, {"json_schema", {{"name", "x"}, {"schema", schema}}}}}};
    };
    const json tool = {{"type", "function"},
                       {"function", {{"name", "f"}, {"parameters", {{"type", "object"}}}}}};
    const std::vector<Refusal> cases = {
        {"json_schema_missing",
         {{"response_format", {{"type", "json_schema"}}}},
         "response_format.json_schema"},
        {"json_schema_no_name",
         {{"response_format",
           {{"type", "json_schema"}, {"json_schema", {{"schema", {{"type", "object"}}}}}}}},
         "response_format.json_schema.name"},
        {"json_schema_extra_field",
         {{"response_format", {{"type", "json_object"}, {"schema", 1}}}},
         "response_format.schema"},
        {"type_banana", rf({{"type", "banana"}}), "response_format.json_schema.schema"},
        {"type_number", rf({{"type", 3}}), "response_format.json_schema.schema"},
        {"minimum_string", rf({{"type", "integer"}, {"minimum", "x"}}),
         "response_format.json_schema.schema"},
        {"ref_missing", rf({{"$ref", "#/$defs/nope"}}), "response_format.json_schema.schema"},
        {"ref_cycle", rf({{"$ref", "#"}}), "response_format.json_schema.schema"},
        {"not_keyword", rf({{"not", {{"type", "string"}}}}), "response_format.json_schema.schema"},
        {"bad_pattern", rf({{"type", "string"}, {"pattern", "(a"}}),
         "response_format.json_schema.schema"},
        {"lookbehind", rf({{"type", "string"}, {"pattern", "(?<=a)b"}}),
         "response_format.json_schema.schema"},
        {"huge_max_length", rf({{"type", "string"}, {"maxLength", 1000000000}}),
         "response_format.json_schema.schema"},
        {"min_over_max_items", rf({{"type", "array"}, {"minItems", 5}, {"maxItems", 2}}),
         "response_format.json_schema.schema"},
        {"schema_not_object", rf("object"), "response_format.json_schema.schema"},
        {"guided_json_text_broken", {{"guided_json", "{\"type\": "}}, "guided_json"},
        {"guided_json_number", {{"guided_json", 42}}, "guided_json"},
        {"guided_regex_empty", {{"guided_regex", ""}}, "guided_regex"},
        {"guided_regex_backref", {{"guided_regex", "(a)\\1"}}, "guided_regex"},
        {"guided_choice_empty", {{"guided_choice", json::array()}}, "guided_choice"},
        {"guided_choice_numbers", {{"guided_choice", {1, 2}}}, "guided_choice"},
        {"guided_choice_string", {{"guided_choice", "yes"}}, "guided_choice"},
        {"gbnf_undefined_rule", {{"guided_grammar", "root ::= foo"}}, "guided_grammar"},
        {"gbnf_left_recursion", {{"grammar", "root ::= root \"a\" | \"b\""}}, "grammar"},
        {"gbnf_unterminated", {{"grammar", "root ::= \"abc"}}, "grammar"},
        {"gbnf_not_string", {{"grammar", 123}}, "grammar"},
        {"two_constraints",
         {{"guided_json", {{"type", "object"}}}, {"guided_regex", "a+"}},
         "guided_regex"},
        {"tool_choice_unknown_name",
         {{"tools", {tool}},
          {"tool_choice", {{"type", "function"}, {"function", {{"name", "g"}}}}}},
         "tool_choice"},
        {"tool_bad_name",
         {{"tools", {{{"type", "function"}, {"function", {{"name", "bad name!"}}}}}}},
         "tools[0].function.name"},
        {"tool_parameters_not_object",
         {{"tools", {{{"type", "function"}, {"function", {{"name", "f"}, {"parameters", "x"}}}}}}},
         "tools[0].function.parameters"},
        {"tool_unknown_field",
         {{"tools", {{{"type", "function"}, {"function", {{"name", "f"}, {"returns", 1}}}}}}},
         "tools[0].function.returns"},
        {"parallel_not_bool", {{"parallel_tool_calls", "yes"}}, "parallel_tool_calls"},
        {"template_kwargs_list", {{"chat_template_kwargs", {1, 2}}}, "chat_template_kwargs"},
    };
    for (const Refusal& c : cases) {
        json body = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"max_tokens", 4}};
        body.update(c.extra);
        HttpReply r = fetch(port(), "POST", "/v1/chat/completions", body.dump());
        EXPECT_EQ(r.status, 400) << c.name << ": " << r.body;
        json e = r.json();
        ASSERT_TRUE(e.contains("error")) << c.name << ": " << r.body;
        ASSERT_TRUE(e["error"]["param"].is_string()) << c.name << ": " << r.body;
        EXPECT_EQ(e["error"]["param"].get<std::string>().rfind(c.param, 0), 0u)
            << c.name << ": " << r.body;
        EXPECT_FALSE(e["error"]["message"].get<std::string>().empty()) << c.name;
    }
    // Still healthy.
    json ok = post("/v1/chat/completions",
                   {{"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"max_tokens", 4}});
    EXPECT_EQ(ok["choices"].size(), 1u);
}

// A server whose chat template writes Hermes / Qwen tool calls.
class ToolCalls : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        const std::string tmpl = shared_file("templates/Qwen-Qwen2.5-7B-Instruct.jinja");
        if (!exists(tmpl) || server_model_path().empty()) return;
        server::ServeOptions mo;
        mo.model_path = server_model_path();
        mo.chat_template_path = tmpl;
        server_ = TestServer::start_with(mo).release();
    }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }
    void SetUp() override {
        if (!server_) GTEST_SKIP() << "no shared templates";
    }
    static json tools() {
        return json::parse(R"([
          {"type":"function","function":{"name":"get_weather","parameters":{"type":"object",
            "properties":{"city":{"type":"string","maxLength":10},"days":{"type":"integer","minimum":1,"maximum":7}},
            "required":["city","days"],"additionalProperties":false}}},
          {"type":"function","function":{"name":"ping","parameters":{"type":"object","properties":{},
            "additionalProperties":false}}}])");
    }
    static TestServer* server_;
};
TestServer* ToolCalls::server_ = nullptr;

TEST_F(ToolCalls, RequiredStreamedAndNotGiveTheSameCalls) {
    for (bool parallel : {false, true}) {
        json body = {{"messages", {{{"role", "user"}, {"content", "Weather in Oslo for 3 days?"}}}},
                     {"tools", tools()},
                     {"tool_choice", "required"},
                     {"parallel_tool_calls", parallel},
                     {"temperature", 0.9},
                     {"seed", 21},
                     {"max_tokens", 300}};
        HttpReply full = fetch(server_->port, "POST", "/v1/chat/completions", body.dump());
        ASSERT_EQ(full.status, 200) << full.body;
        json msg = full.json()["choices"][0]["message"];
        const std::string full_finish = full.json()["choices"][0]["finish_reason"];
        ASSERT_TRUE(msg["tool_calls"].is_array()) << full.body;
        if (!parallel) {
            // One call, then the grammar is complete.
            EXPECT_EQ(full_finish, "tool_calls") << full.body;
            EXPECT_EQ(msg["tool_calls"].size(), 1u);
            EXPECT_TRUE(msg["content"].is_null()) << full.body;
        }
        // With parallel calls a model that never chooses to stop writes calls
        // up to max_tokens ("length"); the last may be cut short.
        for (const json& c : msg["tool_calls"]) {
            if (full_finish == "length" && &c == &msg["tool_calls"].back()) break;
            EXPECT_EQ(c["type"], "function");
            const json args =
                json::parse(c["function"]["arguments"].get<std::string>(), nullptr, false);
            ASSERT_TRUE(args.is_object()) << c.dump();
            if (c["function"]["name"] == "get_weather") {
                EXPECT_TRUE(args["city"].is_string());
                EXPECT_GE(args["days"].get<int>(), 1);
                EXPECT_LE(args["days"].get<int>(), 7);
            } else {
                EXPECT_EQ(c["function"]["name"], "ping");
            }
        }
        body["stream"] = true;
        HttpReply s = fetch(server_->port, "POST", "/v1/chat/completions", body.dump());
        ASSERT_EQ(s.status, 200);
        std::vector<json> calls;
        std::string content, finish;
        for (const std::string& d : s.sse_data()) {
            if (d == "[DONE]") continue;
            json j = json::parse(d);
            for (const json& c : j["choices"]) {
                if (!c["finish_reason"].is_null()) finish = c["finish_reason"];
                const json& delta = c["delta"];
                if (delta.contains("content")) content += delta["content"].get<std::string>();
                if (!delta.contains("tool_calls")) continue;
                for (const json& t : delta["tool_calls"]) {
                    const size_t i = t["index"];
                    if (i == calls.size()) {
                        ASSERT_TRUE(t.contains("id")) << "a call's first fragment names it: " << d;
                        calls.push_back(
                            {{"id", t["id"]}, {"name", t["function"]["name"]}, {"arguments", ""}});
                    }
                    ASSERT_LT(i, calls.size());
                    calls[i]["arguments"] = calls[i]["arguments"].get<std::string>() +
                                            t["function"]["arguments"].get<std::string>();
                }
            }
        }
        EXPECT_EQ(finish, full_finish);
        EXPECT_EQ(content, msg["content"].is_null() ? "" : msg["content"].get<std::string>());
        ASSERT_EQ(calls.size(), msg["tool_calls"].size());
        for (size_t i = 0; i < calls.size(); ++i) {
            EXPECT_EQ(calls[i]["name"], msg["tool_calls"][i]["function"]["name"]);
            EXPECT_EQ(calls[i]["arguments"], msg["tool_calls"][i]["function"]["arguments"]);
        }
    }
}

TEST_F(ToolCalls, AutoWithoutParallelCallsKeepsTheFirstCall) {
    // Two calls written by the model (forced by a regex here), one kept.
    const std::string two =
        "<tool_call>\n\\{\"name\": \"ping\", \"arguments\": \\{\\}\\}\n</tool_call>\n"
        "<tool_call>\n\\{\"name\": \"ping\", \"arguments\": \\{\\}\\}\n</tool_call>";
    for (bool parallel : {true, false}) {
        json body = {{"messages", {{{"role", "user"}, {"content", "ping twice"}}}},
                     {"tools", tools()},
                     {"parallel_tool_calls", parallel},
                     {"guided_regex", two},
                     {"max_tokens", 200}};
        for (bool stream : {false, true}) {
            body["stream"] = stream;
            HttpReply r = fetch(server_->port, "POST", "/v1/chat/completions", body.dump());
            ASSERT_EQ(r.status, 200) << r.body;
            size_t calls = 0;
            if (!stream) {
                calls = r.json()["choices"][0]["message"]["tool_calls"].size();
            } else {
                for (const std::string& d : r.sse_data()) {
                    if (d == "[DONE]") continue;
                    const json delta = json::parse(d)["choices"][0]["delta"];
                    if (delta.contains("tool_calls"))
                        for (const json& t : delta["tool_calls"])
                            calls = std::max(calls, t["index"].get<size_t>() + 1);
                }
            }
            EXPECT_EQ(calls, parallel ? 2u : 1u) << "stream " << stream << ": " << r.body;
        }
    }
}

TEST_F(ToolCalls, ToolHistoryRendersAndAutoReadsPlainAnswers) {
    // A whole tool round trip in the history; auto with a model that answers in prose.
    json body = json::parse(R"({"messages":[
        {"role":"user","content":"Weather?"},
        {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",
          "function":{"name":"get_weather","arguments":"{\"city\": \"Oslo\", \"days\": 1}"}}]},
        {"role":"tool","tool_call_id":"call_1","content":"sunny"}],
        "temperature":0,"max_tokens":20})");
    body["tools"] = tools();
    HttpReply r = fetch(server_->port, "POST", "/v1/chat/completions", body.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    json c = r.json()["choices"][0];
    // stories260K writes stories, not tool calls: all content, no markup.
    EXPECT_EQ(c["message"]["content"].get<std::string>().find("<tool_call>"), std::string::npos);
    EXPECT_NE(c["finish_reason"], "tool_calls");
}

}  // namespace
}  // namespace ig::test

namespace ig::test {
namespace {

// --reasoning-parser qwen3: <think>...</think> becomes reasoning_content,
// streamed as its own deltas; chat_template_kwargs reach the template.
TEST(Reasoning, ThinkingIsSplitOffStreamedAndNot) {
    if (server_model_path().empty()) GTEST_SKIP() << "no model";
    server::ServeOptions mo;
    mo.model_path = server_model_path();
    mo.reasoning_parser = "qwen3";
    auto srv = TestServer::start_with(mo, {}, /*with_chat=*/true);
    ASSERT_NE(srv, nullptr);
    // The grammar makes a model that never thinks write a thought, then an answer.
    json body = {{"messages", {{{"role", "user"}, {"content", "hi"}}}},
                 {"guided_regex", "<think>[a-z]{1,12}( [a-z]{1,12}){0,3}</think>[a-z]{1,12}"},
                 {"temperature", 1.0},
                 {"seed", 9},
                 {"max_tokens", 120}};
    HttpReply full = fetch(srv->port, "POST", "/v1/chat/completions", body.dump());
    ASSERT_EQ(full.status, 200) << full.body;
    const json msg = full.json()["choices"][0]["message"];
    ASSERT_TRUE(msg.contains("reasoning_content")) << full.body;
    const std::string thought = msg["reasoning_content"], answer = msg["content"];
    EXPECT_TRUE(std::regex_match(thought, std::regex("[a-z]{1,12}( [a-z]{1,12}){0,3}"))) << thought;
    EXPECT_TRUE(std::regex_match(answer, std::regex("[a-z]{1,12}"))) << answer;
    body["stream"] = true;
    HttpReply s = fetch(srv->port, "POST", "/v1/chat/completions", body.dump());
    ASSERT_EQ(s.status, 200);
    std::string r, c;
    for (const std::string& d : s.sse_data()) {
        if (d == "[DONE]") continue;
        const json delta = json::parse(d)["choices"][0]["delta"];
        if (delta.contains("reasoning_content")) r += delta["reasoning_content"].get<std::string>();
        if (delta.contains("content")) c += delta["content"].get<std::string>();
    }
    EXPECT_EQ(r, thought);
    EXPECT_EQ(c, answer);
}

TEST(Reasoning, ChatTemplateKwargsReachTheTemplate) {
    const std::string cfg = shared_file("tokenizers/hf/qwen3/tokenizer_config.json");
    if (!exists(cfg) || server_model_path().empty()) GTEST_SKIP() << "no shared data";
    std::ifstream in(cfg);
    const json tc = json::parse(in);
    TempDir dir;
    const std::string tmpl = dir.file("qwen3.jinja");
    std::ofstream(tmpl) << tc["chat_template"].get<std::string>();
    server::ServeOptions mo;
    mo.model_path = server_model_path();
    mo.chat_template_path = tmpl;
    auto srv = TestServer::start_with(mo);
    ASSERT_NE(srv, nullptr);
    json body = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"max_tokens", 1}};
    HttpReply plain = fetch(srv->port, "POST", "/v1/chat/completions", body.dump());
    body["chat_template_kwargs"] = {{"enable_thinking", false}};
    HttpReply off = fetch(srv->port, "POST", "/v1/chat/completions", body.dump());
    ASSERT_EQ(plain.status, 200) << plain.body;
    ASSERT_EQ(off.status, 200) << off.body;
    // Qwen3 writes an empty <think></think> block when thinking is off.
    EXPECT_GT(off.json()["usage"]["prompt_tokens"].get<int>(),
              plain.json()["usage"]["prompt_tokens"].get<int>());
}

}  // namespace
}  // namespace ig::test
