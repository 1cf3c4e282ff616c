#include "support/alloc_counter.h"

#include <atomic>
#include <cstdlib>
#include <new>

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define IG_COUNT_ALLOCS 1
#endif

namespace {
std::atomic<int64_t> g_allocs{0};
}  // namespace

namespace ig::test {

bool counting_allocations() {
#ifdef IG_COUNT_ALLOCS
    return true;
#else
    return false;
#endif
}

int64_t allocations() {
    return g_allocs.load(std::memory_order_relaxed);
}

}  // namespace ig::test

#ifdef IG_COUNT_ALLOCS
// GCC pairs the inlined malloc with library code's delete and warns; they match here.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
    g_allocs.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
    return operator new(n);
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}
#endif
