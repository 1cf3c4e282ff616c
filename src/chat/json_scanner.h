#pragma once
// Incremental JSON, one byte at a time, for tool-call arguments that stream:
// JsonScanner knows after each byte whether the text so far can still be JSON
// and when one value is complete, without looking ahead and without
// recursion, so the same bytes give the same answers however they were split.
// JsonStringDecoder decodes the body of a JSON string as it arrives.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ig {

class JsonScanner {
  public:
    enum class Result : uint8_t {
        More,        // byte taken, the value goes on
        Done,        // byte taken, it completed the value
        DoneBefore,  // the value (a bare number) ended before this byte; byte not taken
        Error,       // not JSON at this byte; byte not taken
    };
    Result push(char c);
    bool done() const { return s_ == S::Done; }
    size_t depth() const { return stack_.size(); }

  private:
    enum class S : uint8_t {
        Value,
        ObjKeyOrEnd,
        ObjKey,
        Colon,
        AfterValue,
        ArrValueOrEnd,
        Str,
        StrEsc,
        StrHex,
        NumMinus,
        NumZero,
        NumInt,
        NumDot,
        NumFrac,
        NumE,
        NumESign,
        NumExp,
        Lit,
        Done,
        Error,
    };
    Result value_start(char c);
    Result after_value(char c);
    Result end_value();
    Result end_number(char c);
    Result fail() {
        s_ = S::Error;
        return Result::Error;
    }

    S s_ = S::Value;
    bool in_key_ = false;
    int hex_left_ = 0;
    const char* lit_ = nullptr;  // the rest of true/false/null still expected
    std::vector<char> stack_;    // '{' or '[' per open container
};

class JsonStringDecoder {
  public:
    enum class Result : uint8_t { More, Closed, Error };
    // c follows the opening quote; decoded bytes are appended to out. A lone
    // surrogate escape decodes to U+FFFD.
    Result push(char c, std::string& out);

  private:
    enum class S : uint8_t { Plain, Esc, Hex, LowEsc, LowU, Closed, Error };
    Result hex_digit(char c, std::string& out);

    S s_ = S::Plain;
    int hex_left_ = 0;
    uint32_t code_ = 0;
    uint32_t high_ = 0;  // a high surrogate waiting for its low half
};

// Appends `s` as the body of a JSON string (quotes, backslashes and control
// characters escaped; other bytes as they are).
void append_json_escaped(std::string& out, std::string_view s);

}  // namespace ig
