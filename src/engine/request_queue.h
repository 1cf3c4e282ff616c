#pragma once
// The waiting queue: priority classes (lower value first), FCFS within a
// class, preempted sequences re-enter at the head of their class. Which
// sequence is admitted next is a policy (default: head of the most urgent
// class) so that a tenant-fairness policy can be plugged in later.
#include <cstddef>
#include <deque>
#include <functional>
#include <map>

#include "engine/sequence.h"

namespace ig {

class RequestQueue {
  public:
    // Returns the sequence to admit next (one held by the queue), or nullptr.
    using Policy = std::function<Sequence*(const RequestQueue&)>;

    RequestQueue();
    void set_policy(Policy p);

    void push_back(Sequence* s);   // new arrival
    void push_front(Sequence* s);  // preempted: resumes before later arrivals of its class
    bool remove(Sequence* s);      // false if not queued
    Sequence* peek() const;        // per the policy
    bool empty() const { return size_ == 0; }
    size_t size() const { return size_; }

    // Classes in priority order (for policies): fn(priority, queue of that class).
    template <class F>
    void for_each_class(F&& fn) const {
        for (const auto& [prio, q] : classes_) fn(prio, q);
    }

  private:
    std::map<int32_t, std::deque<Sequence*>> classes_;
    size_t size_ = 0;
    Policy policy_;
};

}  // namespace ig
