#include "kvcache/disk_loader.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>

#include <spdlog/spdlog.h>

#include "kvcache/disk_block_file.h"
#include "util/seconds_since.h"

namespace ig {
using Clock = std::chrono::steady_clock;

struct DiskLoader::Shared {
    struct Job {
        BlockHash hash{};
        BlockId block = 0;
        Clock::time_point due;
    };
    struct Slot {  // one per thread
        bool busy = false;
        bool abandoned = false;  // busy, but nobody waits for the bytes any more
        bool exited = false;
        Job job;
        std::vector<uint8_t> buf;
    };

    Shared(std::shared_ptr<DiskTier> d, KvArena& a, Clock::duration t)
        : disk(std::move(d)), arena(a), timeout(t) {}
    void run(size_t i);
    // Abandons the loads due by `now`, reporting them failed.
    void expire_locked(Clock::time_point now);
    bool idle_locked() const;
    Clock::time_point next_due_locked() const;

    const std::shared_ptr<DiskTier> disk;
    KvArena& arena;  // written only for loads still wanted: never after ~DiskLoader
    const Clock::duration timeout;

    std::mutex mu;
    std::condition_variable work_cv, idle_cv;
    std::deque<Job> queue;  // in start order, so in due order
    std::vector<Slot> slots;
    std::vector<Finished> done;
    size_t stuck = 0;  // threads in a read that was abandoned
    bool stop = false, paused = false;
};

DiskLoader::DiskLoader(std::shared_ptr<DiskTier> disk, KvArena& arena, int threads,
                       std::chrono::milliseconds timeout)
    : s_(std::make_shared<Shared>(std::move(disk), arena,
                                  std::max(timeout, std::chrono::milliseconds(1)))) {
    const auto n = static_cast<size_t>(std::max(threads, 1));
    s_->slots.resize(n);
    for (Shared::Slot& slot : s_->slots) slot.buf.resize(arena.block_bytes());
    for (size_t i = 0; i < n; ++i) threads_.emplace_back([s = s_, i] { s->run(i); });
}

DiskLoader::~DiskLoader() {
    std::vector<bool> exited;
    {
        std::unique_lock lk(s_->mu);
        s_->stop = true;
        s_->queue.clear();
        // A read in progress may still end by its deadline; its bytes are dropped.
        for (Shared::Slot& slot : s_->slots)
            if (slot.busy && !slot.abandoned) {
                slot.abandoned = true;
                ++s_->stuck;
            }
        s_->work_cv.notify_all();
        // Settled: every thread has exited or is in a read past its deadline.
        for (;;) {
            const auto now = Clock::now();
            auto wake = Clock::time_point::max();
            bool settled = true;
            for (const Shared::Slot& slot : s_->slots) {
                if (slot.exited || (slot.busy && slot.job.due <= now)) continue;
                settled = false;
                if (slot.busy) wake = std::min(wake, slot.job.due);
            }
            if (settled) break;
            if (wake == Clock::time_point::max())
                s_->idle_cv.wait(lk);  // idle threads exit at once
            else
                s_->idle_cv.wait_until(lk, wake);
        }
        for (const Shared::Slot& slot : s_->slots) exited.push_back(slot.exited);
    }
    size_t left = 0;
    for (size_t i = 0; i < threads_.size(); ++i) {
        if (exited[i]) {
            threads_[i].join();
        } else {
            threads_[i].detach();  // it owns a reference to the shared state
            ++left;
        }
    }
    if (left > 0)
        spdlog::warn(
            "disk KV tier: {} loader thread(s) blocked in a read past the deadline; leaving "
            "them behind so that shutdown ends",
            left);
}

void DiskLoader::Shared::run(size_t i) {
    Slot& slot = slots[i];  // slots never resize after the threads start
    std::unique_lock lk(mu);
    for (;;) {
        work_cv.wait(lk, [&] { return stop || (!paused && !queue.empty()); });
        if (stop) break;
        slot.job = queue.front();
        queue.pop_front();
        slot.busy = true;
        slot.abandoned = false;
        lk.unlock();
        const auto t0 = Clock::now();
        const bool ok = disk->read(slot.job.hash, slot.buf).ok();
        const double secs = seconds_since(t0);
        lk.lock();
        slot.busy = false;
        if (slot.abandoned) {
            // Its pool block may hold another sequence's KV by now: drop the bytes.
            --stuck;
            spdlog::info("disk KV tier: a read abandoned at its deadline returned after {:.1f} s",
                         secs);
            idle_cv.notify_all();
            continue;
        }
        // Under the lock: the engine cannot abandon this load meanwhile.
        if (ok) std::memcpy(arena.block(slot.job.block), slot.buf.data(), slot.buf.size());
        done.push_back({{slot.job.block, slot.job.hash, ok}, secs, false});
        idle_cv.notify_all();
    }
    slot.exited = true;
    idle_cv.notify_all();
}

void DiskLoader::Shared::expire_locked(Clock::time_point now) {
    while (!queue.empty() && queue.front().due <= now) {
        const Job& j = queue.front();
        done.push_back({{j.block, j.hash, false}, 0, true});
        queue.pop_front();
    }
    for (Slot& slot : slots) {
        if (!slot.busy || slot.abandoned || slot.job.due > now) continue;
        slot.abandoned = true;
        ++stuck;
        done.push_back({{slot.job.block, slot.job.hash, false}, 0, true});
        spdlog::warn(
            "disk KV tier: reading block {} did not finish within {} ms; served as a miss "
            "({} of {} loader threads stuck)",
            hash_hex(slot.job.hash).substr(0, 16),
            std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count(), stuck,
            slots.size());
    }
}

bool DiskLoader::Shared::idle_locked() const {
    if (!queue.empty()) return false;
    return std::none_of(slots.begin(), slots.end(),
                        [](const Slot& slot) { return slot.busy && !slot.abandoned; });
}

Clock::time_point DiskLoader::Shared::next_due_locked() const {
    auto due = Clock::time_point::max();
    if (!queue.empty()) due = queue.front().due;
    for (const Slot& slot : slots)
        if (slot.busy && !slot.abandoned) due = std::min(due, slot.job.due);
    return due;
}

bool DiskLoader::available() const {
    std::lock_guard lk(s_->mu);
    return s_->stuck < s_->slots.size();
}

size_t DiskLoader::stuck() const {
    std::lock_guard lk(s_->mu);
    return s_->stuck;
}

void DiskLoader::start(const BlockHash& h, BlockId dst) {
    {
        std::lock_guard lk(s_->mu);
        s_->queue.push_back({h, dst, Clock::now() + s_->timeout});
    }
    s_->work_cv.notify_one();
}

void DiskLoader::poll(std::vector<Finished>& out) {
    out.clear();
    std::lock_guard lk(s_->mu);
    s_->expire_locked(Clock::now());
    out.swap(s_->done);  // swapped, not reallocated, each poll
}

void DiskLoader::wait_idle() {
    std::unique_lock lk(s_->mu);
    for (;;) {
        s_->expire_locked(Clock::now());
        if (s_->idle_locked()) return;
        s_->idle_cv.wait_until(lk, s_->next_due_locked());
    }
}

void DiskLoader::set_paused(bool paused) {
    {
        std::lock_guard lk(s_->mu);
        s_->paused = paused;
    }
    s_->work_cv.notify_all();
}

}  // namespace ig
