#pragma once
// Persistent worker pool for data-parallel kernels. The calling thread takes
// part in every job, so a pool of size 1 runs everything inline.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace ig {

class ThreadPool {
  public:
    // n_threads <= 0 picks the number of hardware threads.
    explicit ThreadPool(int n_threads = 0);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return static_cast<int>(workers_.size()) + 1; }

    // Jobs handed to the workers so far (each paid one start and one barrier);
    // jobs small enough to run inline on the caller are not counted. Read it
    // on the thread that calls parallel_for.
    uint64_t jobs_dispatched() const { return jobs_dispatched_; }
    // Seconds the calling thread has spent at the end of dispatched jobs,
    // its own chunks done, waiting for the workers to finish theirs: the
    // cost of uneven chunks (plus the barrier itself).
    double barrier_wait_seconds() const { return barrier_wait_s_; }

    // Splits [0, n) into contiguous chunks of at least `grain` items and runs
    // fn(begin, end) on them across the pool; returns when all are done.
    // Not re-entrant: fn must not call parallel_for on the same pool.
    // fn is called by reference, never copied: no allocation per call.
    template <class F>
    void parallel_for(int64_t n, int64_t grain, F&& fn) {
        using Fn = std::remove_reference_t<F>;
        run(n, grain, const_cast<void*>(static_cast<const void*>(&fn)),
            [](void* ctx, int64_t b, int64_t e) { (*static_cast<Fn*>(ctx))(b, e); });
    }

  private:
    using ChunkFn = void (*)(void* ctx, int64_t begin, int64_t end);
    void run(int64_t n, int64_t grain, void* ctx, ChunkFn call);
    void worker_loop();
    void run_chunks();

    std::vector<std::thread> workers_;
    // Jobs come back to back during a forward pass (hundreds per token), so
    // both sides spin briefly on the atomics before sleeping on the condition
    // variables: a futex wake-up per job cost more than small jobs themselves.
    std::mutex mu_;
    std::condition_variable cv_start_;
    std::condition_variable cv_done_;
    std::atomic<uint64_t> generation_{0};  // bumped (under mu_) to start a job
    std::atomic<int> active_{0};           // workers still in the current job
    std::atomic<bool> stop_{false};

    // Current job; written before generation_ is bumped (release).
    void* ctx_ = nullptr;
    ChunkFn call_ = nullptr;
    int64_t n_ = 0;
    int64_t chunk_ = 1;
    std::atomic<int64_t> next_{0};
    uint64_t jobs_dispatched_ = 0;  // the calling thread's only
    double barrier_wait_s_ = 0;     // the calling thread's only
};

}  // namespace ig
