#include "util/thread_pool.h"

#include <algorithm>
#include <chrono>

namespace ig {

ThreadPool::ThreadPool(int n_threads) {
    if (n_threads <= 0) n_threads = std::max(1u, std::thread::hardware_concurrency());
    workers_.reserve(n_threads - 1);
    for (int i = 1; i < n_threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        stop_.store(true, std::memory_order_release);
    }
    cv_start_.notify_all();
    for (auto& t : workers_) t.join();
}

namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// Spins until done() or about kSpin has passed; true if done() held.
template <class Done>
bool spin_until(Done done) {
    constexpr auto kSpin = std::chrono::microseconds(100);
    const auto until = std::chrono::steady_clock::now() + kSpin;
    for (int i = 0;; ++i) {
        if (done()) return true;
        cpu_relax();
        if ((i & 255) == 255 && std::chrono::steady_clock::now() >= until) return done();
    }
}

}  // namespace

void ThreadPool::run_chunks() {
    for (;;) {
        int64_t b = next_.fetch_add(chunk_, std::memory_order_relaxed);
        if (b >= n_) break;
        call_(ctx_, b, std::min(n_, b + chunk_));
    }
}

void ThreadPool::worker_loop() {
    uint64_t seen = 0;
    const auto started = [&] {
        return stop_.load(std::memory_order_acquire) ||
               generation_.load(std::memory_order_acquire) != seen;
    };
    for (;;) {
        if (!spin_until(started)) {
            std::unique_lock<std::mutex> lk(mu_);
            cv_start_.wait(lk, started);
        }
        if (stop_.load(std::memory_order_acquire)) return;
        seen = generation_.load(std::memory_order_acquire);
        run_chunks();
        if (active_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            // Under mu_ so a caller between its check and its wait cannot miss it.
            std::lock_guard<std::mutex> lk(mu_);
            cv_done_.notify_one();
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
    const int64_t chunk = std::max(grain, (n + threads * 4 - 1) / (threads * 4));
    ++jobs_dispatched_;
    ctx_ = ctx;
    call_ = call;
    n_ = n;
    chunk_ = chunk;
    next_.store(0, std::memory_order_relaxed);
    active_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
    {
        // Under mu_ so a worker between its check and its wait cannot miss it.
        std::lock_guard<std::mutex> lk(mu_);
        generation_.fetch_add(1, std::memory_order_release);
    }
    cv_start_.notify_all();
    run_chunks();
    const auto waiting = std::chrono::steady_clock::now();
    const auto done = [&] { return active_.load(std::memory_order_acquire) == 0; };
    if (!spin_until(done)) {
        std::unique_lock<std::mutex> lk(mu_);
        cv_done_.wait(lk, done);
    }
    ctx_ = nullptr;
    call_ = nullptr;
    barrier_wait_s_ +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - waiting).count();
}

}  // namespace ig
