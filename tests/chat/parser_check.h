#pragma once
// Checks shared by the tool-call and reasoning parser tests: a text parsed
// whole must equal the same text fed in any pieces (every two-piece split,
// random multi-piece splits, byte by byte), and the deltas must follow
// OpenAI's rules (a call's id and name once, in its first fragment; indexes
// 0, 1, ... in order).
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "chat/chat_delta.h"

namespace ig::test {

// Something with feed/finish returning ChatDelta (a parser, or a wrapper).
struct DeltaStream {
    std::function<ChatDelta(std::string_view)> feed;
    std::function<ChatDelta()> finish;
};
using StreamFactory = std::function<DeltaStream()>;

inline std::string describe(const ParsedMessage& m) {
    std::string s = "content=[" + m.content + "] reasoning=[" + m.reasoning_content + "]";
    for (const ToolCall& c : m.tool_calls) {
        s += " call{" + c.id + " " + c.name + " " + c.arguments + "}";
    }
    return s;
}

inline bool same(const ParsedMessage& a, const ParsedMessage& b) {
    if (a.content != b.content || a.reasoning_content != b.reasoning_content ||
        a.tool_calls.size() != b.tool_calls.size()) {
        return false;
    }
    for (size_t i = 0; i < a.tool_calls.size(); ++i) {
        const ToolCall &x = a.tool_calls[i], &y = b.tool_calls[i];
        if (x.id != y.id || x.name != y.name || x.arguments != y.arguments) return false;
    }
    return true;
}

// Feeds the pieces, checks the delta rules, returns the merged message.
inline ParsedMessage run_pieces(const StreamFactory& make, const std::vector<std::string>& pieces,
                                std::string* violation) {
    DeltaStream s = make();
    ParsedMessage msg;
    std::vector<ChatDelta> deltas;
    for (const std::string& p : pieces) deltas.push_back(s.feed(p));
    deltas.push_back(s.finish());
    int seen = 0;  // calls whose first fragment has come
    for (const ChatDelta& d : deltas) {
        int last = -1;
        for (const ToolCallDelta& f : d.tool_calls) {
            if (f.index <= last) *violation = "fragments of one delta not in index order";
            last = f.index;
            if (f.index == seen) {
                if (f.id.empty() || f.name.empty()) *violation = "first fragment lacks id or name";
                ++seen;
            } else if (f.index < seen) {
                if (!f.id.empty() || !f.name.empty()) *violation = "id or name repeated";
                if (f.arguments.empty()) *violation = "empty continuation fragment";
            } else {
                *violation = "call index skipped";
            }
        }
        merge_delta(msg, d);
    }
    return msg;
}

// Expects every split of `text` to parse as the whole does; returns the whole.
inline ParsedMessage expect_split_invariant(const StreamFactory& make, std::string_view text,
                                            int random_splits = 30, bool every_split = true) {
    std::string violation;
    const ParsedMessage whole = run_pieces(make, {std::string(text)}, &violation);
    EXPECT_EQ(violation, "") << "text: " << text;
    auto check = [&](const std::vector<std::string>& pieces, const char* how) {
        std::string v;
        const ParsedMessage got = run_pieces(make, pieces, &v);
        EXPECT_EQ(v, "") << how << " text: " << text;
        EXPECT_TRUE(same(got, whole))
            << how << "\n text: " << text << "\n whole: " << describe(whole)
            << "\n split: " << describe(got);
        return same(got, whole) && v.empty();
    };
    if (every_split) {
        for (size_t k = 0; k <= text.size(); ++k) {
            if (!check({std::string(text.substr(0, k)), std::string(text.substr(k))}, "2-split")) {
                break;
            }
        }
        std::vector<std::string> bytes;
        for (char c : text) bytes.emplace_back(1, c);
        check(bytes, "byte by byte");
    }
    std::mt19937 rng(static_cast<uint32_t>(text.size() * 7919 + 17));
    for (int i = 0; i < random_splits; ++i) {
        std::vector<std::string> pieces;
        size_t at = 0;
        while (at < text.size()) {
            const size_t n = std::uniform_int_distribution<size_t>(0, 7)(rng);
            pieces.emplace_back(text.substr(at, n));
            at += n;
        }
        if (!check(pieces, "random split")) break;
    }
    return whole;
}

}  // namespace ig::test
