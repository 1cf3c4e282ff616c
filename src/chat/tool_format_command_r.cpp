// Cohere Command-R / R+ (tool_use template) and Command R7B:
//   Action:\n```json\n[{"tool_name": "f", "parameters": {...}}, ...]\n```
//   <|START_THINKING|>plan<|END_THINKING|><|START_ACTION|>[{"tool_call_id": "0",
//       "tool_name": "f", "parameters": {...}}]<|END_ACTION|>
//   <|START_RESPONSE|>text<|END_RESPONSE|>
// R7B's plan (START/END_THINKING) becomes reasoning_content; the response
// markers are dropped. R+'s "directly-answer" tool is a call like any other.
#include "chat/tool_formats.h"
#include "chat/tool_stream.h"

namespace ig {
namespace {

constexpr std::string_view kAction = "Action:";
constexpr std::string_view kStartAction = "<|START_ACTION|>";
constexpr std::string_view kEndAction = "<|END_ACTION|>";
constexpr std::string_view kStartThinking = "<|START_THINKING|>";
constexpr std::string_view kEndThinking = "<|END_THINKING|>";
constexpr std::string_view kStartResponse = "<|START_RESPONSE|>";
constexpr std::string_view kEndResponse = "<|END_RESPONSE|>";
constexpr std::string_view kFence = "```";

CallKeys cohere_keys() {
    CallKeys k;
    k.name = {"tool_name", "name"};
    k.args = {"parameters", "arguments"};
    return k;
}

class CommandRParser final : public ToolStream {
  public:
    explicit CommandRParser(IdGenerator ids) : ToolStream(std::move(ids)) {}

  private:
    enum class S : uint8_t { Content, Fence, FenceLang, List, Close, Raw, Thinking, After };

    bool step(bool at_end) override {
        switch (s_) {
            case S::Content:
                return content(at_end);
            case S::Fence:  // after "Action:", an optional ```json fence
                if (!skip_ws()) {
                    if (at_end) fail();
                    return false;
                }
                switch (starts_with(kFence, at_end)) {
                    case Lit::Partial:
                        return false;
                    case Lit::Match:
                        skip(kFence.size());
                        s_ = S::FenceLang;
                        return true;
                    case Lit::Mismatch:
                        start_list();
                        return true;
                }
                return false;
            case S::FenceLang:
                switch (starts_with("json", at_end)) {
                    case Lit::Partial:
                        return false;
                    case Lit::Match:
                        skip(4);
                        break;
                    case Lit::Mismatch:
                        break;
                }
                start_list();
                return true;
            case S::List:
                return follow_list(list_, at_end, s_, S::Close, S::Raw, S::Content);
            case S::Close:
                if (!skip_ws()) {
                    if (at_end) capture_.clear();
                    return false;
                }
                switch (starts_with(close_[0], at_end)) {
                    case Lit::Partial:
                        return false;
                    case Lit::Match:
                        skip(close_[0].size());
                        s_ = S::After;
                        break;
                    case Lit::Mismatch:
                        s_ = S::Content;
                        break;
                }
                capture_.clear();
                return true;
            case S::Raw:
                if (text_until(close_, at_end, Target::Args, false) < 0) {
                    if (at_end) call_end();
                    return false;
                }
                skip(close_[0].size());
                call_end();
                s_ = S::After;
                return true;
            case S::Thinking:
                if (text_until(end_thinking_, at_end, Target::Reasoning, false) < 0) return false;
                skip(kEndThinking.size());
                capture_.clear();
                s_ = S::After;
                return true;
            case S::After:
                if (!skip_ws()) {
                    if (at_end) capture_.clear();
                    return false;
                }
                capture_.clear();
                s_ = S::Content;
                return true;
        }
        return false;
    }

    bool content(bool at_end) {
        const int m = text_until(markers_, at_end, Target::Content, true);
        if (m < 0) return false;
        skip(markers_[static_cast<size_t>(m)].size());
        switch (m) {
            case 0:  // Action:
                close_ = {kFence};
                s_ = S::Fence;
                break;
            case 1:  // <|START_ACTION|>
                close_ = {kEndAction};
                start_list();
                break;
            case 2:
                capture_.clear();
                s_ = S::Thinking;
                break;
            default:  // response markers and a stray END_THINKING: dropped
                capture_.clear();
                s_ = S::After;
                break;
        }
        return true;
    }

    void start_list() {
        list_ = CallListReader(CallListReader::Mode::Array, &keys_);
        s_ = S::List;
    }

    void fail() {
        fail_to_content();
        s_ = S::Content;
    }

    const std::vector<std::string_view> markers_{kAction,        kStartAction, kStartThinking,
                                                 kStartResponse, kEndResponse, kEndThinking};
    const std::vector<std::string_view> end_thinking_{kEndThinking};
    std::vector<std::string_view> close_{kFence};
    CallKeys keys_ = cohere_keys();
    CallListReader list_{CallListReader::Mode::Array, &keys_};
    S s_ = S::Content;
};

}  // namespace

std::unique_ptr<ToolCallParser> make_command_r_parser(IdGenerator ids) {
    return std::make_unique<CommandRParser>(std::move(ids));
}

}  // namespace ig
