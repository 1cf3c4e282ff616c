// Tool-call parsers, format by format: what the model writes -> content and
// calls, each text also checked under every split (parser_check.h), and the
// malformed cases: the text comes back as content, never lost.
#include <gtest/gtest.h>

#include <cctype>

#include "chat/tool_call_parser.h"
#include "parser_check.h"

namespace ig {
namespace {

// prefix + n ASCII letters or digits.
bool is_id(std::string_view id, std::string_view prefix = "call_", size_t n = 24) {
    if (id.substr(0, prefix.size()) != prefix || id.size() != prefix.size() + n) return false;
    for (char c : id.substr(prefix.size())) {
        if (!std::isalnum(static_cast<unsigned char>(c))) return false;
    }
    return true;
}

struct Call {
    std::string name, args;
};

test::StreamFactory factory(ToolCallFormat f) {
    return [f] {
        std::shared_ptr<ToolCallParser> p = ToolCallParser::create(f, make_call_id_generator(7));
        return test::DeltaStream{[p](std::string_view t) { return p->feed(t); },
                                 [p] { return p->finish(); }};
    };
}

ParsedMessage expect_parse(ToolCallFormat f, std::string_view text, std::string_view content,
                           const std::vector<Call>& calls, std::string_view reasoning = "") {
    const ParsedMessage m = test::expect_split_invariant(factory(f), text);
    EXPECT_EQ(m.content, content) << text;
    EXPECT_EQ(m.reasoning_content, reasoning) << text;
    EXPECT_EQ(m.tool_calls.size(), calls.size()) << text << "\n" << test::describe(m);
    for (size_t i = 0; i < calls.size() && i < m.tool_calls.size(); ++i) {
        EXPECT_EQ(m.tool_calls[i].name, calls[i].name) << text;
        EXPECT_EQ(m.tool_calls[i].arguments, calls[i].args) << text;
        EXPECT_TRUE(is_id(m.tool_calls[i].id)) << m.tool_calls[i].id;
    }
    auto parser = ToolCallParser::create(f, make_call_id_generator(7));
    parse_complete(*parser, text);
    EXPECT_EQ(parser->saw_tool_call(), !calls.empty()) << text;
    return m;
}

// Text that is not a call comes back whole as content.
void expect_content(ToolCallFormat f, std::string_view text) {
    expect_parse(f, text, text, {});
}

constexpr auto kHermes = ToolCallFormat::Hermes;

TEST(ToolCallFormatNames, RoundTrip) {
    for (ToolCallFormat f :
         {ToolCallFormat::None, ToolCallFormat::Hermes, ToolCallFormat::Llama3Json,
          ToolCallFormat::Mistral, ToolCallFormat::Functionary31, ToolCallFormat::Functionary32,
          ToolCallFormat::CommandR, ToolCallFormat::GptOss, ToolCallFormat::Firefunction}) {
        auto back = parse_tool_call_format(tool_call_format_name(f));
        ASSERT_TRUE(back.ok());
        EXPECT_EQ(*back, f);
    }
    auto bad = parse_tool_call_format("qwen");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("hermes, llama3_json, mistral"), std::string::npos)
        << bad.error().message;
}

TEST(CallIds, DeterministicPerSeedAndShaped) {
    auto a = make_call_id_generator(1), b = make_call_id_generator(1);
    const std::string first = a();
    EXPECT_EQ(first, b());
    EXPECT_NE(first, a());
    EXPECT_TRUE(is_id(first));
    EXPECT_TRUE(is_id(make_call_id_generator(3, "", 9)(), "", 9));
    EXPECT_NE(random_call_id_generator()(), random_call_id_generator()());
}

TEST(NoneFormat, PassesThrough) {
    expect_content(ToolCallFormat::None, "<tool_call>{\"name\": \"f\"}</tool_call> text");
}

TEST(Hermes, SingleCall) {
    expect_parse(kHermes,
                 "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", "
                 "\"unit\": \"c\"}}\n</tool_call>",
                 "", {{"get_weather", R"({"city": "Paris", "unit": "c"})"}});
}

TEST(Hermes, ParallelCallsWithContentAround) {
    expect_parse(kHermes,
                 "Let me check both.\n\n<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": "
                 "[1, 2, {\"y\": null}]}}\n</tool_call>\n<tool_call>\n{\"name\": \"b\", "
                 "\"arguments\": {}}\n</tool_call>\n\nDone.",
                 "Let me check both.Done.", {{"a", R"({"x": [1, 2, {"y": null}]})"}, {"b", "{}"}});
}

TEST(Hermes, ArgumentsAsJsonStringAreDecoded) {
    // Qwen2.5's template writes string arguments this way.
    expect_parse(
        kHermes,
        "<tool_call>\n{\"name\": \"f\", \"arguments\": \"{\\\"city\\\": \\\"Par\\u00eds\\\"}\"}\n"
        "</tool_call>",
        "",
        {{"f",
          "{\"city\": \"Par\xC3\xAD"
          "s\"}"}});
    expect_parse(kHermes, R"(<tool_call>{"name": "f", "arguments": ""}</tool_call>)", "",
                 {{"f", "{}"}});
}

TEST(Hermes, ArgumentsBeforeNameAndExtraKeys) {
    expect_parse(
        kHermes,
        R"(<tool_call>{"id": 12.5e3, "arguments": {"a": "}"}, "type": [true], "name": "f"}</tool_call>)",
        "", {{"f", R"({"a": "}"})"}});
}

