#include "chat/tool_stream.h"

#include "chat/json_scanner.h"

#include <utility>

namespace ig {
namespace {

bool is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

size_t trailing_ws(std::string_view s) {
    size_t n = 0;
    while (n < s.size() && is_ws(s[s.size() - 1 - n])) ++n;
    return n;
}

}  // namespace

ToolStream::ToolStream(IdGenerator ids) : ids_(std::move(ids)) {}

ChatDelta ToolStream::feed(std::string_view text) {
    if (pos_ > 4096 && pos_ * 2 > buf_.size()) {
        buf_.erase(0, pos_);
        pos_ = 0;
    }
    buf_.append(text);
    while (step(false)) {
    }
    return std::exchange(out_, {});
}

ChatDelta ToolStream::finish() {
    while (step(true)) {
    }
    // Every state consumes or emits what is left at the end; anything still
    // unread would be a bug in a format, and text must not be lost.
    if (pos_ < buf_.size()) {
        if (in_call_) {
            call_args(rest());
            call_end();
        } else {
            emit(Target::Content, capture_);
            emit(Target::Content, rest());
        }
        pos_ = buf_.size();
    } else if (in_call_) {
        call_end();
    } else {
        emit(Target::Content, capture_);
    }
    capture_.clear();
    return std::exchange(out_, {});
}

void ToolStream::skip(size_t n) {
    if (!in_call_) capture_.append(buf_, pos_, n);
    pos_ += n;
}

bool ToolStream::skip_ws() {
    while (pos_ < buf_.size() && is_ws(buf_[pos_])) skip(1);
    return pos_ < buf_.size();
}

int ToolStream::text_until(const std::vector<std::string_view>& markers, bool at_end, Target target,
                           bool drop_ws) {
    const std::string_view r = rest();
    size_t found = std::string_view::npos;
    int which = -1;
    for (size_t i = 0; i < markers.size(); ++i) {
        const size_t p = r.find(markers[i]);
        if (p < found) {
            found = p;
            which = static_cast<int>(i);
        }
    }
    // The earliest place where a marker may still begin once more text comes.
    size_t partial = std::string_view::npos;
    if (!at_end) {
        for (std::string_view m : markers) {
            const size_t from = r.size() >= m.size() ? r.size() - m.size() + 1 : 0;
            for (size_t q = from; q < r.size() && q < partial; ++q) {
                if (m.substr(0, r.size() - q) == r.substr(q)) {
                    partial = q;
                    break;
                }
            }
        }
    }
    if (which >= 0 && found <= partial) {
        std::string_view text = r.substr(0, found);
        const size_t ws = drop_ws ? trailing_ws(text) : 0;
        text.remove_suffix(ws);
        emit(target, text);
        pos_ += text.size();
        skip(ws);
        return which;
    }
    if (at_end) {
        emit(target, r);
        pos_ = buf_.size();
        return -1;
    }
    std::string_view text = r.substr(0, partial == std::string_view::npos ? r.size() : partial);
    if (drop_ws) text.remove_suffix(trailing_ws(text));
    emit(target, text);
    pos_ += text.size();
    return -1;
}

ToolStream::Lit ToolStream::starts_with(std::string_view lit, bool at_end) const {
    const std::string_view r = rest();
    if (r.substr(0, lit.size()) == lit) return Lit::Match;
    if (!at_end && r.size() < lit.size() && lit.substr(0, r.size()) == r) return Lit::Partial;
    return Lit::Mismatch;
}

void ToolStream::emit(Target target, std::string_view s) {
    if (s.empty()) return;
    switch (target) {
        case Target::Content:
            out_.content += s;
            break;
        case Target::Reasoning:
            out_.reasoning_content += s;
            break;
        case Target::Args:
            call_args(s);
            break;
        case Target::ArgsString: {
            std::string escaped;
            append_json_escaped(escaped, s);
            call_args(escaped);
            break;
        }
    }
}

void ToolStream::fail_to_content() {
    emit(Target::Content, capture_);
    capture_.clear();
}

CallListReader::Step ToolStream::feed_list(CallListReader& list) {
    while (pos_ < buf_.size()) {
        const bool was_in_call = in_call_;
        const CallListReader::Step st = list.push(buf_[pos_], *this);
        if (st != CallListReader::Step::More && st != CallListReader::Step::Done) return st;
        // A byte that opened or closed a call belongs to it, not to the capture.
        if (was_in_call || in_call_) {
            ++pos_;
        } else {
            skip(1);
        }
        if (st == CallListReader::Step::Done) return st;
    }
    return CallListReader::Step::More;
}

ToolStream::ArgsStep ToolStream::stream_json_args(JsonScanner& scan, bool at_end) {
    while (!rest().empty()) {
        const char c = rest()[0];
        const JsonScanner::Result r = scan.push(c);
        if (r != JsonScanner::Result::More && r != JsonScanner::Result::Done)
            return ArgsStep::Broken;
        call_args(std::string_view(&c, 1));
        skip(1);
        if (r == JsonScanner::Result::Done) {
            call_end();
            return ArgsStep::Done;
        }
    }
    if (at_end) call_end();
    return ArgsStep::NeedMore;
}

CallListReader::Step ToolStream::settle_list(CallListReader& list, CallListReader::Step st,
                                             bool at_end) {
    using Step = CallListReader::Step;
    switch (st) {
        case Step::More:
            if (!at_end) return Step::More;
            if (list.in_committed_call()) {
                call_end();  // cut short: the call stays, its arguments as written
            } else if (list.may_end()) {
                capture_.clear();
            } else {
                fail_to_content();
            }
            return Step::DoneBefore;
        case Step::Fail:
            if (in_call_) {
                call_end();  // announced already; what follows is read as content
            } else {
                fail_to_content();
            }
            return Step::DoneBefore;
        case Step::Done:
        case Step::DoneBefore:
            capture_.clear();
            return st;
        case Step::Raw:
            return st;
    }
    return st;
}

void ToolStream::call_begin(std::string_view name) {
    ToolCallDelta d;
    d.index = next_index_;
    d.id = ids_();
    d.name = std::string(name);
    out_.tool_calls.push_back(std::move(d));
    call_args_bytes_ = 0;
    in_call_ = true;
    saw_tool_call_ = true;
    capture_.clear();
}

void ToolStream::call_args(std::string_view text) {
    if (text.empty()) return;
    call_args_bytes_ += text.size();
    if (!out_.tool_calls.empty() && out_.tool_calls.back().index == next_index_) {
        out_.tool_calls.back().arguments += text;
        return;
    }
    ToolCallDelta d;
    d.index = next_index_;
    d.arguments = std::string(text);
    out_.tool_calls.push_back(std::move(d));
}

void ToolStream::call_end() {
    if (in_call_) ++next_index_;
    in_call_ = false;
    capture_.clear();
}

}  // namespace ig
