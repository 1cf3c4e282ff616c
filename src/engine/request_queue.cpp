#include "engine/request_queue.h"

#include <algorithm>
#include <utility>

namespace ig {
namespace {

Sequence* head_of_most_urgent_class(const RequestQueue& q) {
    Sequence* out = nullptr;
    q.for_each_class([&](int32_t, const std::deque<Sequence*>& c) {
        if (!out && !c.empty()) out = c.front();
    });
    return out;
}

}  // namespace

RequestQueue::RequestQueue() : policy_(head_of_most_urgent_class) {}

void RequestQueue::set_policy(Policy p) {
    policy_ = p ? std::move(p) : Policy(head_of_most_urgent_class);
}

void RequestQueue::push_back(Sequence* s) {
    classes_[s->priority].push_back(s);
    ++size_;
}

void RequestQueue::push_front(Sequence* s) {
    // Among preempted sequences of a class, the earlier arrival goes first.
    auto& q = classes_[s->priority];
    auto it = q.begin();
    while (it != q.end() && (*it)->preemptions > 0 && (*it)->before(*s)) ++it;
    q.insert(it, s);
    ++size_;
}

bool RequestQueue::remove(Sequence* s) {
    auto c = classes_.find(s->priority);
    if (c == classes_.end()) return false;
    auto it = std::find(c->second.begin(), c->second.end(), s);
    if (it == c->second.end()) return false;
    c->second.erase(it);
    if (c->second.empty()) classes_.erase(c);
    --size_;
    return true;
}

Sequence* RequestQueue::peek() const {
    return size_ == 0 ? nullptr : policy_(*this);
}

}  // namespace ig