TEST(Hermes, NoArgumentsAndNoClosingTag) {
    expect_parse(kHermes, R"(<tool_call>{"name": "now"}</tool_call>)", "", {{"now", "{}"}});
    expect_parse(kHermes, "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}}\n", "",
                 {{"f", R"({"a": 1})"}});
}

TEST(Hermes, MarkupInsideArgumentStringsIsArgument) {
    expect_parse(kHermes,
                 R"(<tool_call>{"name": "f", "arguments": {"s": "}</tool_call><tool_call>{\"\\"}})"
                 "</tool_call>",
                 "", {{"f", R"({"s": "}</tool_call><tool_call>{\"\\"})"}});
}

TEST(Hermes, EscapedName) {
    expect_parse(kHermes, R"(<tool_call>{"name": "caf\u00e9", "arguments": {}}</tool_call>)", "",
                 {{"caf\xC3\xA9", "{}"}});
}

TEST(Hermes, MarkerLookalikesAreContent) {
    expect_content(kHermes, "a <tools> b <tool_cal c <tool");
    expect_content(kHermes, "x < y and <tool_call");
    expect_content(kHermes, "trailing spaces   \n");
}

TEST(Hermes, MalformedBeforeAnnouncementIsContent) {
    expect_content(kHermes, "<tool_call>not json</tool_call>");
    expect_content(kHermes, "<tool_call>{\"arguments\": {\"a\": 1}}</tool_call>");  // no name
    expect_content(kHermes, "<tool_call>{\"name\": 5, \"arguments\": {}}</tool_call>");
    expect_content(kHermes, "<tool_call>{\"name\": \"\", \"arguments\": {}}</tool_call>");
    expect_content(kHermes, "<tool_call>{\"name\": \"f\", \"arguments\": [1]}</tool_call>");
    expect_content(kHermes, "<tool_call>{'name': 'f'}</tool_call>");
    expect_content(kHermes, "Hi <tool_call>{\"name\": \"f\"");  // cut before the arguments
    expect_content(kHermes, "Hi <tool_call>");
    expect_content(kHermes, "<tool_call>{\"name\": \"a\nb\", \"arguments\": {}}</tool_call>");
}

TEST(Hermes, MalformedAfterAnnouncementStaysACall) {
    // Cut short: the call keeps the arguments written so far.
    expect_parse(kHermes, R"(<tool_call>{"name": "f", "arguments": {"a": "hel)", "",
                 {{"f", R"({"a": "hel)"}});
    // Not JSON any more: the rest up to the closing tag is its arguments as written.
    expect_parse(kHermes,
                 "<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": 1 x}}\n</tool_call>\nafter",
                 "after", {{"f", "{\"a\": 1 x}}\n"}});
    // A stray tail after complete arguments is content.
    expect_parse(kHermes, "<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": 1} x", "x",
                 {{"f", R"({"a": 1})"}});
    expect_parse(kHermes, R"(<tool_call>{"name": "f", "arguments": {}} junk</tool_call>)",
                 "junk</tool_call>", {{"f", "{}"}});
}

