#pragma once
// Reads tool calls written as JSON objects ({"name": "f", "arguments": {..}}),
// one byte at a time, announcing each call to a CallSink as soon as its name
// is known and its arguments begin, then streaming the arguments' text. Used
// by every format whose calls are JSON objects (Hermes, Llama 3, Mistral,
// Command-R, Firefunction), alone, in a JSON array or separated by ';'.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "chat/json_scanner.h"

namespace ig {

// Receives the calls a reader finds, in order: call_begin, call_args*,
// call_end.
class CallSink {
  public:
    virtual void call_begin(std::string_view name) = 0;
    virtual void call_args(std::string_view text) = 0;
    virtual void call_end() = 0;

  protected:
    ~CallSink() = default;
};

// Which keys of a call object hold the name and the arguments (the first
// listed that occurs wins; other keys such as "id" or "type" are skipped).
struct CallKeys {
    std::vector<std::string_view> name{"name"};
    std::vector<std::string_view> args{"arguments", "parameters"};
    bool require_args = false;  // an object without arguments is not a call
};

class CallObjectReader {
  public:
    enum class Step : uint8_t {
        More,  // byte taken
        Done,  // byte taken, it closed the object; the call has ended (call_end sent)
        Fail,  // not a call at this byte (byte not taken); see committed()
        Raw,   // the announced call's arguments stopped being JSON at this byte (not taken)
    };
    explicit CallObjectReader(const CallKeys* keys) : keys_(keys) {}
    Step push(char c, CallSink& sink);
    // Whether the call was announced (call_begin sent).
    bool committed() const { return committed_; }

  private:
    enum class S : uint8_t {
        Start,
        KeyOrEnd,
        NextKey,
        Key,
        Colon,
        Value,
        Name,
        ArgsObj,
        ArgsStr,
        Other,
        AfterValue,
        Done
    };
    enum class Kind : uint8_t { Name, Args, Other };
    Step value_start(char c, CallSink& sink);
    Step close_object(CallSink& sink);
    void commit(CallSink& sink);
    void args_out(std::string_view s, CallSink& sink);

    const CallKeys* keys_;
    S s_ = S::Start;
    Kind kind_ = Kind::Other;
    JsonStringDecoder dec_;
    JsonScanner scan_;
    std::string key_, name_;
    std::string args_buf_;  // arguments written before the name, until it comes
    size_t args_len_ = 0;   // bytes of arguments so far
    bool name_seen_ = false, args_seen_ = false, args_done_ = false, committed_ = false;
};

// Calls one after another: a single object, a JSON array of objects, or
// objects separated by ';' (Llama 3).
class CallListReader {
  public:
    enum class Mode : uint8_t { Single, Array, Semicolon };
    enum class Step : uint8_t {
        More,        // byte taken
        Done,        // byte taken, the list is complete
        DoneBefore,  // the list ended before this byte (not taken)
        Fail,        // not a call list at this byte (not taken)
        Raw,         // as CallObjectReader::Step::Raw
    };
    CallListReader(Mode mode, const CallKeys* keys) : mode_(mode), keys_(keys), obj_(keys) {}
    Step push(char c, CallSink& sink);
    // An announced call is open (its object not closed).
    bool in_committed_call() const { return s_ == S::Object && obj_.committed(); }
    // The text may end here: after a whole call, where the list's own end
    // (']' or nothing) is not required.
    bool may_end() const { return s_ == S::AfterObject; }

  private:
    enum class S : uint8_t { Open, FirstOrEnd, Object, AfterObject, NextObject, Done };
    Step object_start(char c, CallSink& sink);

    Mode mode_;
    const CallKeys* keys_;
    S s_ = S::Open;
    CallObjectReader obj_;
};

}  // namespace ig
