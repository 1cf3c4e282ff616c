// Functionary v3.2: every part of the answer names its recipient.
//   >>>all\ntext>>>f\n{...}>>>g\n{...}
//   >>>python\ncode          the code interpreter -> call "python", {"code": "..."}
// The generation prompt ends with ">>>", so the answer itself starts with a
// recipient line ("all\n" or "f\n"); a first line that is no recipient makes
// the whole answer content.
#include "chat/json_scanner.h"
#include "chat/tool_formats.h"
#include "chat/tool_stream.h"

namespace ig {
namespace {

constexpr std::string_view kRecipient = ">>>";
class Functionary32Parser final : public ToolStream {
  public:
    explicit Functionary32Parser(IdGenerator ids) : ToolStream(std::move(ids)) {}

  private:
    enum class S : uint8_t { Start, Recipient, ArgsStart, Args, Raw, Code, AfterCall, Content };

    bool step(bool at_end) override {
        switch (s_) {
            case S::Start:
                switch (starts_with(kRecipient, at_end)) {
                    case Lit::Partial:
                        return false;
                    case Lit::Match:
                        skip(kRecipient.size());
                        break;
                    case Lit::Mismatch:
                        break;
                }
                name_.clear();
                s_ = S::Recipient;
                return true;
            case S::Recipient:
                return recipient(at_end);
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
            case S::Raw:
            case S::Code: {
                const Target t = s_ == S::Raw ? Target::Args : Target::ArgsString;
                const int m = text_until(markers_, at_end, t, false);
                if (m < 0 && !at_end) return false;
                if (s_ == S::Code) call_args("\"}");
                call_end();
                s_ = S::Content;  // reads the next ">>>"
                return m >= 0;
            }
            case S::AfterCall:
                if (!skip_ws()) {
                    if (at_end) capture_.clear();
                    return false;
                }
                switch (starts_with(kRecipient, at_end)) {
                    case Lit::Partial:
                        return false;
                    case Lit::Match:
                        capture_.clear();
                        skip(kRecipient.size());
                        name_.clear();
                        s_ = S::Recipient;
                        return true;
                    case Lit::Mismatch:
                        capture_.clear();
                        s_ = S::Content;
                        return true;
                }
                return false;
            case S::Content:
                if (text_until(markers_, at_end, Target::Content, true) < 0) return false;
                skip(kRecipient.size());
                name_.clear();
                s_ = S::Recipient;
                return true;
        }
        return false;
    }

    // NAME\n: "all" opens content, "python" code, any other name a call.
    bool recipient(bool at_end) {
        std::string_view r = rest();
        if (name_.empty() && !r.empty() && r[0] == '>' && capture_.size() >= kRecipient.size()) {
            // ">>>>": the marker is the run's last three; the first '>' was text.
            emit(Target::Content, std::string_view(capture_).substr(0, capture_.size() - 2));
            capture_.erase(0, capture_.size() - 2);
            skip(1);
            return true;
        }
        while (!r.empty() && is_tool_name_char(r[0]) && name_.size() < kMaxToolName) {
            name_ += r[0];
            skip(1);
            r = rest();
        }
        if (r.empty() && !at_end) return false;
        if (r.empty() || r[0] != '\n' || name_.empty() || name_.size() >= kMaxToolName) {
            fail();
            return true;
        }
        skip(1);
        if (name_ == "all") {
            capture_.clear();
            s_ = S::Content;
        } else if (name_ == "python") {
            call_begin(name_);
            call_args("{\"code\": \"");
            s_ = S::Code;
        } else {
            s_ = S::ArgsStart;
        }
        return true;
    }

    bool args(bool at_end) {
        switch (stream_json_args(scan_, at_end)) {
            case ArgsStep::Done:
                s_ = S::AfterCall;
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

    const std::vector<std::string_view> markers_{kRecipient};
    JsonScanner scan_;
    std::string name_;
    S s_ = S::Start;
};

}  // namespace

std::unique_ptr<ToolCallParser> make_functionary32_parser(IdGenerator ids) {
    return std::make_unique<Functionary32Parser>(std::move(ids));
}

}  // namespace ig