TEST(Hermes, FailedCallThenGoodCall) {
    expect_parse(kHermes,
                 "<tool_call>oops</tool_call> <tool_call>{\"name\": \"g\", \"arguments\": {}}"
                 "</tool_call>",
                 "<tool_call>oops</tool_call>", {{"g", "{}"}});
}

constexpr auto kLlama = ToolCallFormat::Llama3Json;

TEST(Llama3Json, BareJsonCall) {
    expect_parse(kLlama, R"({"name": "get_weather", "parameters": {"city": "Paris"}})", "",
                 {{"get_weather", R"({"city": "Paris"})"}});
    expect_parse(kLlama, R"(  {"type": "function", "name": "f", "arguments": {"a": [1]}})", "",
                 {{"f", R"({"a": [1]})"}});
}

TEST(Llama3Json, PythonTagJsonCallsSeparatedBySemicolons) {
    expect_parse(
        kLlama,
        R"(<|python_tag|>{"name": "f", "parameters": {"a": 1}}; {"name": "g", "parameters": {}})",
        "", {{"f", R"({"a": 1})"}, {"g", "{}"}});
}

TEST(Llama3Json, BuiltinToolCall) {
    expect_parse(kLlama, R"(<|python_tag|>brave_search.call(query="weather in Paris"))", "",
                 {{"brave_search", R"({"query": "weather in Paris"})"}});
    expect_parse(
        kLlama, R"(<|python_tag|>wolfram_alpha.call(query='2+2 "x"\n', n=3, exact=True, d=None))",
        "", {{"wolfram_alpha", R"({"query": "2+2 \"x\"\n", "n": 3, "exact": true, "d": null})"}});
}

TEST(Llama3Json, PythonTagCodeIsAPythonCall) {
    expect_parse(kLlama, "<|python_tag|>import math\nprint(math.pi)", "",
                 {{"python", R"x({"code": "import math\nprint(math.pi)"})x"}});
}

TEST(Llama3Json, AnswersThatAreNotCalls) {
    expect_content(kLlama, "The weather is nice.");
    expect_content(kLlama, R"({"name": "Bob", "age": 3})");  // no parameters
    expect_content(kLlama, R"({"answer": 42})");
    expect_content(kLlama, R"(Sure: {"name": "f", "parameters": {}})");  // not at the start
    expect_content(kLlama, R"(  {"name": "f", "parameters": )");
}

TEST(Llama3Json, TextAfterTheCallIsContent) {
    expect_parse(kLlama, R"({"name": "f", "parameters": {}} and more)", "and more", {{"f", "{}"}});
}

constexpr auto kMistral = ToolCallFormat::Mistral;

TEST(Mistral, ArrayAsTheTemplateWritesIt) {
    expect_parse(
        kMistral,
        R"([TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris", "unit": "c"}, "id": "abcdefgh0"}, {"name": "get_weather", "arguments": {"city": "Lyon"}, "id": "abcdefgh1"}])",
        "",
        {{"get_weather", R"({"city": "Paris", "unit": "c"})"},
         {"get_weather", R"({"city": "Lyon"})"}});
}

TEST(Mistral, NewerFormats) {
    expect_parse(kMistral, R"([TOOL_CALLS]get_weather[ARGS]{"city": "Paris"})", "",
                 {{"get_weather", R"({"city": "Paris"})"}});
    expect_parse(kMistral, R"(Sure. [TOOL_CALLS]f[ARGS]{"a":1}[TOOL_CALLS]g[ARGS]{})", "Sure.",
                 {{"f", R"({"a":1})"}, {"g", "{}"}});
    expect_parse(kMistral, R"([TOOL_CALLS]f[CALL_ID]abc123xyz[ARGS]{"a": 1})", "",
                 {{"f", R"({"a": 1})"}});
    expect_parse(kMistral, R"([TOOL_CALLS] {"name": "f", "arguments": {}})", "", {{"f", "{}"}});
}

