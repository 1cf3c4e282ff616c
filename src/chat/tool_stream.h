#pragma once
// The machinery every tool-call format shares: the unread text, the delta
// being built, calls announced through CallSink, and the text of a call
// region kept until the call is announced (so that a region that turns out
// not to be a call goes back to content whole).
//
// A format is a state machine whose step() makes one decision on the unread
// text or says it needs more. Each decision depends only on the bytes it
// looks at, never on where a feed ended (a marker's first bytes at the end
// are "needs more", not "no marker"), so any split of the same text makes the
// same decisions: streaming equals non-streaming by construction.
#include <string>
#include <string_view>
#include <vector>

#include "chat/call_object_reader.h"
#include "chat/json_scanner.h"
#include "chat/tool_call_parser.h"

namespace ig {

// Function names as formats that write them bare (functionary, mistral's
// name[ARGS]) spell them; longer than this is not a name.
inline constexpr size_t kMaxToolName = 128;
inline bool is_tool_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

class ToolStream : public ToolCallParser, protected CallSink {
  public:
    ChatDelta feed(std::string_view text) final;
    ChatDelta finish() final;

  protected:
    explicit ToolStream(IdGenerator ids);

    // One decision on the unread text; false when nothing more can be
    // decided until more text comes (or, at_end, when nothing is left).
    virtual bool step(bool at_end) = 0;

    std::string_view rest() const { return std::string_view(buf_).substr(pos_); }
    // Consumes n bytes as markup: kept in capture_ unless inside an announced call.
    void skip(size_t n);
    // Consumes leading whitespace as markup; false when the text ran out first.
    bool skip_ws();

    // ArgsString: the open call's arguments, escaped as the body of a JSON
    // string (code that a format turns into {"code": "..."}).
    enum class Target : uint8_t { Content, Reasoning, Args, ArgsString };
    // Emits unread text to `target` up to the first of `markers` and returns
    // that marker's index, the marker left unread (and, with drop_ws, the
    // whitespace before it consumed as markup). Returns -1 when no marker
    // can be decided yet: everything that cannot begin one has been emitted
    // (with drop_ws, trailing whitespace is held as it may precede one); at
    // the end all unread text is emitted.
    int text_until(const std::vector<std::string_view>& markers, bool at_end, Target target,
                   bool drop_ws);

    enum class Lit : uint8_t { Match, Partial, Mismatch };
    // Whether the unread text starts with `lit` (Partial: it is a proper
    // prefix of lit and more may come).
    Lit starts_with(std::string_view lit, bool at_end) const;

    void emit(Target target, std::string_view s);
    // The call region was not a call: its text so far becomes content.
    void fail_to_content();
    bool in_call() const { return in_call_; }
    // Bytes of arguments the open call has streamed so far.
    size_t call_args_bytes() const { return call_args_bytes_; }

    // Feeds unread bytes to `list` until it stops; More when the text ran out.
    CallListReader::Step feed_list(CallListReader& list);
    // What to do after feed_list: handles Fail (content again) and the end
    // of text; returns the step for the caller to move on (More: wait).
    CallListReader::Step settle_list(CallListReader& list, CallListReader::Step st, bool at_end);
    // feed_list + settle_list, then the format's next state by the outcome:
    // `done` after the list, `raw` when its arguments broke, `content` when
    // it was no list after all. False while the list waits for more text.
    template <class S>
    bool follow_list(CallListReader& list, bool at_end, S& state, S done, S raw, S content) {
        switch (settle_list(list, feed_list(list), at_end)) {
            case CallListReader::Step::More:
                return false;
            case CallListReader::Step::Done:
                state = done;
                return true;
            case CallListReader::Step::Raw:
                state = raw;
                return true;
            default:
                state = content;
                return true;
        }
    }

    // Streams the open call's JSON arguments byte by byte: Done when the
    // value is complete (the call is ended), Broken when the bytes stop being
    // JSON (the caller appends the rest raw), NeedMore when the text ran out
    // (at_end: the call ends cut short).
    enum class ArgsStep { Done, Broken, NeedMore };
    ArgsStep stream_json_args(JsonScanner& scan, bool at_end);

    // CallSink: announces a call (id from the generator), streams its arguments.
    void call_begin(std::string_view name) override;
    void call_args(std::string_view text) override;
    void call_end() override;

    std::string capture_;  // the call region's text while no call of it is announced

  private:
    IdGenerator ids_;
    std::string buf_;  // text fed and not yet consumed starts at pos_
    size_t pos_ = 0;
    ChatDelta out_;
    int next_index_ = 0;
    size_t call_args_bytes_ = 0;
    bool in_call_ = false;
};

}  // namespace ig
