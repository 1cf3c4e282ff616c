#pragma once
// The compute threads of the process, shared by the engines of every loaded
// model: a step of one engine has the pool to itself, and engines waiting
// for it are served in arrival order, so two busy models alternate steps on
// the cores instead of running 2x the threads on them (oversubscribed
// threads that spin in barriers cost far more than taking turns).
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "util/thread_pool.h"

namespace ig {

class ComputeShare {
  public:
    explicit ComputeShare(int threads) : pool_(threads) {}
    ComputeShare(const ComputeShare&) = delete;
    ComputeShare& operator=(const ComputeShare&) = delete;

    // The pool, held until the Turn is destroyed (FIFO between engines).
    class Turn {
      public:
        explicit Turn(ComputeShare& s) : s_(s) { s_.acquire(); }
        ~Turn() { s_.release(); }
        Turn(const Turn&) = delete;
        Turn& operator=(const Turn&) = delete;
        ThreadPool& pool() { return s_.pool_; }

      private:
        ComputeShare& s_;
    };

    int threads() const { return pool_.size(); }

  private:
    void acquire() {
        std::unique_lock lk(mu_);
        const uint64_t ticket = next_++;
        cv_.wait(lk, [&] { return serving_ == ticket; });
    }
    void release() {
        {
            std::lock_guard lk(mu_);
            ++serving_;
        }
        cv_.notify_all();
    }

    ThreadPool pool_;
    std::mutex mu_;
    std::condition_variable cv_;
    uint64_t next_ = 0, serving_ = 0;
};

}  // namespace ig
