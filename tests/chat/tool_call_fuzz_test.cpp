// Random texts against every parser: 10k strings of markers, JSON pieces and
// random bytes each, fed whole, byte by byte and in random pieces, must not
// crash and must parse the same. And random well-formed messages (random
// content, names and argument objects whose strings hold other formats'
// markup) must parse back exactly: arguments as written, content without
// markup.
#include <gtest/gtest.h>

#include <random>

#include <nlohmann/json.hpp>

#include "chat/chat_output_parser.h"
#include "chat/reasoning_parser.h"
#include "chat/tool_call_parser.h"
#include "parser_check.h"

namespace ig {
namespace {

struct Subject {
    std::string label;
    test::StreamFactory make;
};

std::vector<Subject> subjects() {
    std::vector<Subject> out;
    for (ToolCallFormat f :
         {ToolCallFormat::None, ToolCallFormat::Hermes, ToolCallFormat::Llama3Json,
          ToolCallFormat::Mistral, ToolCallFormat::Functionary31, ToolCallFormat::Functionary32,
          ToolCallFormat::CommandR, ToolCallFormat::GptOss, ToolCallFormat::Firefunction}) {
        out.push_back({std::string(tool_call_format_name(f)), [f] {
                           std::shared_ptr<ToolCallParser> p =
                               ToolCallParser::create(f, make_call_id_generator(11));
                           return test::DeltaStream{[p](std::string_view t) { return p->feed(t); },
                                                    [p] { return p->finish(); }};
                       }});
    }
    for (auto [rf, start] :
         {std::pair{ReasoningFormat::Think, false}, std::pair{ReasoningFormat::Think, true},
          std::pair{ReasoningFormat::GptOss, false}}) {
        out.push_back({std::string("reasoning ") + std::string(reasoning_format_name(rf)) +
                           (start ? " (opened)" : ""),
                       [rf, start] {
                           std::shared_ptr<ReasoningParser> p =
                               ReasoningParser::create(rf, {start});
                           return test::DeltaStream{[p](std::string_view t) { return p->feed(t); },
                                                    [p] { return p->finish(); }};
                       }});
    }
    out.push_back({"think + hermes", [] {
                       auto p = std::make_shared<ChatOutputParser>(
                           ReasoningFormat::Think, ReasoningOptions{}, ToolCallFormat::Hermes,
                           make_call_id_generator(11));
                       return test::DeltaStream{[p](std::string_view t) { return p->feed(t); },
                                                [p] { return p->finish(); }};
                   }});
    return out;
}

const char* const kPieces[] = {"<tool_call>",
                               "</tool_call>",
                               "<tool",
                               "<|python_tag|>",
                               "[TOOL_CALLS]",
                               "[ARGS]",
                               "[CALL_ID]",
                               "<function=",
                               "</function>",
                               ">>>",
                               "all\n",
                               "python\n",
                               "Action:",
                               "```json",
                               "```",
                               "<|START_ACTION|>",
                               "<|END_ACTION|>",
                               "<|START_THINKING|>",
                               "<|END_THINKING|>",
                               "<|START_RESPONSE|>",
                               "<|channel|>",
                               "<|message|>",
                               "<|start|>",
                               "<|end|>",
                               "<|call|>",
                               "<|return|>",
                               "analysis",
                               "final",
                               "commentary",
                               " to=functions.f",
                               "functools[",
                               "<think>",
                               "</think>",
                               "{",
                               "}",
                               "[",
                               "]",
                               "\"name\"",
                               "\"tool_name\"",
                               ":",
                               ",",
                               "\"arguments\"",
                               "\"parameters\"",
                               "\"f\"",
                               "\"",
                               "\\",
                               "\\u00e9",
                               "\\ud83d",
                               "1",
                               "-2.5e3",
                               "true",
                               "null",
                               " ",
                               "\n",
                               ".call(",
                               "x=",
                               "'s'",
                               ")",
                               ";",
                               "get_weather",
                               "f>",
                               "é",
                               "🙂",
                               R"({"name": "f", "arguments": {"a": 1}})",
                               R"({"city": "Paris"})",
                               R"(Action: [{"tool_name": "f", "parameters": {}}])",
                               "<|channel|>commentary to=functions.g"};

std::string random_text(std::mt19937& rng) {
    std::string s;
    const int n = std::uniform_int_distribution<int>(0, 24)(rng);
    for (int i = 0; i < n; ++i) {
        if (rng() % 6 == 0) {
            const int bytes = std::uniform_int_distribution<int>(1, 4)(rng);
            for (int b = 0; b < bytes; ++b) s += static_cast<char>(rng() & 0xFF);
        } else {
            s += kPieces[std::uniform_int_distribution<size_t>(0, std::size(kPieces) - 1)(rng)];
        }
    }
    return s;
}

TEST(ToolCallFuzz, RandomTextsParseTheSameHoweverSplit) {
    constexpr int kTexts = 10000;
    for (const Subject& s : subjects()) {
        SCOPED_TRACE(s.label);
        std::mt19937 rng(2024);
        int calls = 0;
        for (int i = 0; i < kTexts; ++i) {
            const std::string text = random_text(rng);
            std::string v;
            const ParsedMessage whole = test::run_pieces(s.make, {text}, &v);
            ASSERT_EQ(v, "") << text;
            // Nothing is lost: every byte that is not markup comes back somewhere.
            calls += static_cast<int>(whole.tool_calls.size());
            std::vector<std::vector<std::string>> splits(3);
            for (char c : text) splits[0].emplace_back(1, c);
            for (int k = 1; k < 3; ++k) {
                size_t at = 0;
                while (at < text.size()) {
                    const size_t n = std::uniform_int_distribution<size_t>(1, 9)(rng);
                    splits[k].push_back(text.substr(at, n));
                    at += n;
                }
            }
            for (const auto& pieces : splits) {
                const ParsedMessage got = test::run_pieces(s.make, pieces, &v);
                ASSERT_EQ(v, "") << text;
                ASSERT_TRUE(test::same(got, whole))
                    << "text: " << text << "\n whole: " << test::describe(whole)
                    << "\n split: " << test::describe(got);
            }
        }
        std::printf("[fuzz] %-24s %d texts, %d calls found\n", s.label.c_str(), kTexts, calls);
    }
}

// ---- Well-formed messages ----

struct Message {
    std::string text, content, reasoning;
    std::vector<std::pair<std::string, std::string>> calls;  // name, arguments text
};

const char* const kWords[] = {"Hello", "the", "weather",  "is",    "nice", "42",   "ok.",
                              "(see)", "a-b", "\xC3\xA9", "🙂",  "x:y",  "<b>",  "[1]",
                              "a > b", "50%", "tool",     "calls", "it's", "\"q\""};
const char* const kTricky[] = {"}",
                               "]",
                               "\"",
                               "\\",
                               "</tool_call>",
                               ">>>",
                               "[TOOL_CALLS]",
                               "```",
                               "<function=x>",
                               "\n",
                               "\xC3\xA9",
                               "{\"a\": 1}",
                               "Action:",
                               "functools["};
const char* const kNames[] = {"get_weather", "f", "search_web", "a.b", "x-y_z", "Tool9"};

std::string words(std::mt19937& rng, int max) {
    std::string s;
    const int n = std::uniform_int_distribution<int>(0, max)(rng);
    for (int i = 0; i < n; ++i) {
        if (i) s += ' ';
        s += kWords[rng() % std::size(kWords)];
    }
    return s;
}

nlohmann::ordered_json random_value(std::mt19937& rng, int depth) {
    switch (rng() % (depth > 0 ? 7 : 5)) {
        case 0:
            return static_cast<int>(rng() % 2000) - 1000;
        case 1:
            return (rng() % 1000) / 8.0;
        case 2: {
            std::string s = words(rng, 3);
            if (rng() % 2) s += kTricky[rng() % std::size(kTricky)];
            return s;
        }
        case 3:
            return rng() % 2 == 0;
        case 4:
            return nullptr;
        case 5: {
            auto a = nlohmann::ordered_json::array();
            for (int i = static_cast<int>(rng() % 4); i > 0; --i)
                a.push_back(random_value(rng, depth - 1));
            return a;
        }
        default: {
            auto o = nlohmann::ordered_json::object();
            for (int i = static_cast<int>(rng() % 4); i > 0; --i) {
                o["k" + std::to_string(rng() % 9)] = random_value(rng, depth - 1);
            }
            return o;
        }
    }
}

std::string random_args(std::mt19937& rng) {
    auto o = nlohmann::ordered_json::object();
    for (int i = static_cast<int>(rng() % 4); i > 0; --i) {
        o["arg" + std::to_string(rng() % 9)] = random_value(rng, 2);
    }
    const int indent = std::array{-1, -1, 2, 4}[rng() % 4];
    return o.dump(indent);
}

std::string quoted(const std::string& s) {
    return nlohmann::json(s).dump();
}

// A call object with the name and arguments in either order, maybe an id.
std::string call_object(std::mt19937& rng, const std::string& name_key, const std::string& name,
                        const std::string& args_key, const std::string& args) {
    const std::string n = quoted(name_key) + ": " + quoted(name);
    const std::string a = quoted(args_key) + ": " + args;
    std::string body = rng() % 4 == 0 ? a + ", " + n : n + ", " + a;
    if (rng() % 3 == 0) body += ", \"id\": \"abcdefgh1\"";
    return "{" + body + "}";
}

Message well_formed(ToolCallFormat f, std::mt19937& rng) {
    Message m;
    const std::string before = words(rng, 6), after = words(rng, 4);
    const int k = static_cast<int>(rng() % 4);
    std::vector<std::string> parts;
    for (int i = 0; i < k; ++i) {
        const std::string name = kNames[rng() % std::size(kNames)], args = random_args(rng);
        m.calls.emplace_back(name, args);
        switch (f) {
            case ToolCallFormat::Hermes:
                parts.push_back("<tool_call>\n" +
                                call_object(rng, "name", name, "arguments", args) +
                                "\n</tool_call>");
                break;
            case ToolCallFormat::Llama3Json:
                parts.push_back(call_object(rng, "name", name, "parameters", args));
                break;
            case ToolCallFormat::Mistral:
            case ToolCallFormat::Firefunction:
                parts.push_back(call_object(rng, "name", name, "arguments", args));
                break;
            case ToolCallFormat::Functionary31:
                parts.push_back("<function=" + name + ">" + args + "</function>");
                break;
            case ToolCallFormat::Functionary32:
                parts.push_back(name + "\n" + args);
                break;
            case ToolCallFormat::CommandR:
                parts.push_back(call_object(rng, "tool_name", name, "parameters", args));
                break;
            case ToolCallFormat::GptOss:
                parts.push_back("<|start|>assistant<|channel|>commentary to=functions." + name +
                                " <|constrain|>json<|message|>" + args + "<|call|>");
                break;
            case ToolCallFormat::None:
                break;
        }
    }
    auto join = [&](const std::string& sep) {
        std::string s;
        for (size_t i = 0; i < parts.size(); ++i) s += (i ? sep : "") + parts[i];
        return s;
    };
    m.content = before + after;
    if (k == 0) {
        m.text = before;
        m.content = before;
        if (f == ToolCallFormat::Functionary32 && !before.empty()) m.text = "all\n" + before;
        if (f == ToolCallFormat::GptOss) {
            m.text = "<|channel|>final<|message|>" + before + "<|return|>";
        }
        return m;
    }
    switch (f) {
        case ToolCallFormat::Hermes:
            m.text = before + "\n" + join("\n") + "\n\n" + after;
            break;
        case ToolCallFormat::Llama3Json:
            m.text = before + "<|python_tag|>" + join("; ") + " " + after;
            break;
        case ToolCallFormat::Mistral:
            if (rng() % 2) {
                m.text = before + " [TOOL_CALLS][" + join(", ") + "] " + after;
            } else {
                std::string s;
                for (const auto& [name, args] : m.calls)
                    s += "[TOOL_CALLS]" + name + "[ARGS]" + args;
                m.text = before + s + after;
            }
            break;
        case ToolCallFormat::Firefunction:
            m.text = before + " functools[" + join(", ") + "]" + after;
            break;
        case ToolCallFormat::Functionary31:
            m.text = before + join("") + after;
            break;
        case ToolCallFormat::Functionary32:
            // The prompt ends with ">>>": the answer starts at a recipient.
            m.text = (before.empty() ? "" : "all\n" + before + ">>>") + join(">>>") + after;
            break;
        case ToolCallFormat::CommandR:
            if (rng() % 2) {
                m.text = before + "\nAction:\n```json\n[\n" + join(",\n") + "\n]```\n" + after;
            } else {
                m.reasoning = words(rng, 5);
                m.content = after;
                m.text = "<|START_THINKING|>" + m.reasoning + "<|END_THINKING|><|START_ACTION|>[" +
                         join(", ") + "]<|END_ACTION|>" +
                         (after.empty() ? "" : "<|START_RESPONSE|>" + after + "<|END_RESPONSE|>");
            }
            break;
        case ToolCallFormat::GptOss:
            m.reasoning = before;
            m.content = after;
            m.text = "<|channel|>analysis<|message|>" + before + "<|end|>" + join("") +
                     "<|start|>assistant<|channel|>final<|message|>" + after + "<|return|>";
            break;
        case ToolCallFormat::None:
            break;
    }
    return m;
}

TEST(ToolCallProperty, WellFormedMessagesParseBackExactly) {
    for (ToolCallFormat f :
         {ToolCallFormat::Hermes, ToolCallFormat::Llama3Json, ToolCallFormat::Mistral,
          ToolCallFormat::Functionary31, ToolCallFormat::Functionary32, ToolCallFormat::CommandR,
          ToolCallFormat::GptOss, ToolCallFormat::Firefunction}) {
        SCOPED_TRACE(tool_call_format_name(f));
        std::mt19937 rng(77);
        auto make = [f] {
            std::shared_ptr<ToolCallParser> p =
                ToolCallParser::create(f, make_call_id_generator(4));
            return test::DeltaStream{[p](std::string_view t) { return p->feed(t); },
                                     [p] { return p->finish(); }};
        };
        for (int i = 0; i < 400; ++i) {
            const Message want = well_formed(f, rng);
            const ParsedMessage got = test::expect_split_invariant(make, want.text, 4, i % 20 == 0);
            ASSERT_EQ(got.content, want.content) << want.text;
            ASSERT_EQ(got.reasoning_content, want.reasoning) << want.text;
            ASSERT_EQ(got.tool_calls.size(), want.calls.size()) << want.text;
            for (size_t c = 0; c < want.calls.size(); ++c) {
                ASSERT_EQ(got.tool_calls[c].name, want.calls[c].first) << want.text;
                ASSERT_EQ(got.tool_calls[c].arguments, want.calls[c].second) << want.text;
            }
            if (::testing::Test::HasFailure()) return;
        }
    }
}

}  // namespace
}  // namespace ig
