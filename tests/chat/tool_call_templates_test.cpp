// The parsers against the real chat templates in ../shared/templates: each
// template's markers pick its format, and what a template writes for an
// assistant message with tool calls (rendered by our Jinja engine, which the
// oracle tests hold to jinja2) parses back to those calls exactly.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "chat/chat_output_parser.h"
#include "chat/chat_template.h"
#include "chat/reasoning_parser.h"
#include "chat/tool_call_parser.h"
#include "parser_check.h"
#include "support/test_support.h"

namespace ig {
namespace {

using ojson = nlohmann::ordered_json;

// Every template in shared/templates and the format it writes. A new
// template must be added here.
const std::map<std::string, ToolCallFormat> kFormats = {
    {"CohereForAI-c4ai-command-r-plus-tool_use", ToolCallFormat::CommandR},
    {"CohereForAI-c4ai-command-r7b-12-2024-tool_use", ToolCallFormat::CommandR},
    {"NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use", ToolCallFormat::Hermes},
    {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use", ToolCallFormat::Hermes},
    {"Qwen-Qwen2.5-7B-Instruct", ToolCallFormat::Hermes},
    // DeepSeek's own <｜tool▁calls▁begin｜> format has no parser (yet).
    {"deepseek-ai-DeepSeek-R1-Distill-Llama-8B", ToolCallFormat::None},
    {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", ToolCallFormat::None},
    {"fireworks-ai-llama-3-firefunction-v2", ToolCallFormat::Firefunction},
    {"google-gemma-2-2b-it", ToolCallFormat::None},
    {"meetkai-functionary-medium-v3.1", ToolCallFormat::Functionary31},
    {"meetkai-functionary-medium-v3.2", ToolCallFormat::Functionary32},
    {"meta-llama-Llama-3.1-8B-Instruct", ToolCallFormat::Llama3Json},
    {"meta-llama-Llama-3.2-3B-Instruct", ToolCallFormat::Llama3Json},
    {"meta-llama-Llama-3.3-70B-Instruct", ToolCallFormat::Llama3Json},
    {"microsoft-Phi-3.5-mini-instruct", ToolCallFormat::None},
    {"mistralai-Mistral-Nemo-Instruct-2407", ToolCallFormat::Mistral},
};

// Where an assistant turn ends in each family (end-of-turn tokens, or the
// next turn's start when the template writes no end).
const char* const kTurnEnds[] = {"<|im_end|>",
                                 "<|eot_id|>",
                                 "<|eom_id|>",
                                 "</s>",
                                 "<|END_OF_TURN_TOKEN|>",
                                 "<|START_OF_TURN_TOKEN|>"};

const char* const kTools = R"([{"type": "function", "function": {"name": "get_weather",
  "description": "Get the weather", "parameters": {"type": "object", "properties":
  {"city": {"type": "string", "description": "City"}, "unit": {"type": "string",
  "description": "Unit"}}, "required": ["city"]}}}])";

std::map<std::string, std::string> load_templates() {
    std::map<std::string, std::string> out;
    const std::string dir = test::shared_file("templates");
    if (!test::exists(dir)) return out;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        if (e.path().extension() == ".jinja") {
            out[e.path().stem().string()] = test::read_text(e.path().string());
        }
    }
    return out;
}

std::string qwen3_template() {
    const std::string p = test::shared_file("tokenizers/hf/qwen3/tokenizer_config.json");
    if (!test::exists(p)) return {};
    return ojson::parse(test::read_text(p)).value("chat_template", "");
}

// Python's json.dumps: ", " and ": " separators, as templates' tojson writes.
std::string py_dumps(const ojson& j) {
    std::string s = j.dump();
    std::string out;
    bool in_str = false, esc = false;
    for (char c : s) {
        out += c;
        if (in_str) {
            if (esc) {
                esc = false;
            } else if (c == '\\') {
                esc = true;
            } else if (c == '"') {
                in_str = false;
            }
        } else if (c == '"') {
            in_str = true;
        } else if (c == ',' || c == ':') {
            out += ' ';
        }
    }
    return out;
}

struct Rendered {
    bool ok = false;
    std::string answer;  // what the model would have written for the assistant turn
    std::string error;
};

