// Mistral:
//   [TOOL_CALLS][{"name": "f", "arguments": {...}, "id": "abcdefgh0"}, ...]   (v3, Nemo)
//   [TOOL_CALLS]f[ARGS]{...}[TOOL_CALLS]g[ARGS]{...}                        (v11+)
//   [TOOL_CALLS]f[CALL_ID]abcdefgh0[ARGS]{...}                              (v13)
// The model's own call id is not used: ours is announced before it is written.
#include "chat/json_scanner.h"
#include "chat/tool_formats.h"
#include "chat/tool_stream.h"

namespace ig {
namespace {

constexpr std::string_view kToolCalls = "[TOOL_CALLS]";
constexpr std::string_view kArgs = "[ARGS]";
constexpr std::string_view kCallId = "[CALL_ID]";
class MistralParser final : public ToolStream {
  public:
    explicit MistralParser(IdGenerator ids) : ToolStream(std::move(ids)) {}

  private:
    enum class S : uint8_t { Content, Open, List, Name, CallId, ArgsStart, Args, Raw, After };

    bool step(bool at_end) override {
        switch (s_) {
            case S::Content:
                if (text_until(markers_, at_end, Target::Content, true) < 0) return false;
                skip(kToolCalls.size());
                s_ = S::Open;
                return true;
            case S::Open:
                if (!skip_ws()) {
                    if (at_end) capture_.clear();  // a lone marker calls nothing
                    return false;
                }
                if (rest()[0] == '[' || rest()[0] == '{') {
                    const auto mode = rest()[0] == '[' ? CallListReader::Mode::Array
                                                       : CallListReader::Mode::Single;
                    list_ = CallListReader(mode, &keys_);
                    raw_end_.clear();  // nothing ends a list's broken call but the end
                    s_ = S::List;
                } else {
                    name_.clear();
                    s_ = S::Name;
                }
                return true;
            case S::List:
                return follow_list(list_, at_end, s_, S::After, S::Raw, S::Content);
            case S::Name:
            case S::CallId:
                return name_or_id(at_end);
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
                raw_end_ = markers_;
                s_ = S::Args;
                return true;
            case S::Args:
                return args(at_end);
            case S::Raw:
                if (text_until(raw_end_, at_end, Target::Args, false) < 0) {
                    if (at_end) call_end();
                    return false;
                }
                call_end();
                s_ = S::Content;  // the next [TOOL_CALLS] starts the next call
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

    // f[ARGS] or f[CALL_ID]id[ARGS]
    bool name_or_id(bool at_end) {
        std::string_view r = rest();
        std::string& into = s_ == S::Name ? name_ : id_;
        while (!r.empty() && is_tool_name_char(r[0]) && into.size() < kMaxToolName) {
            into += r[0];
            skip(1);
            r = rest();
        }
        if (r.empty() && !at_end) return false;
        if (into.empty() || into.size() >= kMaxToolName) {
            fail();
            return true;
        }
        const Lit args = starts_with(kArgs, at_end);
        const Lit id = s_ == S::Name ? starts_with(kCallId, at_end) : Lit::Mismatch;
        if (args == Lit::Match) {
            skip(kArgs.size());
            s_ = S::ArgsStart;
        } else if (id == Lit::Match) {
            skip(kCallId.size());
            id_.clear();
            s_ = S::CallId;
        } else if (args == Lit::Partial || id == Lit::Partial) {
            return false;
        } else {
            fail();
        }
        return true;
    }

    bool args(bool at_end) {
        switch (stream_json_args(scan_, at_end)) {
            case ArgsStep::Done:
                s_ = S::After;
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

    const std::vector<std::string_view> markers_{kToolCalls};
    std::vector<std::string_view> raw_end_;
    CallKeys keys_;
    CallListReader list_{CallListReader::Mode::Array, &keys_};
    JsonScanner scan_;
    std::string name_, id_;
    S s_ = S::Content;
};

}  // namespace

std::unique_ptr<ToolCallParser> make_mistral_parser(IdGenerator ids) {
    return std::make_unique<MistralParser>(std::move(ids));
}

}  // namespace ig
