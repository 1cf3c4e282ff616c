#include "util/thread_pool.h"

#include <algorithm>

namespace ig {

ThreadPool::ThreadPool(int n_threads) {
    if (n_threads <= 0) n_threads = std::max(1u, std::thread::hardware_concurrency());
    workers_.reserve(n_threads - 1);
    for (int i = 1; i < n_threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        stop_ = true;
    }
    cv_start_.notify_all();
    for (auto& t : workers_) t.join();
}

void ThreadPool::run_chunks() {
    for (;;) {
        int64_t b = next_.fetch_add(chunk_, std::memory_order_relaxed);
        if (b >= n_) break;
        call_(ctx_, b, std::min(n_, b + chunk_));
    }
}

void ThreadPool::worker_loop() {
    uint64_t seen = 0;
    for (;;) {
        {
            std::unique_lock<std::mutex> lk(mu_);
            cv_start_.wait(lk, [&] { return stop_ || generation_ != seen; });
            if (stop_) return;
            seen = generation_;
        }
        run_chunks();
        {
            std::lock_guard<std::mutex> lk(mu_);
            if (--active_ == 0) cv_done_.notify_one();
        }
    }
}

void ThreadPool::run(int64_t n, int64_t grain, void* ctx, ChunkFn call) {
    if (n <= 0) return;
    grain = std::max<int64_t>(1, grain);
    const int64_t threads = size();
    if (workers_.empty() || n <= grain) {
        call(ctx, 0, n);
        return;
    }
    // A few chunks per thread balance uneven rows without much contention.
    int64_t chunk = std::max(grain, (n + threads * 4 - 1) / (threads * 4));
    {
        std::lock_guard<std::mutex> lk(mu_);
        ctx_ = ctx;
        call_ = call;
        n_ = n;
        chunk_ = chunk;
        next_.store(0, std::memory_order_relaxed);
        active_ = static_cast<int>(workers_.size());
        ++generation_;
    }
    cv_start_.notify_all();
    run_chunks();
    std::unique_lock<std::mutex> lk(mu_);
    cv_done_.wait(lk, [&] { return active_ == 0; });
    ctx_ = nullptr;
    call_ = nullptr;
}

}  // namespace ig
