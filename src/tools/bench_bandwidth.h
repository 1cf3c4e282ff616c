#pragma once
// A STREAM-triad-like probe (a = b + s * c over arrays far larger than the
// caches) on the given thread pool: the memory bandwidth decode is bound by.
#include "util/thread_pool.h"

namespace ig {

// Best of `reps` passes, in GB/s (10^9 bytes/s), counting 3 arrays of
// `n_floats` floats per pass (two read, one written).
double measure_triad_gb_per_s(ThreadPool& pool, int64_t n_floats = 32 << 20, int reps = 5);

}  // namespace ig
