#include "kvcache/write_behind.h"

#include <algorithm>
#include <cstring>

namespace ig {

WriteBehind::WriteBehind(const WriteBehindConfig& cfg, Sink sink)
    : cfg_(cfg), sink_(std::move(sink)) {
    const int64_t per = static_cast<int64_t>(std::max<size_t>(cfg_.block_bytes, 1));
    slots_ = static_cast<size_t>(std::clamp<int64_t>(cfg_.queue_bytes / per, 2, 4096));
    staging_.reset(new uint8_t[slots_ * cfg_.block_bytes]);
    free_.reserve(slots_);
    for (size_t i = slots_; i-- > 0;) free_.push_back(static_cast<uint32_t>(i));
    ring_.resize(slots_);
    staged_.reserve(slots_);
    thread_ = std::thread([this] { writer(); });
}

WriteBehind::~WriteBehind() {
    {
        std::lock_guard lk(mu_);
        stop_ = true;
    }
    work_cv_.notify_all();
    thread_.join();
}

WriteBehind::Offer WriteBehind::offer(const BlockHash& h, std::span<const uint8_t> bytes) {
    uint32_t slot;
    {
        std::lock_guard lk(mu_);
        if (staged_.count(h)) return Offer::Duplicate;
        if (free_.empty() || bytes.size() != cfg_.block_bytes) {
            ++dropped_;
            return Offer::QueueFull;
        }
        slot = free_.back();
        free_.pop_back();
        staged_.insert(h);
    }
    // The slot is ours until queued: copy without holding the lock.
    std::memcpy(slot_bytes(slot), bytes.data(), bytes.size());
    {
        std::lock_guard lk(mu_);
        ring_[(head_ + count_) % slots_] = Item{h, slot};
        ++count_;
    }
    work_cv_.notify_one();
    return Offer::Queued;
}

bool WriteBehind::queued(const BlockHash& h) const {
    std::lock_guard lk(mu_);
    return staged_.count(h) != 0;
}

void WriteBehind::flush() {
    std::unique_lock lk(mu_);
    idle_cv_.wait(lk, [&] { return staged_.empty(); });
}

uint64_t WriteBehind::dropped() const {
    std::lock_guard lk(mu_);
    return dropped_;
}

void WriteBehind::writer() {
    std::unique_lock lk(mu_);
    for (;;) {
        work_cv_.wait(lk, [&] { return stop_ || count_ > 0; });
        if (count_ == 0) return;  // stopping, and everything is handed on
        const Item it = ring_[head_];
        head_ = (head_ + 1) % slots_;
        --count_;
        busy_ = true;
        lk.unlock();
        if (cfg_.before_write) cfg_.before_write();
        sink_(it.hash, std::span<const uint8_t>(slot_bytes(it.slot), cfg_.block_bytes));
        lk.lock();
        busy_ = false;
        free_.push_back(it.slot);
        staged_.erase(it.hash);
        if (staged_.empty()) idle_cv_.notify_all();
    }
}

}  // namespace ig
