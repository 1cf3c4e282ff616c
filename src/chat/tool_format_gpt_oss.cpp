// gpt-oss "harmony" messages. The generation prompt ends with
// "<|start|>assistant", so the answer starts at a header:
//   <|channel|>analysis<|message|>thinking<|end|>
//   <|start|>assistant<|channel|>commentary to=functions.f
//   <|constrain|>json<|message|>{...}<|call|>
//   <|start|>assistant<|channel|>final<|message|>the answer<|return|>
// A header runs to <|message|> and names the channel and, with " to=", the
// recipient (before or after the channel). The body runs to <|end|>,
// <|call|> or <|return|> (or a new header, or the end of the text).
//   analysis -> reasoning_content; final, commentary, no channel -> content;
//   a recipient (with tools) -> a call to it, "functions." dropped, the body
//   its arguments as written ("{}" when empty).
// Without tools (the reasoning parser for gpt-oss) messages go where their
// channel goes, whatever their recipient.
#include "chat/tool_formats.h"
#include "chat/tool_stream.h"

namespace ig {
namespace {

constexpr std::string_view kStart = "<|start|>";
constexpr std::string_view kChannel = "<|channel|>";
constexpr std::string_view kMessage = "<|message|>";
constexpr std::string_view kEnd = "<|end|>";
constexpr std::string_view kCall = "<|call|>";
constexpr std::string_view kReturn = "<|return|>";
constexpr std::string_view kFunctions = "functions.";
// A header longer than this is not one (and is not held back any longer).
constexpr size_t kMaxHeader = 512;

bool is_word_end(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '<';
}

// The word after `key` in `header` ("" when absent).
std::string_view word_after(std::string_view header, std::string_view key, bool token_start) {
    size_t p = 0;
    while ((p = header.find(key, p)) != header.npos) {
        // " to=" must start a token; "<|channel|>" is one by itself.
        if (!token_start || p == 0 || is_word_end(header[p - 1]) || header[p - 1] == '>') break;
        ++p;
    }
    if (p == header.npos) return {};
    std::string_view w = header.substr(p + key.size());
    size_t n = 0;
    while (n < w.size() && !is_word_end(w[n])) ++n;
    return w.substr(0, n);
}

class HarmonyParser final : public ToolStream {
  public:
    HarmonyParser(IdGenerator ids, bool tools) : ToolStream(std::move(ids)), tools_(tools) {}

  private:
    enum class S : uint8_t { Outside, Header, Body };

    bool step(bool at_end) override {
        switch (s_) {
            case S::Outside: {
                const int m = text_until(outside_, at_end, Target::Content, false);
                if (m < 0) return false;
                skip(outside_[static_cast<size_t>(m)].size());
                if (m <= 1) {
                    from_channel_ = m == 1;
                    s_ = S::Header;
                } else if (m == 2) {
                    capture_.clear();  // a body without a header: plain content
                    open_body({}, {});
                } else {
                    capture_.clear();  // an end marker outside a message: nothing
                }
                return true;
            }
            case S::Header: {
                const std::string_view r = rest();
                const size_t p = r.find(kMessage);
                if (p != r.npos && p <= kMaxHeader) {
                    std::string header = from_channel_ ? std::string(kChannel) : std::string();
                    header.append(r.substr(0, p));
                    skip(p + kMessage.size());
                    capture_.clear();
                    open_body(word_after(header, kChannel, false), word_after(header, "to=", true));
                    return true;
                }
                if (at_end || r.size() >= kMaxHeader + kMessage.size()) {
                    fail_to_content();  // not a header: its marker is text, and so is the rest
                    s_ = S::Outside;
                    return true;
                }
                return false;
            }
            case S::Body: {
                const int m = text_until(body_end_, at_end, target_, false);
                if (m < 0) {
                    if (at_end) end_body();
                    return false;
                }
                if (m <= 2) skip(body_end_[static_cast<size_t>(m)].size());
                end_body();
                return true;
            }
        }
        return false;
    }

    void open_body(std::string_view channel, std::string_view recipient) {
        if (recipient.substr(0, kFunctions.size()) == kFunctions) {
            recipient.remove_prefix(kFunctions.size());
        }
        if (tools_ && !recipient.empty()) {
            call_begin(recipient);
            target_ = Target::Args;
        } else {
            target_ = channel == "analysis" ? Target::Reasoning : Target::Content;
        }
        s_ = S::Body;
    }

    void end_body() {
        if (in_call()) {
            if (call_args_bytes() == 0) call_args("{}");
            call_end();
        }
        capture_.clear();
        s_ = S::Outside;
    }

    const std::vector<std::string_view> outside_{kStart, kChannel, kMessage, kEnd, kCall, kReturn};
    const std::vector<std::string_view> body_end_{kEnd, kCall, kReturn, kStart, kChannel};
    const bool tools_;
    bool from_channel_ = false;
    Target target_ = Target::Content;
    S s_ = S::Outside;
};

}  // namespace

std::unique_ptr<ToolCallParser> make_harmony_parser(IdGenerator ids, bool tools) {
    return std::make_unique<HarmonyParser>(std::move(ids), tools);
}

}  // namespace ig
