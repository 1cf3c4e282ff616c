#pragma once
// Counts heap allocations (global operator new) for the tests that pin "the
// hot path allocates nothing". Link the ig_test_alloc_counter object library:
// it replaces the binary's global allocator.
#include <cstdint>

namespace ig::test {

// False under sanitizers, which bring their own allocator: nothing is counted.
bool counting_allocations();
// operator new / new[] calls since the process started, on every thread.
int64_t allocations();

}  // namespace ig::test