// Renders [user, assistant] and [user] + generation prompt; the assistant's
// text is the difference, up to the end of its turn.
Rendered render_answer(const std::string& source, const ojson& assistant,
                       const ojson& extra = ojson::object()) {
    Rendered out;
    auto tpl = ChatTemplate::parse(source);
    if (!tpl.ok()) {
        out.error = tpl.error().message;
        return out;
    }
    ChatRenderOptions opt;
    opt.bos_token = "<s>";
    opt.eos_token = "</s>";
    opt.tools = ojson::parse(kTools);
    opt.now = 1721980800;
    opt.extra_context = extra;
    const ojson user = {{"role", "user"}, {"content", "What's the weather?"}};
    opt.add_generation_prompt = true;
    auto prompt = tpl->render(ojson::array({user}), opt);
    opt.add_generation_prompt = false;
    auto full = tpl->render(ojson::array({user, assistant}), opt);
    if (!prompt.ok() || !full.ok()) {
        out.error = !prompt.ok() ? prompt.error().message : full.error().message;
        return out;
    }
    const std::string& p = prompt->text;
    const std::string& f = full->text;
    size_t start = p.size();
    if (f.compare(0, p.size(), p) != 0) {
        // Command-R+ writes its instructions after the last turn, so the
        // prompt is no prefix: the answer follows the prompt's last header.
        size_t common = 0;
        while (common < p.size() && common < f.size() && p[common] == f[common]) ++common;
        const std::string header = p.substr(p.size() - std::min<size_t>(p.size(), 17));
        const size_t at = f.find(header, common - std::min(common, header.size()));
        if (at == std::string::npos) {
            out.error = "no generation prompt in the conversation";
            return out;
        }
        start = at + header.size();
    }
    out.answer = f.substr(start);
    size_t end = out.answer.size();
    for (const char* t : kTurnEnds) end = std::min(end, out.answer.find(t));
    out.answer.resize(end);
    out.ok = true;
    return out;
}

ojson call(const std::string& name, const ojson& args, int i, bool args_as_string) {
    return {{"id", "abcdefgh" + std::to_string(i)},
            {"type", "function"},
            {"function",
             {{"name", name}, {"arguments", args_as_string ? ojson(py_dumps(args)) : args}}}};
}

