// Functionary v3.1 (Llama 3.1 based):
//   text<function=f>{...}</function><function=g>{...}</function>
//   <|python_tag|>code      the code interpreter -> call "python", {"code": "..."}
#include "chat/json_scanner.h"
#include "chat/tool_formats.h"
#include "chat/tool_stream.h"

namespace ig {
namespace {

constexpr std::string_view kFunction = "<function=";
constexpr std::string_view kTag = "<|python_tag|>";
constexpr std::string_view kClose = "</function>";
class Functionary31Parser final : public ToolStream {
  public:
    explicit Functionary31Parser(IdGenerator ids) : ToolStream(std::move(ids)) {}

  private:
    enum class S : uint8_t { Content, Name, ArgsStart, Args, Close, Raw, CodeStart, Code, After };

    bool step(bool at_end) override {
        switch (s_) {
            case S::Content:
                switch (text_until(markers_, at_end, Target::Content, true)) {
                    case 0:
                        skip(kFunction.size());
                        name_.clear();
                        s_ = S::Name;
                        return true;
                    case 1:
                        skip(kTag.size());
                        s_ = S::CodeStart;
                        return true;
                    default:
                        return false;
                }
            case S::Name: {
                std::string_view r = rest();
                while (!r.empty() && is_tool_name_char(r[0]) && name_.size() < kMaxToolName) {
                    name_ += r[0];
                    skip(1);
                    r = rest();
                }
                if (r.empty() && !at_end) return false;
                if (r.empty() || r[0] != '>' || name_.empty() || name_.size() >= kMaxToolName) {
                    fail();
                    return true;
                }
                skip(1);
                s_ = S::ArgsStart;
                return true;
            }
            case S::ArgsStart:
                if (!skip_ws()) {
                    if (at_end) fail();
                    return false;
                }
                if (rest()[0] != '{') {
                    fail();
                    return true;
                }
                call_begin(name_);
                scan_ = {};
                s_ = S::Args;
                return true;
            case S::Args:
                return args(at_end);
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
                skip(kClose.size());
                call_end();
                s_ = S::After;
                return true;
            case S::CodeStart:
                if (!skip_ws() && !at_end) return false;
                call_begin("python");
                call_args("{\"code\": \"");
                s_ = S::Code;
                return true;
            case S::Code:
                text_until({}, at_end, Target::ArgsString, false);
                if (at_end) {
                    call_args("\"}");
                    call_end();
                }
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

    bool args(bool at_end) {
        switch (stream_json_args(scan_, at_end)) {
            case ArgsStep::Done:
                s_ = S::Close;
                return true;
            case ArgsStep::Broken:
                s_ = S::Raw;
                return true;
            case ArgsStep::NeedMore:
                break;
        }
        return false;
    }

    void fail() {
        fail_to_content();
        s_ = S::Content;
    }

    const std::vector<std::string_view> markers_{kFunction, kTag};
    const std::vector<std::string_view> close_{kClose};
    JsonScanner scan_;
    std::string name_;
    S s_ = S::Content;
};

}  // namespace

std::unique_ptr<ToolCallParser> make_functionary31_parser(IdGenerator ids) {
    return std::make_unique<Functionary31Parser>(std::move(ids));
}

}  // namespace ig
