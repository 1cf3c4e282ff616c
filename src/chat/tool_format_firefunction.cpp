// Firefunction v2: text functools[{"name": "f", "arguments": {...}}, ...]
// (no closing marker: the list ends the answer).
#include "chat/tool_formats.h"
#include "chat/tool_stream.h"

namespace ig {
namespace {

constexpr std::string_view kMarker = "functools[";

class FirefunctionParser final : public ToolStream {
  public:
    explicit FirefunctionParser(IdGenerator ids) : ToolStream(std::move(ids)) {}

  private:
    enum class S : uint8_t { Content, List, Raw, After };

    bool step(bool at_end) override {
        switch (s_) {
            case S::Content:
                if (text_until(markers_, at_end, Target::Content, true) < 0) return false;
                skip(kMarker.size() - 1);  // the list reader reads the '['
                list_ = CallListReader(CallListReader::Mode::Array, &keys_);
                s_ = S::List;
                return true;
            case S::List:
                return follow_list(list_, at_end, s_, S::After, S::Raw, S::Content);
            case S::Raw:
                text_until({}, at_end, Target::Args, false);
                if (at_end) call_end();
                return false;
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

    const std::vector<std::string_view> markers_{kMarker};
    CallKeys keys_;
    CallListReader list_{CallListReader::Mode::Array, &keys_};
    S s_ = S::Content;
};

}  // namespace

std::unique_ptr<ToolCallParser> make_firefunction_parser(IdGenerator ids) {
    return std::make_unique<FirefunctionParser>(std::move(ids));
}

}  // namespace ig
