// Hermes 2 Pro / Hermes 3, Qwen2.5, Qwen3:
//   text <tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call>\n<tool_call>...
// The closing tag may be missing at the end of the text (a model stopped on
// its end-of-turn token right after the object).
#include "chat/tool_formats.h"
#include "chat/tool_stream.h"

namespace ig {
namespace {

constexpr std::string_view kOpen = "<tool_call>";
constexpr std::string_view kClose = "</tool_call>";

class HermesParser final : public ToolStream {
  public:
    explicit HermesParser(IdGenerator ids) : ToolStream(std::move(ids)) {}

  private:
    enum class S : uint8_t { Content, Call, Close, Raw, After };

    bool step(bool at_end) override {
        switch (s_) {
            case S::Content:
                if (text_until(markers_, at_end, Target::Content, true) < 0) return false;
                skip(kOpen.size());
                list_ = CallListReader(CallListReader::Mode::Single, &keys_);
                s_ = S::Call;
                return true;
            case S::Call:
                return follow_list(list_, at_end, s_, S::Close, S::Raw, S::Content);
            case S::Close:
                if (!skip_ws()) {
                    if (at_end) capture_.clear();  // no closing tag: the call stands
                    return false;
                }
                switch (starts_with(kClose, at_end)) {
                    case Lit::Partial:
                        return false;
                    case Lit::Match:
                        skip(kClose.size());
                        s_ = S::After;
                        break;
                    case Lit::Mismatch:
                        s_ = S::Content;  // stray text after the call: content
                        break;
                }
                capture_.clear();
                return true;
            case S::Raw:
                if (text_until(close_, at_end, Target::Args, false) < 0) {
                    if (at_end) call_end();
                    return false;
                }
                skip(kClose.size());
                call_end();
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

    const std::vector<std::string_view> markers_{kOpen};
    const std::vector<std::string_view> close_{kClose};
    CallKeys keys_;
    CallListReader list_{CallListReader::Mode::Single, &keys_};
    S s_ = S::Content;
};

}  // namespace

std::unique_ptr<ToolCallParser> make_hermes_parser(IdGenerator ids) {
    return std::make_unique<HermesParser>(std::move(ids));
}

}  // namespace ig
