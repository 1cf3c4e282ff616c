#pragma once
// What one parallel job costs the thread pool itself: waking the workers and
// the barrier at its end, measured on jobs that do no work.
#include "util/thread_pool.h"

namespace ig {

// Microseconds per empty job (one chunk per thread), the best of `reps`
// runs of `jobs` back-to-back jobs; 0 for a pool of one thread, which runs
// every job inline.
double measure_sync_us_per_job(ThreadPool& pool, int jobs = 20000, int reps = 3);

}  // namespace ig
