#include "chat/reasoning_parser.h"

#include <array>
#include <utility>

#include "chat/tool_formats.h"
#include "chat/tool_stream.h"

namespace ig {
namespace {

constexpr std::string_view kOpen = "<think>";
constexpr std::string_view kClose = "</think>";

bool is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// <think>...</think> on the shared stream machinery (it makes no calls).
class ThinkStream final : public ToolStream {
  public:
    explicit ThinkStream(bool start_in_reasoning)
        : ToolStream({}), s_(start_in_reasoning ? S::Reopen : S::Start) {}

  private:
    enum class S : uint8_t { Start, Reopen, ReasonStart, Reason, After, Content };

    bool step(bool at_end) override {
        switch (s_) {
            case S::Start:   // thinking only if the answer opens with <think>
            case S::Reopen:  // opened by the prompt; a repeated <think> is dropped
                if (!skip_ws()) {
                    if (at_end) end_start();
                    return false;
                }
                switch (starts_with(kOpen, at_end)) {
                    case Lit::Partial:
                        return false;
                    case Lit::Match:
                        skip(kOpen.size());
                        capture_.clear();
                        s_ = S::ReasonStart;
                        return true;
                    case Lit::Mismatch:
                        end_start();
                        return true;
                }
                return false;
            case S::ReasonStart:
                if (!skip_ws()) {
                    if (at_end) capture_.clear();
                    return false;
                }
                capture_.clear();
                s_ = S::Reason;
                return true;
            case S::Reason:
                if (text_until(close_, at_end, Target::Reasoning, true) < 0) return false;
                skip(kClose.size());
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
            case S::Content:
                text_until({}, at_end, Target::Content, false);
                return false;
        }
        return false;
    }

    // The answer did not open with <think>.
    void end_start() {
        if (s_ == S::Start) {
            fail_to_content();  // leading whitespace included
            s_ = S::Content;
        } else {
            capture_.clear();  // thinking: its leading whitespace is trimmed
            s_ = S::Reason;
        }
    }

    const std::vector<std::string_view> close_{kClose};
    S s_;
};

// Adapts a stream that makes no calls (Think, harmony without tools).
class StreamReasoningParser final : public ReasoningParser {
  public:
    explicit StreamReasoningParser(std::unique_ptr<ToolCallParser> stream)
        : stream_(std::move(stream)) {}
    ChatDelta feed(std::string_view text) override { return stream_->feed(text); }
    ChatDelta finish() override { return stream_->finish(); }

  private:
    std::unique_ptr<ToolCallParser> stream_;
};

struct FormatName {
    ReasoningFormat format;
    std::string_view name;
};

constexpr std::array<FormatName, 5> kNames{{
    {ReasoningFormat::None, "none"},
    {ReasoningFormat::Think, "think"},
    {ReasoningFormat::GptOss, "gpt_oss"},
    {ReasoningFormat::Think, "deepseek_r1"},
    {ReasoningFormat::Think, "qwen3"},
}};

}  // namespace

std::string_view reasoning_format_name(ReasoningFormat f) {
    for (const FormatName& n : kNames) {
        if (n.format == f) return n.name;
    }
    return "none";
}

Expected<ReasoningFormat> parse_reasoning_format(std::string_view name) {
    std::string valid;
    for (const FormatName& n : kNames) {
        if (n.name == name) return n.format;
        if (!valid.empty()) valid += ", ";
        valid += n.name;
    }
    return make_error("unknown reasoning parser '{}' (valid: {})", name, valid);
}

ReasoningFormat detect_reasoning_format(std::string_view src) {
    if (src.find("<|channel|>") != src.npos) return ReasoningFormat::GptOss;
    if (src.find(kOpen) != src.npos || src.find(kClose) != src.npos) return ReasoningFormat::Think;
    return ReasoningFormat::None;
}

bool prompt_opens_reasoning(std::string_view tail) {
    while (!tail.empty() && is_ws(tail.back())) tail.remove_suffix(1);
    return tail.size() >= kOpen.size() && tail.substr(tail.size() - kOpen.size()) == kOpen;
}

std::unique_ptr<ReasoningParser> ReasoningParser::create(ReasoningFormat format,
                                                         ReasoningOptions options) {
    switch (format) {
        case ReasoningFormat::None:
            return std::make_unique<StreamReasoningParser>(make_passthrough_parser());
        case ReasoningFormat::Think:
            return std::make_unique<StreamReasoningParser>(
                std::make_unique<ThinkStream>(options.start_in_reasoning));
        case ReasoningFormat::GptOss:
            return std::make_unique<StreamReasoningParser>(make_harmony_parser({}, false));
    }
    return std::make_unique<StreamReasoningParser>(make_passthrough_parser());
}

}  // namespace ig
