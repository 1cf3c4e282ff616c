// Llama 3.1-3.3 JSON tool calling:
//   {"name": "f", "parameters": {...}}            the whole answer (3.1, 3.2, 3.3)
//   <|python_tag|>{"name": "f", "parameters": {...}}; {...}
//   <|python_tag|>brave_search.call(query="...")  built-in tools (3.1, 3.3)
//   <|python_tag|>import math ...                 code interpreter -> call "python"
// "arguments" is accepted for "parameters". A bare answer is a call only if
// it starts with '{' and has both a name and parameters, so that a JSON
// answer without them stays content.
#include "chat/json_scanner.h"
#include "chat/tool_formats.h"
#include "chat/tool_stream.h"

namespace ig {
namespace {

constexpr std::string_view kTag = "<|python_tag|>";
constexpr std::string_view kCall = ".call(";
constexpr size_t kMaxToolName = 64;

bool is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_ident(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool is_letter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

CallKeys llama_keys() {
    CallKeys k;
    k.args = {"parameters", "arguments"};
    k.require_args = true;
    return k;
}

class Llama3Parser final : public ToolStream {
  public:
    explicit Llama3Parser(IdGenerator ids) : ToolStream(std::move(ids)) {}

  private:
    enum class S : uint8_t { Start, Content, Tag, Calls, BuiltinName, Builtin, Code, Raw, After };
    // Inside name.call(k="v", n=1, b=True): Python keyword arguments -> a JSON object.
    enum class B : uint8_t { KwStart, KwName, Eq, Value, Str, StrEsc, Num, Lit, AfterValue };
    enum class Push : uint8_t { Taken, Again, End, Bad };

    bool step(bool at_end) override {
        switch (s_) {
            case S::Start:
                if (!skip_ws()) {
                    if (at_end) fail_to_content();
                    return false;
                }
                if (rest()[0] == '{') {
                    start_calls();
                } else {
                    fail_to_content();
                    s_ = S::Content;
                }
                return true;
            case S::Content:
                if (text_until(tag_, at_end, Target::Content, true) < 0) return false;
                skip(kTag.size());
                s_ = S::Tag;
                return true;
            case S::Tag:
                if (!skip_ws()) {
                    if (at_end) capture_.clear();  // a lone tag calls nothing
                    return false;
                }
                code_from_ = capture_.size();
                if (rest()[0] == '{') {
                    start_calls();
                } else {
                    name_.clear();
                    s_ = S::BuiltinName;
                }
                return true;
            case S::Calls:
                return follow_list(list_, at_end, s_, S::Content, S::Raw, S::Content);
            case S::BuiltinName:
                return builtin_name(at_end);
            case S::Builtin:
                return builtin(at_end);
            case S::Code:
                text_until({}, at_end, Target::ArgsString, false);
                if (at_end) {
                    call_args("\"}");
                    call_end();
                }
                return false;
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

    void start_calls() {
        list_ = CallListReader(CallListReader::Mode::Semicolon, &keys_);
        s_ = S::Calls;
    }

    bool builtin_name(bool at_end) {
        std::string_view r = rest();
        while (!r.empty() && is_ident(r[0]) && name_.size() < kMaxToolName) {
            name_ += r[0];
            skip(1);
            r = rest();
        }
        if (r.empty() && !at_end) return false;
        Lit lit = Lit::Mismatch;
        if (!name_.empty() && name_.size() < kMaxToolName) lit = starts_with(kCall, at_end);
        if (lit == Lit::Partial) return false;
        if (lit == Lit::Mismatch) {
            // Not name.call(...): the text after the tag is code to run.
            const std::string code = capture_.substr(code_from_);
            call_begin("python");
            call_args("{\"code\": \"");
            emit(Target::ArgsString, code);
            s_ = S::Code;
            return true;
        }
        skip(kCall.size());
        call_begin(name_);
        call_args("{");
        b_ = B::KwStart;
        first_kw_ = true;
        s_ = S::Builtin;
        return true;
    }

    bool builtin(bool at_end) {
        while (!rest().empty()) {
            switch (builtin_push(rest()[0])) {
                case Push::Taken:
                    skip(1);
                    break;
                case Push::Again:
                    break;
                case Push::End:
                    skip(1);
                    call_end();
                    s_ = S::After;
                    return true;
                case Push::Bad:
                    s_ = S::Raw;  // announced: the rest is its arguments as written
                    return true;
            }
        }
        if (at_end) {
            // Cut short: what was read and not yet written goes out as it was.
            if (b_ == B::Lit) call_args(lit_);
            if (b_ == B::KwName || b_ == B::Eq) call_args(kw_);
            call_end();
        }
        return false;
    }

    Push builtin_push(char c) {
        switch (b_) {
            case B::KwStart:
                if (is_ws(c)) return Push::Taken;
                if (c == ')') return close_args();
                if (!is_ident(c)) return Push::Bad;
                kw_.assign(1, c);
                b_ = B::KwName;
                return Push::Taken;
            case B::KwName:
                if (is_ident(c)) {
                    kw_ += c;
                    return Push::Taken;
                }
                b_ = B::Eq;
                [[fallthrough]];
            case B::Eq:
                if (is_ws(c)) return Push::Taken;
                if (c != '=') return Push::Bad;
                {
                    std::string key = first_kw_ ? "\"" : ", \"";
                    append_json_escaped(key, kw_);
                    key += "\": ";
                    call_args(key);
                    first_kw_ = false;
                }
                b_ = B::Value;
                return Push::Taken;
            case B::Value:
                if (is_ws(c)) return Push::Taken;
                if (c == '"' || c == '\'') {
                    quote_ = c;
                    call_args("\"");
                    b_ = B::Str;
                    return Push::Taken;
                }
                if ((c >= '0' && c <= '9') || c == '-' || c == '.') {
                    call_args(std::string_view(&c, 1));
                    b_ = B::Num;
                    return Push::Taken;
                }
                if (!is_letter(c)) return Push::Bad;
                lit_.assign(1, c);
                b_ = B::Lit;
                return Push::Taken;
            case B::Str:
                if (c == '\\') {
                    b_ = B::StrEsc;
                } else if (c == quote_) {
                    call_args("\"");
                    b_ = B::AfterValue;
                } else {
                    emit(Target::ArgsString, std::string_view(&c, 1));
                }
                return Push::Taken;
            case B::StrEsc: {
                // Python escapes; an unknown one keeps its backslash, as Python does.
                std::string_view s;
                switch (c) {
                    case 'n':
                        s = "\n";
                        break;
                    case 't':
                        s = "\t";
                        break;
                    case 'r':
                        s = "\r";
                        break;
                    case '\\':
                        s = "\\";
                        break;
                    case '\'':
                        s = "'";
                        break;
                    case '"':
                        s = "\"";
                        break;
                    default:
                        break;
                }
                if (s.empty()) {
                    const char both[2] = {'\\', c};
                    emit(Target::ArgsString, std::string_view(both, 2));
                } else {
                    emit(Target::ArgsString, s);
                }
                b_ = B::Str;
                return Push::Taken;
            }
            case B::Num:
                if ((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' ||
                    c == '-') {
                    call_args(std::string_view(&c, 1));
                    return Push::Taken;
                }
                b_ = B::AfterValue;
                return Push::Again;
            case B::Lit:
                if (is_letter(c)) {
                    lit_ += c;
                    return Push::Taken;
                }
                if (lit_ == "True") {
                    call_args("true");
                } else if (lit_ == "False") {
                    call_args("false");
                } else if (lit_ == "None") {
                    call_args("null");
                } else {
                    call_args(lit_);
                    return Push::Bad;
                }
                b_ = B::AfterValue;
                return Push::Again;
            case B::AfterValue:
                if (is_ws(c)) return Push::Taken;
                if (c == ',') {
                    b_ = B::KwStart;
                    return Push::Taken;
                }
                if (c == ')') return close_args();
                return Push::Bad;
        }
        return Push::Bad;
    }

    Push close_args() {
        call_args("}");
        return Push::End;
    }

    const std::vector<std::string_view> tag_{kTag};
    CallKeys keys_ = llama_keys();
    CallListReader list_{CallListReader::Mode::Semicolon, &keys_};
    S s_ = S::Start;
    B b_ = B::KwStart;
    std::string name_, kw_, lit_;
    size_t code_from_ = 0;  // where the code starts in capture_ after the tag
    char quote_ = '"';
    bool first_kw_ = true;
};

}  // namespace

std::unique_ptr<ToolCallParser> make_llama3_json_parser(IdGenerator ids) {
    return std::make_unique<Llama3Parser>(std::move(ids));
}

}  // namespace ig
