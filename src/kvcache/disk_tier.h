#pragma once
// Disk tier: one file per KV block in a directory under a byte budget (LRU
// replacement). put() only queues a copy (bounded by queue_bytes; a full
// queue drops the block): background IO threads write <hash>.kvb.tmp and
// rename it into place. Reads run on the caller's thread and check the
// header (model/layout fingerprint, hash, size) and the payload CRC32C; a
// damaged file is deleted and reads as a miss.
//
// open() rebuilds the index from the files already there (header checks;
// payload checksums are verified when a block is read), so a restarted
// server keeps its blocks. Faults at run time (disk full, IO or permission
// errors, the directory removed) are logged and counted: a full disk shrinks
// the budget, a missing directory is re-created once, repeated failures
// disable the tier. Serving goes on by recompute.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "kvcache/tier.h"

namespace ig {

struct DiskTierConfig {
    std::string dir;
    int64_t budget_bytes = 0;
    size_t block_bytes = 0;
    // Model fingerprint + KV layout: files with another key are left alone.
    std::string layout_key;
    int io_threads = 1;
    int64_t queue_bytes = 64 << 20;  // pending writes held in memory
};

class DiskTier final : public Tier {
  public:
    static Expected<std::unique_ptr<DiskTier>> open(DiskTierConfig cfg);
    ~DiskTier() override;  // writes what is queued, then joins the IO threads
    DiskTier(const DiskTier&) = delete;
    DiskTier& operator=(const DiskTier&) = delete;

    std::string_view name() const override { return "disk"; }
    bool put(const BlockHash& h, std::span<const uint8_t> bytes) override;
    bool lookup(const BlockHash& h) override;
    Status read(const BlockHash& h, std::span<uint8_t> out) override;
    void evict(const BlockHash& h) override;
    TierStats stats() const override;

    void flush();  // waits until every queued write is done
    int64_t recovered_blocks() const { return recovered_; }  // found valid by open()
    std::string block_path(const BlockHash& h) const;

  private:
    explicit DiskTier(DiskTierConfig cfg);
    Status scan();
    void worker();
    // Writes one block file; returns 0 or an errno.
    int write_file(const BlockHash& h, const std::vector<uint8_t>& bytes);
    void on_write_error(int err);
    // By value: callers pass lru_.front(), whose node this erases.
    void drop_locked(BlockHash h, std::vector<std::string>& unlink_paths);
    void shrink_locked(std::vector<std::string>& unlink_paths);
    void disable_locked(const std::string& why);

    struct Entry {
        std::list<BlockHash>::iterator lru;
    };
    DiskTierConfig cfg_;
    BlockHash fingerprint_{};
    size_t file_bytes_ = 0;
    int64_t recovered_ = 0;

    mutable std::mutex mu_;
    std::condition_variable work_cv_, idle_cv_;
    std::unordered_map<BlockHash, Entry, BlockHashHasher> index_;
    std::list<BlockHash> lru_;  // front: least recently used
    std::unordered_map<BlockHash, std::shared_ptr<const std::vector<uint8_t>>, BlockHashHasher>
        pending_;
    std::deque<BlockHash> queue_;
    int64_t pending_bytes_ = 0;
    int in_flight_ = 0;
    int64_t budget_ = 0;
    int64_t writing_bytes_ = 0;  // room reserved by writes in progress
    bool enabled_ = true, stop_ = false;
    std::mutex dir_mu_;           // IO threads re-creating a vanished directory
    bool recreated_dir_ = false;  // guarded by dir_mu_
    int consecutive_errors_ = 0;
    TierStats stats_;
    std::vector<std::thread> threads_;
};

}  // namespace ig
