#pragma once
// A STREAM-triad-like probe (a = b + s * c over arrays far larger than the
// caches) on the given thread pool: the memory bandwidth decode is bound by.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "util/thread_pool.h"

namespace ig {

// Best of `reps` passes, in GB/s (10^9 bytes/s), counting 3 arrays of
// `n_floats` floats per pass (two read, one written).
double measure_triad_gb_per_s(ThreadPool& pool, int64_t n_floats = 32 << 20, int reps = 5);

// A read-only stream over a buffer far larger than the caches (in huge pages,
// as the packed weights), split over the pool's threads: the traffic decode
// makes. Decode rounds paired with passes of it give a ratio that holds still
// while the bandwidth other tenants leave moves (the triad probe runs at
// another moment).
class ReadProbe {
  public:
    // An empty probe (pass_gb_per_s() 0) if the buffer cannot be allocated.
    explicit ReadProbe(ThreadPool& pool, size_t bytes = size_t{512} << 20);
    // GB/s (10^9 bytes/s) of one pass over the whole buffer.
    double pass_gb_per_s();

  private:
    struct Free {
        void operator()(uint64_t* p) const { std::free(p); }
    };
    ThreadPool& pool_;
    size_t words_ = 0;
    std::unique_ptr<uint64_t[], Free> buf_;
};

}  // namespace ig
