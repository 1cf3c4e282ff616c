#include "engine/request_queue.h"

#include <gtest/gtest.h>

namespace ig {
namespace {

Sequence make(int32_t prio, uint64_t arrival) {
    Sequence s;
    s.priority = prio;
    s.arrival_seq = arrival;
    return s;
}

TEST(RequestQueue, MostUrgentClassFirstThenFcfs) {
    Sequence a = make(1, 0), b = make(0, 1), c = make(1, 2), d = make(0, 3);
    RequestQueue q;
    for (Sequence* s : {&a, &b, &c, &d}) q.push_back(s);
    std::vector<Sequence*> order;
    while (!q.empty()) {
        order.push_back(q.peek());
        ASSERT_TRUE(q.remove(order.back()));
    }
    EXPECT_EQ(order, (std::vector<Sequence*>{&b, &d, &a, &c}));
    EXPECT_EQ(q.peek(), nullptr);
}

TEST(RequestQueue, PreemptedResumeAtTheHeadOfTheirClassInArrivalOrder) {
    Sequence a = make(0, 5), p1 = make(0, 1), p2 = make(0, 3), other = make(1, 0);
    p1.preemptions = p2.preemptions = 1;
    RequestQueue q;
    q.push_back(&a);
    q.push_back(&other);
    q.push_front(&p2);
    q.push_front(&p1);  // earlier arrival: ahead of p2
    EXPECT_EQ(q.size(), 4u);
    EXPECT_EQ(q.peek(), &p1);
    q.remove(&p1);
    EXPECT_EQ(q.peek(), &p2);
    q.remove(&p2);
    EXPECT_EQ(q.peek(), &a);
    EXPECT_FALSE(q.remove(&p2));
}

TEST(RequestQueue, PolicyPicksTheNextSequence) {
    Sequence a = make(0, 0), b = make(0, 1), c = make(2, 2);
    RequestQueue q;
    for (Sequence* s : {&a, &b, &c}) q.push_back(s);
    // A policy that looks at every class and picks the latest arrival.
    q.set_policy([](const RequestQueue& rq) {
        Sequence* best = nullptr;
        rq.for_each_class([&](int32_t, const std::deque<Sequence*>& cl) {
            for (Sequence* s : cl)
                if (!best || s->arrival_seq > best->arrival_seq) best = s;
        });
        return best;
    });
    EXPECT_EQ(q.peek(), &c);
    q.set_policy(nullptr);  // back to the default
    EXPECT_EQ(q.peek(), &a);
}

}  // namespace
}  // namespace ig
