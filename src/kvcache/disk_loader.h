#pragma once
// Background reads of disk-tier blocks into pool blocks, with a deadline.
// Each loader thread reads into its own buffer and copies into the pool
// block only if the load is still wanted, under the lock that abandons loads.
// So a read blocked in the file system (a dead network mount) costs the
// engine one deadline, never its progress: at the deadline the load reports
// failure (the sequence recomputes) and its pool block may be reused at
// once; the stuck thread, when its read returns, drops what it read. While
// every loader thread is stuck, available() is false and no load starts.
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "kvcache/disk_tier.h"
#include "kvcache/kv_arena.h"
#include "kvcache/tier_load.h"

namespace ig {

class DiskLoader {
  public:
    struct Finished {
        LoadResult result;
        double seconds = 0;  // the read's time (0 for a timeout)
        bool timed_out = false;
    };

    // `arena` must outlive this object; the disk tier is shared with the threads.
    DiskLoader(std::shared_ptr<DiskTier> disk, KvArena& arena, int threads,
               std::chrono::milliseconds timeout);
    // Abandons every load, then joins the threads; one still blocked in a
    // read at its load's deadline is detached (it holds the shared state and
    // the disk tier, never the arena), so that shutdown ends.
    ~DiskLoader();
    DiskLoader(const DiskLoader&) = delete;
    DiskLoader& operator=(const DiskLoader&) = delete;

    bool available() const;  // false while every thread is stuck in a read
    size_t stuck() const;    // threads in a read abandoned at its deadline
    // Queues a read of `h` into pool block `dst`, due within the timeout.
    void start(const BlockHash& h, BlockId dst);
    // The loads finished or abandoned since the last call (out is swapped in).
    void poll(std::vector<Finished>& out);
    // Until every load has finished or been abandoned at its deadline.
    void wait_idle();
    void set_paused(bool paused);  // threads take no new load while paused (tests)

  private:
    struct Shared;
    std::shared_ptr<Shared> s_;
    std::vector<std::thread> threads_;
};

}  // namespace ig
