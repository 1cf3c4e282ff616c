#include "tenants/rate_window.h"

#include <algorithm>
#include <limits>

namespace ig::tenants {

namespace {

constexpr int64_t kNone = std::numeric_limits<int64_t>::min();

int64_t floor_div(int64_t a, int64_t b) {
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

int64_t mod(int64_t a, int64_t b) {
    const int64_t r = a % b;
    return r < 0 ? r + b : r;
}

}  // namespace

RateWindow::RateWindow(int32_t slots, int64_t slot_ms)
    : counts_(static_cast<size_t>(std::max<int32_t>(1, slots)) + 1, 0),
      slot_ms_(std::max<int64_t>(1, slot_ms)),
      head_(kNone) {}

int64_t RateWindow::slot_of(int64_t now_ms) const {
    return floor_div(now_ms, slot_ms_);
}

int64_t& RateWindow::at(int64_t slot) {
    return counts_[static_cast<size_t>(mod(slot, static_cast<int64_t>(counts_.size())))];
}

void RateWindow::advance(int64_t slot) {
    if (head_ != kNone && slot <= head_) return;
    const auto size = static_cast<int64_t>(counts_.size());
    if (head_ == kNone || slot - head_ >= size) {
        std::fill(counts_.begin(), counts_.end(), 0);
    } else {
        for (int64_t s = head_ + 1; s <= slot; ++s) at(s) = 0;
    }
    head_ = slot;
}

int64_t RateWindow::total(int64_t now_ms) {
    advance(slot_of(now_ms));
    int64_t sum = 0;
    for (int64_t c : counts_) sum += c;
    return sum;
}

int64_t RateWindow::add(int64_t now_ms, int64_t n) {
    advance(slot_of(now_ms));
    at(head_) += n;
    return head_;
}

void RateWindow::refund(int64_t slot, int64_t n) {
    if (head_ == kNone || n <= 0) return;
    if (slot > head_ || slot <= head_ - static_cast<int64_t>(counts_.size())) return;
    int64_t& c = at(slot);
    c -= std::min(c, n);
}

int64_t RateWindow::wait_ms(int64_t now_ms, int64_t need, int64_t budget) {
    if (need > budget) return -1;
    int64_t sum = total(now_ms);
    if (sum + need <= budget) return 0;
    // Slot head_ + d starts the window without slot head_ - slots + d - 1.
    const auto size = static_cast<int64_t>(counts_.size());
    for (int64_t d = 1; d <= size; ++d) {
        sum -= at(head_ - size + d);
        if (sum + need <= budget) return std::max<int64_t>(1, (head_ + d) * slot_ms_ - now_ms);
    }
    return std::max<int64_t>(1, (head_ + size) * slot_ms_ - now_ms);  // unreachable: need <= budget
}

}  // namespace ig::tenants