TEST(Mistral, Malformed) {
    expect_content(kMistral, "[TOOL_CALLS] hello world");
    expect_content(kMistral, "[TOOL_CALLS]f[ARG]{}");
    expect_content(kMistral, "[TOOL_CALLS][{\"name\": \"f\", \"arguments\": 3}]");
    expect_parse(kMistral, "[TOOL_CALLS]", "", {});  // a lone marker calls nothing
    expect_parse(kMistral, R"([TOOL_CALLS][{"name": "f", "arguments": {}}, {"x": 1}])",
                 R"(, {"x": 1}])", {{"f", "{}"}});
    expect_parse(kMistral, R"([TOOL_CALLS]f[ARGS]{"a": tru [TOOL_CALLS]g[ARGS]{})", "",
                 {{"f", R"({"a": tru )"}, {"g", "{}"}});
}

constexpr auto kF31 = ToolCallFormat::Functionary31;

TEST(Functionary31, Calls) {
    expect_parse(
        kF31,
        R"(<function=get_weather>{"city": "Paris"}</function><function=get_time>{}</function>)", "",
        {{"get_weather", R"({"city": "Paris"})"}, {"get_time", "{}"}});
    expect_parse(kF31, "Checking.\n<function=f>{\"a\": 1}</function>\nDone", "Checking.Done",
                 {{"f", R"({"a": 1})"}});
    expect_parse(kF31, "<|python_tag|>print(\"hi\")", "",
                 {{"python", R"x({"code": "print(\"hi\")"})x"}});
}

TEST(Functionary31, Malformed) {
    expect_content(kF31, "<function=bad name>{}</function>");
    expect_content(kF31, "<function=f>not json</function>");
    expect_content(kF31, "<function=f>");
    expect_parse(kF31, "<function=f>{\"a\": 1,,}</function> ok", "ok", {{"f", "{\"a\": 1,,}"}});
}

constexpr auto kF32 = ToolCallFormat::Functionary32;

TEST(Functionary32, AnswerStartsAfterThePromptsRecipientMarker) {
    // The generation prompt ends with ">>>": the answer starts at the recipient.
    expect_parse(kF32, "get_weather\n{\"city\": \"Paris\", \"unit\": \"c\"}", "",
                 {{"get_weather", R"({"city": "Paris", "unit": "c"})"}});
    expect_parse(kF32, "all\nHello there!", "Hello there!", {});
    expect_parse(kF32,
                 "all\nLet me check.>>>get_weather\n{\"city\": \"Paris\"}>>>get_weather\n"
                 "{\"city\": \"Lyon\"}",
                 "Let me check.",
                 {{"get_weather", R"({"city": "Paris"})"}, {"get_weather", R"({"city": "Lyon"})"}});
    expect_parse(kF32, ">>>f\n{}", "", {{"f", "{}"}});
    expect_parse(kF32, "python\nimport os\nprint(1)", "",
                 {{"python", R"x({"code": "import os\nprint(1)"})x"}});
}

TEST(Functionary32, Malformed) {
    expect_content(kF32, "Hello world");
    expect_content(kF32, "Sure\nthing");
    expect_content(kF32, "all");
    expect_parse(kF32, "all\na >>> b", "a >>> b", {});
    expect_parse(kF32, "f\n{\"a\": nope>>>all\nok", "ok", {{"f", "{\"a\": nope"}});
}

constexpr auto kCommandR = ToolCallFormat::CommandR;

TEST(CommandR, PlusActionBlock) {
    expect_parse(kCommandR,
                 "Action:\n```json\n[\n    {\n        \"tool_name\": \"get_weather\",\n        "
                 "\"parameters\": {\n            \"city\": \"Paris\"\n        }\n    }\n]```",
                 "", {{"get_weather", "{\n            \"city\": \"Paris\"\n        }"}});
    expect_parse(kCommandR, R"(Action: [{"tool_name": "directly-answer", "parameters": {}}])", "",
                 {{"directly-answer", "{}"}});
}

TEST(CommandR, R7bThinkingActionResponse) {
    expect_parse(kCommandR,
                 "<|START_THINKING|>I will look it up.<|END_THINKING|><|START_ACTION|>[\n    "
                 "{\"tool_call_id\": \"0\", \"tool_name\": \"get_weather\", \"parameters\": "
                 "{\"city\": \"Paris\"}},\n    {\"tool_call_id\": \"1\", \"tool_name\": \"g\", "
                 "\"parameters\": {}}\n]<|END_ACTION|>",
                 "", {{"get_weather", R"({"city": "Paris"})"}, {"g", "{}"}}, "I will look it up.");
    expect_parse(kCommandR, "<|START_RESPONSE|>Hello!<|END_RESPONSE|>", "Hello!", {});
}

TEST(CommandR, ActionInProseIsContent) {
    expect_content(kCommandR, "Action: we need to act.");
    expect_content(kCommandR, "Action:\n```json\nnot a list```");
}

constexpr auto kGptOss = ToolCallFormat::GptOss;

TEST(GptOss, AnalysisThenCall) {
    expect_parse(kGptOss,
                 "<|channel|>analysis<|message|>Need the weather.<|end|><|start|>assistant"
                 "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>"
                 "{\"city\":\"Paris\"}<|call|>",
                 "", {{"get_weather", R"({"city":"Paris"})"}}, "Need the weather.");
}

TEST(GptOss, AnalysisThenFinal) {
    expect_parse(kGptOss,
                 "<|channel|>analysis<|message|>Easy.<|end|><|start|>assistant<|channel|>final"
                 "<|message|>The answer is 4.<|return|>",
                 "The answer is 4.", {}, "Easy.");
}

TEST(GptOss, RecipientBeforeChannelPreambleAndNoBody) {
    expect_parse(kGptOss,
                 "<|channel|>commentary<|message|>Checking. <|end|><|start|>assistant "
                 "to=functions.f<|channel|>commentary json<|message|><|call|>",
                 "Checking. ", {{"f", "{}"}});
}

TEST(GptOss, PlainTextAndBrokenHeaders) {
    expect_content(kGptOss, "Just text, no harmony.");
    expect_content(kGptOss, "<|channel|>analysis");  // cut inside the header
    expect_parse(kGptOss, "<|channel|>final<|message|>hi", "hi", {});
}

constexpr auto kFire = ToolCallFormat::Firefunction;

TEST(Firefunction, Calls) {
    expect_parse(
        kFire,
        R"( functools[{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "g", "arguments": {}}])",
        "", {{"get_weather", R"({"city": "Paris"})"}, {"g", "{}"}});
    expect_parse(kFire, R"(Sure functools[{"name": "f", "arguments": {}}])", "Sure", {{"f", "{}"}});
    expect_content(kFire, "functools[oops]");
    expect_content(kFire, "functools");
}

TEST(ParseComplete, EqualsFeedAndFinish) {
    auto a = ToolCallParser::create(kHermes, make_call_id_generator(5));
    const std::string text =
        "pre <tool_call>{\"name\": \"f\", \"arguments\": {\"k\": \"v\"}}</tool_call>";
    const ParsedMessage m = parse_complete(*a, text);
    EXPECT_EQ(m.content, "pre");
    ASSERT_EQ(m.tool_calls.size(), 1u);
    EXPECT_EQ(m.tool_calls[0].id, make_call_id_generator(5)());
}

// Arguments stream while they are written, not when the call ends.
TEST(Streaming, ArgumentsStreamBeforeTheCallEnds) {
    auto p = ToolCallParser::create(kHermes, make_call_id_generator(1));
    ChatDelta d = p->feed("Hi <tool_call>\n{\"name\": \"f\", \"arguments\": {\"text\": \"abc");
    EXPECT_EQ(d.content, "Hi");
    ASSERT_EQ(d.tool_calls.size(), 1u);
    EXPECT_EQ(d.tool_calls[0].name, "f");
    EXPECT_EQ(d.tool_calls[0].arguments, "{\"text\": \"abc");
    d = p->feed("def\"}}\n</tool");
    ASSERT_EQ(d.tool_calls.size(), 1u);
    EXPECT_TRUE(d.tool_calls[0].id.empty());
    EXPECT_EQ(d.tool_calls[0].arguments, "def\"}");
    d = p->feed("_call>");
    EXPECT_TRUE(d.empty());
    EXPECT_TRUE(p->finish().empty());
    EXPECT_TRUE(p->saw_tool_call());
}

TEST(Streaming, PossibleMarkerIsHeldThenReleased) {
    auto p = ToolCallParser::create(kHermes, make_call_id_generator(1));
    EXPECT_EQ(p->feed("Hello <tool").content, "Hello");
    EXPECT_EQ(p->feed("box> ok").content, " <toolbox> ok");
    EXPECT_TRUE(p->finish().empty());
    EXPECT_FALSE(p->saw_tool_call());
}

}  // namespace
}  // namespace ig