ojson assistant_with(const ojson& calls) {
    return {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", calls}};
}

test::StreamFactory factory(ToolCallFormat f) {
    return [f] {
        std::shared_ptr<ToolCallParser> p = ToolCallParser::create(f, make_call_id_generator(3));
        return test::DeltaStream{[p](std::string_view t) { return p->feed(t); },
                                 [p] { return p->finish(); }};
    };
}

// The parsed calls are the calls the template was given.
void expect_calls(const std::string& label, ToolCallFormat format, const std::string& answer,
                  const std::vector<std::pair<std::string, ojson>>& calls) {
    SCOPED_TRACE(label + " answer: " + answer);
    const ParsedMessage m = test::expect_split_invariant(factory(format), answer, 10);
    // Command-R+ writes a None content as "None"; nothing else is content.
    EXPECT_TRUE(m.content.empty() || m.content == "None") << m.content;
    ASSERT_EQ(m.tool_calls.size(), calls.size()) << test::describe(m);
    for (size_t i = 0; i < calls.size(); ++i) {
        EXPECT_EQ(m.tool_calls[i].name, calls[i].first);
        const ojson args = ojson::parse(m.tool_calls[i].arguments, nullptr, false);
        EXPECT_EQ(args, calls[i].second) << m.tool_calls[i].arguments;
    }
}

TEST(ToolCallTemplates, DetectsEveryTemplatesFormat) {
    const auto templates = load_templates();
    if (templates.empty()) GTEST_SKIP() << "shared/templates absent";
    for (const auto& [name, source] : templates) {
        auto it = kFormats.find(name);
        ASSERT_NE(it, kFormats.end()) << name << ": add it to kFormats";
        EXPECT_EQ(detect_tool_call_format(source), it->second)
            << name << " detected as " << tool_call_format_name(detect_tool_call_format(source));
    }
    const std::string qwen3 = qwen3_template();
    if (!qwen3.empty()) {
        EXPECT_EQ(detect_tool_call_format(qwen3), ToolCallFormat::Hermes);
    }
    EXPECT_EQ(detect_tool_call_format("{{ '<|start|>assistant<|channel|>final<|message|>' }}"),
              ToolCallFormat::GptOss);
}

TEST(ToolCallTemplates, WhatTemplatesWriteParsesBack) {
    const auto templates = load_templates();
    if (templates.empty()) GTEST_SKIP() << "shared/templates absent";
    const std::vector<std::pair<std::string, ojson>> two = {
        {"get_weather", {{"city", "Paris"}, {"unit", "celsius"}}},
        {"get_weather", {{"city", "Saint-\xC3\x89tienne \"x\""}, {"days", {1, 2.5, nullptr}}}}};
    const ojson extra = {{"functions", kTools}, {"datetime", "2024-07-26"}};
    int checked = 0;
    for (const auto& [name, source] : templates) {
        const ToolCallFormat format = kFormats.at(name);
        if (format == ToolCallFormat::None) continue;
        for (size_t n : {1u, 2u}) {
            // Templates differ in what they accept: arguments as an object or
            // as the JSON string OpenAI sends (Qwen2.5 and Llama then write a
            // JSON string, read back decoded); some take one call only.
            std::string errors;
            int rendered = 0;
            for (bool as_string : {false, true}) {
                ojson calls = ojson::array();
                for (size_t i = 0; i < n; ++i) {
                    calls.push_back(
                        call(two[i].first, two[i].second, static_cast<int>(i), as_string));
                }
                const Rendered r = render_answer(source, assistant_with(calls), extra);
                if (!r.ok) {
                    errors += r.error + "; ";
                    continue;
                }
                expect_calls(name + " x" + std::to_string(n) + (as_string ? " (string)" : ""),
                             format, r.answer, {two.begin(), two.begin() + static_cast<long>(n)});
                ++rendered;
                ++checked;
            }
            if (rendered == 0) {
                EXPECT_EQ(n, 2u) << name << " renders no call: " << errors;
            }
        }
    }
    std::printf("[templates] %d renderings parsed back\n", checked);
    EXPECT_GE(checked, 30);
}

TEST(ToolCallTemplates, LlamaBuiltinToolsParseBack) {
    const auto templates = load_templates();
    if (templates.empty()) GTEST_SKIP() << "shared/templates absent";
    const ojson extra = {{"builtin_tools", {"brave_search", "wolfram_alpha"}}};
    for (const char* name :
         {"meta-llama-Llama-3.1-8B-Instruct", "meta-llama-Llama-3.3-70B-Instruct"}) {
        // The template writes the value between quotes unescaped: keep it quote-free.
        const ojson args = {{"query", "weather in Paris, 'today'"}};
        Rendered r = render_answer(
            templates.at(name),
            assistant_with(ojson::array({call("brave_search", args, 0, false)})), extra);
        ASSERT_TRUE(r.ok) << r.error;
        EXPECT_EQ(r.answer.rfind("<|python_tag|>brave_search.call(", 0), 0u) << r.answer;
        expect_calls(name, ToolCallFormat::Llama3Json, r.answer, {{"brave_search", args}});
    }
}

TEST(ToolCallTemplates, Qwen3ThinkingThenCallsParseBack) {
    const std::string source = qwen3_template();
    if (source.empty()) GTEST_SKIP() << "shared/tokenizers/hf/qwen3 absent";
    EXPECT_EQ(detect_reasoning_format(source), ReasoningFormat::Think);
    const ojson args = {{"city", "Paris"}};
    ojson msg = assistant_with(ojson::array({call("get_weather", args, 0, false)}));
    msg["content"] = "I'll look it up.";
    msg["reasoning_content"] = "The user wants the weather.\nUse the tool.";
    Rendered r = render_answer(source, msg);
    ASSERT_TRUE(r.ok) << r.error;
    SCOPED_TRACE(r.answer);
    auto make = [] {
        auto p =
            std::make_shared<ChatOutputParser>(ReasoningFormat::Think, ReasoningOptions{},
                                               ToolCallFormat::Hermes, make_call_id_generator(1));
        return test::DeltaStream{[p](std::string_view t) { return p->feed(t); },
                                 [p] { return p->finish(); }};
    };
    const ParsedMessage m = test::expect_split_invariant(make, r.answer);
    EXPECT_EQ(m.reasoning_content, "The user wants the weather.\nUse the tool.");
    EXPECT_EQ(m.content, "I'll look it up.");
    ASSERT_EQ(m.tool_calls.size(), 1u);
    EXPECT_EQ(m.tool_calls[0].name, "get_weather");
    EXPECT_EQ(ojson::parse(m.tool_calls[0].arguments), args);
}

TEST(ToolCallTemplates, WhichPromptsOpenReasoning) {
    const auto templates = load_templates();
    if (templates.empty()) GTEST_SKIP() << "shared/templates absent";
    auto tail = [](const std::string& source, const ojson& extra) {
        auto tpl = ChatTemplate::parse(source);
        EXPECT_TRUE(tpl.ok());
        ChatRenderOptions opt;
        opt.extra_context = extra;
        auto r = tpl->render(ojson::array({{{"role", "user"}, {"content", "Hi"}}}), opt);
        EXPECT_TRUE(r.ok()) << r.error().message;
        return r.ok() ? r->text : std::string();
    };
    for (const auto& [name, source] : templates) {
        const bool deepseek = name.find("DeepSeek-R1") != std::string::npos;
        const ojson extra = {{"functions", kTools}, {"datetime", "2024-07-26"}};
        EXPECT_EQ(prompt_opens_reasoning(tail(source, extra)), deepseek) << name;
        EXPECT_EQ(detect_reasoning_format(source),
                  deepseek ? ReasoningFormat::Think : ReasoningFormat::None)
            << name;
    }
    const std::string qwen3 = qwen3_template();
    if (!qwen3.empty()) {
        // Qwen3 lets the model open <think>; with thinking off the prompt closes it.
        EXPECT_FALSE(prompt_opens_reasoning(tail(qwen3, ojson::object())));
        EXPECT_FALSE(prompt_opens_reasoning(tail(qwen3, {{"enable_thinking", false}})));
    }
}

}  // namespace
}  // namespace ig
