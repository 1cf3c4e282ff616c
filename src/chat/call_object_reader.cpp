#include "chat/call_object_reader.h"

#include <algorithm>

namespace ig {
namespace {

bool is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool listed(const std::vector<std::string_view>& keys, std::string_view key) {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
}

}  // namespace

CallObjectReader::Step CallObjectReader::push(char c, CallSink& sink) {
    switch (s_) {
        case S::Start:
            if (is_ws(c)) return Step::More;
            if (c != '{') return Step::Fail;
            s_ = S::KeyOrEnd;
            return Step::More;
        case S::KeyOrEnd:
            if (c == '}') return close_object(sink);
            [[fallthrough]];
        case S::NextKey:
            if (is_ws(c)) return Step::More;
            if (c != '"') return Step::Fail;
            dec_ = {};
            key_.clear();
            s_ = S::Key;
            return Step::More;
        case S::Key:
            switch (dec_.push(c, key_)) {
                case JsonStringDecoder::Result::More:
                    return Step::More;
                case JsonStringDecoder::Result::Error:
                    return Step::Fail;
                case JsonStringDecoder::Result::Closed:
                    break;
            }
            if (!name_seen_ && listed(keys_->name, key_)) {
                kind_ = Kind::Name;
            } else if (!args_seen_ && listed(keys_->args, key_)) {
                kind_ = Kind::Args;
            } else {
                kind_ = Kind::Other;
            }
            s_ = S::Colon;
            return Step::More;
        case S::Colon:
            if (is_ws(c)) return Step::More;
            if (c != ':') return Step::Fail;
            s_ = S::Value;
            return Step::More;
        case S::Value:
            if (is_ws(c)) return Step::More;
            return value_start(c, sink);
        case S::Name:
            switch (dec_.push(c, name_)) {
                case JsonStringDecoder::Result::More:
                    return Step::More;
                case JsonStringDecoder::Result::Error:
                    return Step::Fail;
                case JsonStringDecoder::Result::Closed:
                    break;
            }
            if (name_.empty()) return Step::Fail;
            // Arguments written before the name were held; the call starts now.
            if (args_done_) commit(sink);
            s_ = S::AfterValue;
            return Step::More;
        case S::ArgsObj:
            switch (scan_.push(c)) {
                case JsonScanner::Result::More:
                    args_out(std::string_view(&c, 1), sink);
                    return Step::More;
                case JsonScanner::Result::Done:
                    args_out(std::string_view(&c, 1), sink);
                    args_done_ = true;
                    s_ = S::AfterValue;
                    return Step::More;
                case JsonScanner::Result::DoneBefore:
                case JsonScanner::Result::Error:
                    break;
            }
            return committed_ ? Step::Raw : Step::Fail;
        case S::ArgsStr: {
            std::string piece;
            switch (dec_.push(c, piece)) {
                case JsonStringDecoder::Result::More:
                    args_out(piece, sink);
                    return Step::More;
                case JsonStringDecoder::Result::Closed:
                    // "arguments": "" means no arguments.
                    if (args_len_ == 0) args_out("{}", sink);
                    args_done_ = true;
                    s_ = S::AfterValue;
                    return Step::More;
                case JsonStringDecoder::Result::Error:
                    break;
            }
            return committed_ ? Step::Raw : Step::Fail;
        }
        case S::Other:
            switch (scan_.push(c)) {
                case JsonScanner::Result::More:
                    return Step::More;
                case JsonScanner::Result::Done:
                    s_ = S::AfterValue;
                    return Step::More;
                case JsonScanner::Result::DoneBefore:
                    s_ = S::AfterValue;
                    return push(c, sink);
                case JsonScanner::Result::Error:
                    return Step::Fail;
            }
            return Step::Fail;
        case S::AfterValue:
            if (is_ws(c)) return Step::More;
            if (c == ',') {
                s_ = S::NextKey;
                return Step::More;
            }
            if (c == '}') return close_object(sink);
            return Step::Fail;
        case S::Done:
            return Step::Fail;
    }
    return Step::Fail;
}

CallObjectReader::Step CallObjectReader::value_start(char c, CallSink& sink) {
    switch (kind_) {
        case Kind::Name:
            if (c != '"') return Step::Fail;
            name_seen_ = true;
            dec_ = {};
            s_ = S::Name;
            return Step::More;
        case Kind::Args:
            if (c != '{' && c != '"') return Step::Fail;
            args_seen_ = true;
            if (!name_.empty()) commit(sink);
            if (c == '"') {
                dec_ = {};
                s_ = S::ArgsStr;
                return Step::More;
            }
            scan_ = {};
            scan_.push(c);
            args_out("{", sink);
            s_ = S::ArgsObj;
            return Step::More;
        case Kind::Other:
            scan_ = {};
            s_ = S::Other;
            return push(c, sink);
    }
    return Step::Fail;
}

CallObjectReader::Step CallObjectReader::close_object(CallSink& sink) {
    if (name_.empty()) return Step::Fail;
    if (!committed_) {
        if (keys_->require_args) return Step::Fail;
        commit(sink);  // no arguments written: the call takes none
        args_out("{}", sink);
    }
    sink.call_end();
    s_ = S::Done;
    return Step::Done;
}

void CallObjectReader::commit(CallSink& sink) {
    committed_ = true;
    sink.call_begin(name_);
    if (!args_buf_.empty()) sink.call_args(args_buf_);
    args_buf_.clear();
}

void CallObjectReader::args_out(std::string_view s, CallSink& sink) {
    if (s.empty()) return;
    args_len_ += s.size();
    if (committed_) {
        sink.call_args(s);
    } else {
        args_buf_ += s;
    }
}

CallListReader::Step CallListReader::push(char c, CallSink& sink) {
    switch (s_) {
        case S::Open:
            if (is_ws(c)) return Step::More;
            if (mode_ != Mode::Array) return object_start(c, sink);
            if (c != '[') return Step::Fail;
            s_ = S::FirstOrEnd;
            return Step::More;
        case S::FirstOrEnd:
            if (c == ']') {
                s_ = S::Done;
                return Step::Done;
            }
            [[fallthrough]];
        case S::NextObject:
            if (is_ws(c)) return Step::More;
            return object_start(c, sink);
        case S::Object:
            switch (obj_.push(c, sink)) {
                case CallObjectReader::Step::More:
                    return Step::More;
                case CallObjectReader::Step::Fail:
                    return Step::Fail;
                case CallObjectReader::Step::Raw:
                    return Step::Raw;
                case CallObjectReader::Step::Done:
                    break;
            }
            if (mode_ == Mode::Single) {
                s_ = S::Done;
                return Step::Done;
            }
            s_ = S::AfterObject;
            return Step::More;
        case S::AfterObject:
            if (is_ws(c)) return Step::More;
            if (mode_ == Mode::Array) {
                if (c == ']') {
                    s_ = S::Done;
                    return Step::Done;
                }
                if (c != ',') return Step::Fail;
            } else if (c != ';') {
                s_ = S::Done;
                return Step::DoneBefore;
            }
            s_ = S::NextObject;
            return Step::More;
        case S::Done:
            return Step::DoneBefore;
    }
    return Step::Fail;
}

CallListReader::Step CallListReader::object_start(char c, CallSink& sink) {
    if (c != '{') return Step::Fail;
    obj_ = CallObjectReader(keys_);
    s_ = S::Object;
    obj_.push(c, sink);
    return Step::More;
}

}  // namespace ig
