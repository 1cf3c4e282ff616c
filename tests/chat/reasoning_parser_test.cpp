// Reasoning parsers (<think> and gpt-oss harmony), the composition with the
// tool-call parsers (ChatOutputParser), and prompt_opens_reasoning; every
// text also checked under every split.
#include <gtest/gtest.h>

#include "chat/chat_output_parser.h"
#include "chat/reasoning_parser.h"
#include "parser_check.h"

namespace ig {
namespace {

test::StreamFactory reasoning(ReasoningFormat f, bool start_in = false) {
    return [f, start_in] {
        std::shared_ptr<ReasoningParser> p = ReasoningParser::create(f, {start_in});
        return test::DeltaStream{[p](std::string_view t) { return p->feed(t); },
                                 [p] { return p->finish(); }};
    };
}

test::StreamFactory output(ReasoningFormat rf, bool start_in, ToolCallFormat tf) {
    return [=] {
        auto p = std::make_shared<ChatOutputParser>(rf, ReasoningOptions{start_in}, tf,
                                                    make_call_id_generator(9));
        return test::DeltaStream{[p](std::string_view t) { return p->feed(t); },
                                 [p] { return p->finish(); }};
    };
}

void expect_split(const test::StreamFactory& make, std::string_view text,
                  std::string_view reasoning_content, std::string_view content) {
    const ParsedMessage m = test::expect_split_invariant(make, text);
    EXPECT_EQ(m.reasoning_content, reasoning_content) << text;
    EXPECT_EQ(m.content, content) << text;
    EXPECT_TRUE(m.tool_calls.empty()) << text;
}

constexpr auto kThink = ReasoningFormat::Think;

TEST(ReasoningNames, RoundTripAndAliases) {
    for (ReasoningFormat f : {ReasoningFormat::None, kThink, ReasoningFormat::GptOss}) {
        auto back = parse_reasoning_format(reasoning_format_name(f));
        ASSERT_TRUE(back.ok());
        EXPECT_EQ(*back, f);
    }
    EXPECT_EQ(*parse_reasoning_format("deepseek_r1"), kThink);
    EXPECT_EQ(*parse_reasoning_format("qwen3"), kThink);
    auto bad = parse_reasoning_format("r1");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("none, think, gpt_oss"), std::string::npos);
}

TEST(Think, ModelOpensThinking) {
    expect_split(reasoning(kThink), "<think>\nI think.\nMore.\n</think>\n\nAnswer.",
                 "I think.\nMore.", "Answer.");
    expect_split(reasoning(kThink), "  \n<think>x</think>y", "x", "y");
    expect_split(reasoning(kThink), "<think></think>Answer", "", "Answer");
}

TEST(Think, NoThinkingIsAllContent) {
    expect_split(reasoning(kThink), "Answer only.", "", "Answer only.");
    expect_split(reasoning(kThink), "  lead and trail  ", "", "  lead and trail  ");
    expect_split(reasoning(kThink), "<thinking>no</thinking>", "", "<thinking>no</thinking>");
    expect_split(reasoning(kThink), "a <think> b </think> c", "", "a <think> b </think> c");
    expect_split(reasoning(kThink), "<thin", "", "<thin");
}

TEST(Think, CutShortThinkingStaysThinking) {
    expect_split(reasoning(kThink), "<think>abc", "abc", "");
    expect_split(reasoning(kThink), "<think>abc</thi", "abc</thi", "");
}

TEST(Think, PromptOpenedThinking) {
    expect_split(reasoning(kThink, true), "I think.\n</think>\n\nAnswer.", "I think.", "Answer.");
    expect_split(reasoning(kThink, true), "still thinking", "still thinking", "");
    expect_split(reasoning(kThink, true), "<think>\nfoo</think>bar", "foo", "bar");
    expect_split(reasoning(kThink, true), "</think>Only answer", "", "Only answer");
}

TEST(Think, ThinkingStreamsBeforeItCloses) {
    auto p = ReasoningParser::create(kThink, {true});
    ChatDelta d = p->feed("Let me think ");
    EXPECT_EQ(d.reasoning_content, "Let me think");  // a trailing space may precede </think>
    d = p->feed("hard.</thi");
    EXPECT_EQ(d.reasoning_content, " hard.");
    d = p->feed("nk>\n\nThe answer");
    EXPECT_EQ(d.content, "The answer");
    EXPECT_TRUE(p->finish().empty());
}

TEST(GptOssReasoning, ChannelsWithoutTools) {
    const auto make = reasoning(ReasoningFormat::GptOss);
    expect_split(make,
                 "<|channel|>analysis<|message|>Think.<|end|><|start|>assistant<|channel|>final"
                 "<|message|>Done.<|return|>",
                 "Think.", "Done.");
    // Without tools a message to a recipient goes where its channel goes.
    expect_split(make,
                 "<|channel|>analysis to=python code<|message|>print(1)<|call|>"
                 "<|start|>assistant<|channel|>commentary to=functions.f<|message|>{}<|call|>",
                 "print(1)", "{}");
}

TEST(NoneReasoning, PassesThrough) {
    expect_split(reasoning(ReasoningFormat::None), "<think>x</think>y", "", "<think>x</think>y");
}

TEST(PromptOpensReasoning, Tails) {
    EXPECT_TRUE(prompt_opens_reasoning("<｜Assistant｜><think>\n"));
    EXPECT_TRUE(prompt_opens_reasoning("<|im_start|>assistant\n<think>"));
    EXPECT_FALSE(prompt_opens_reasoning("<|im_start|>assistant\n<think>\n\n</think>\n\n"));
    EXPECT_FALSE(prompt_opens_reasoning("<|im_start|>assistant\n"));
    EXPECT_FALSE(prompt_opens_reasoning(""));
}

TEST(DetectReasoning, Markers) {
    EXPECT_EQ(detect_reasoning_format("{{ '<think>\\n' }}"), kThink);
    EXPECT_EQ(detect_reasoning_format("<|start|>assistant<|channel|>"), ReasoningFormat::GptOss);
    EXPECT_EQ(detect_reasoning_format("{{ messages }}"), ReasoningFormat::None);
}

TEST(ChatOutput, ThinkThenHermesCalls) {
    const ParsedMessage m = test::expect_split_invariant(
        output(kThink, false, ToolCallFormat::Hermes),
        "<think>Need a tool.</think>\n\nChecking. <tool_call>\n{\"name\": \"f\", \"arguments\": "
        "{\"a\": 1}}\n</tool_call>");
    EXPECT_EQ(m.reasoning_content, "Need a tool.");
    EXPECT_EQ(m.content, "Checking.");
    ASSERT_EQ(m.tool_calls.size(), 1u);
    EXPECT_EQ(m.tool_calls[0].arguments, R"({"a": 1})");
}

TEST(ChatOutput, ToolMarkupInsideThinkingIsThinking) {
    const ParsedMessage m = test::expect_split_invariant(
        output(kThink, true, ToolCallFormat::Hermes),
        "maybe <tool_call>{\"name\": \"f\"}</tool_call>?</think>No call.");
    EXPECT_EQ(m.reasoning_content, "maybe <tool_call>{\"name\": \"f\"}</tool_call>?");
    EXPECT_EQ(m.content, "No call.");
    EXPECT_TRUE(m.tool_calls.empty());
}

TEST(ChatOutput, GptOssIsParsedOnceWhateverTheReasoningFormat) {
    const std::string text =
        "<|channel|>analysis<|message|>Weather needed.<|end|><|start|>assistant<|channel|>"
        "commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\":\"Oslo\"}"
        "<|call|>";
    for (ReasoningFormat rf : {ReasoningFormat::GptOss, ReasoningFormat::None}) {
        const ParsedMessage m =
            test::expect_split_invariant(output(rf, false, ToolCallFormat::GptOss), text);
        EXPECT_EQ(m.reasoning_content, "Weather needed.");
        EXPECT_EQ(m.content, "");
        ASSERT_EQ(m.tool_calls.size(), 1u);
        EXPECT_EQ(m.tool_calls[0].name, "get_weather");
        EXPECT_EQ(m.tool_calls[0].arguments, R"({"city":"Oslo"})");
    }
    auto p = ChatOutputParser(ReasoningFormat::GptOss, {}, ToolCallFormat::GptOss,
                              make_call_id_generator(1));
    parse_complete(p, text);
    EXPECT_TRUE(p.saw_tool_call());
}

TEST(ChatOutput, NothingToParse) {
    const ParsedMessage m = test::expect_split_invariant(
        output(ReasoningFormat::None, false, ToolCallFormat::None), "<think>a</think>");
    EXPECT_EQ(m.content, "<think>a</think>");
}

}  // namespace
}  // namespace ig
