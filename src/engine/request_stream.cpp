#include "engine/request_stream.h"

#include <utility>

namespace ig {

std::string_view finish_reason_name(FinishReason r) {
    switch (r) {
        case FinishReason::Stop:
            return "stop";
        case FinishReason::Length:
            return "length";
        case FinishReason::Cancelled:
            return "abort";  // vLLM's word, which OpenAI clients of vLLM already parse
        case FinishReason::Error:
            return "error";
    }
    return "?";
}

RequestStream::RequestStream(std::string request_id, int32_t n_choices)
    : id_(std::move(request_id)), n_choices_(n_choices) {}

bool RequestStream::pop(StreamEvent& ev, std::chrono::milliseconds timeout) {
    std::unique_lock lk(mu_);
    if (!cv_.wait_for(lk, timeout, [&] { return !q_.empty(); })) return false;
    ev = std::move(q_.front());
    q_.pop_front();
    return true;
}

std::vector<StreamEvent> RequestStream::drain() {
    std::lock_guard lk(mu_);
    std::vector<StreamEvent> out(std::make_move_iterator(q_.begin()),
                                 std::make_move_iterator(q_.end()));
    q_.clear();
    return out;
}

void RequestStream::set_notify(std::function<void()> fn) {
    std::lock_guard lk(mu_);
    notify_ = std::move(fn);
}

bool RequestStream::finished() const {
    std::lock_guard lk(mu_);
    return n_finished_ >= n_choices_;
}

void RequestStream::push(std::vector<StreamEvent> events) {
    if (events.empty()) return;
    std::function<void()> notify;
    {
        std::lock_guard lk(mu_);
        for (auto& ev : events) {
            if (ev.finish) ++n_finished_;
            q_.push_back(std::move(ev));
        }
        notify = notify_;
    }
    cv_.notify_all();
    // Called outside the lock so that the callback may drain() this stream.
    if (notify) notify();
}

void RequestStream::push(StreamEvent ev) {
    std::vector<StreamEvent> v;
    v.push_back(std::move(ev));
    push(std::move(v));
}

}  // namespace ig
