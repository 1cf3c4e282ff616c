#pragma once
// The per-request channel: the engine thread pushes StreamEvents, the client
// (HTTP server, benchmark, test) pops or drains them. Thread-safe.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "engine/request.h"

namespace ig {

class RequestStream {
  public:
    RequestStream(std::string request_id, int32_t n_choices);

    const std::string& request_id() const { return id_; }
    int32_t n_choices() const { return n_choices_; }

    bool pop(StreamEvent& ev, std::chrono::milliseconds timeout);  // false on timeout
    std::vector<StreamEvent> drain();                              // non-blocking
    void set_notify(std::function<void()> fn);  // called (engine thread) after pushes
    bool finished() const;                      // all choices have had their final event

    // Engine side: append events, then call the notifier once.
    void push(std::vector<StreamEvent> events);
    void push(StreamEvent ev);

  private:
    const std::string id_;
    const int32_t n_choices_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<StreamEvent> q_;
    std::function<void()> notify_;
    int32_t n_finished_ = 0;
};

}  // namespace ig
