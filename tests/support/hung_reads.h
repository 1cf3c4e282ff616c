#pragma once
// Fault injection for file reads that hang, as in a dead network mount: a
// pread(2) replacement (the shape of kvcache's ReadAtFn) that, once hang() is
// called, blocks every read until release(). Held by shared_ptr in the
// function it hands out, so a thread the code under test leaves blocked in it
// can outlive the test's scope. Also: run a call with a time limit.
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

namespace ig::test {

class HungReads {
  public:
    using PreadFn = std::function<ssize_t(int, void*, size_t, off_t)>;

    static std::shared_ptr<HungReads> create() { return std::make_shared<HungReads>(); }

    static PreadFn pread_fn(const std::shared_ptr<HungReads>& self) {
        return
            [self](int fd, void* buf, size_t n, off_t off) { return self->read(fd, buf, n, off); };
    }
    void hang() {
        std::lock_guard lk(mu_);
        hung_ = true;
    }
    void release() {
        {
            std::lock_guard lk(mu_);
            hung_ = false;
        }
        cv_.notify_all();
    }
    // Until `n` reads in all have blocked; false after `timeout`.
    bool wait_blocked(int n, std::chrono::milliseconds timeout) {
        std::unique_lock lk(mu_);
        return cv_.wait_for(lk, timeout, [&] { return blocked_ >= n; });
    }
    // Until every read that blocked has returned; false after `timeout`.
    bool wait_unblocked(std::chrono::milliseconds timeout) {
        std::unique_lock lk(mu_);
        return cv_.wait_for(lk, timeout, [&] { return returned_ == blocked_; });
    }
    int blocked() {
        std::lock_guard lk(mu_);
        return blocked_;
    }

  private:
    ssize_t read(int fd, void* buf, size_t n, off_t off) {
        {
            std::unique_lock lk(mu_);
            if (hung_) {
                ++blocked_;
                cv_.notify_all();
                cv_.wait(lk, [&] { return !hung_; });
                ++returned_;
                cv_.notify_all();
            }
        }
        return ::pread(fd, buf, n, off);
    }

    std::mutex mu_;
    std::condition_variable cv_;
    bool hung_ = false;
    int blocked_ = 0, returned_ = 0;
};

// Runs `fn` on a thread and waits up to `limit`. If it has not returned by
// then, calls `unblock` (which must make it return: the fault the test
// proves is handled, e.g. release the hung reads) and waits for it anyway.
// True when `fn` returned within the limit.
inline bool finishes_within(std::chrono::milliseconds limit, const std::function<void()>& fn,
                            const std::function<void()>& unblock) {
    std::promise<void> done;
    auto fut = done.get_future();
    std::thread t([&] {
        fn();
        done.set_value();
    });
    const bool in_time = fut.wait_for(limit) == std::future_status::ready;
    if (!in_time) {
        while (fut.wait_for(std::chrono::milliseconds(20)) != std::future_status::ready) unblock();
    }
    t.join();
    return in_time;
}

}  // namespace ig::test
