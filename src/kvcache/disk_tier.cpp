#include "kvcache/disk_tier.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <list>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "kvcache/disk_block_file.h"
#include "kvcache/disk_dir_entry.h"
#include "util/crc32c.h"

namespace ig {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kMaxConsecutiveErrors = 8;

double since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

bool write_all(int fd, const uint8_t* p, size_t n) {
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        if (w == 0) {
            errno = EIO;
            return false;
        }
        p += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

int64_t wall_clock_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

// Everything the IO threads and the scan touch lives here, owned together by
// the DiskTier and by each of its threads: a thread blocked in the file
// system can then be detached at shutdown without dangling.
struct DiskTier::Core {
    explicit Core(DiskTierConfig c);

    bool put(const BlockHash& h, std::span<const uint8_t> bytes);
    bool lookup(const BlockHash& h);
    Status read(const BlockHash& h, std::span<uint8_t> out);
    void evict(const BlockHash& h);
    std::string block_path(const BlockHash& h) const;
    void worker();
    void scan(DIR* dir);
    void thread_exited(size_t i);
    // Writes one block file; returns 0 or an errno.
    int write_file(const BlockHash& h, const std::vector<uint8_t>& bytes);
    int do_fsync(int fd) const { return cfg.fsync ? cfg.fsync(fd) : ::fsync(fd); }
    int sync_dir() const;  // fsyncs the directory (its entries: renames); 0 or an errno
    // DiskSync::Batch: whether the files written since the last sync are due.
    bool batch_due() const {
        return cfg.sync == DiskSync::Batch && !unsynced.empty() && !syncing &&
               (stop || Clock::now() >= last_sync + cfg.sync_interval);
    }
    // fsyncs the files in `unsynced` and the directory; `lk` (on mu) is
    // released during the IO.
    void sync_batch(std::unique_lock<std::mutex>& lk);
    // By value: callers pass lru.front(), whose node this erases.
    void drop_locked(BlockHash h, std::vector<std::string>& unlink_paths);
    void forget_locked(BlockHash h);  // out of the index; the file stays
    void shrink_locked(std::vector<std::string>& unlink_paths);
    void disable_locked(const std::string& why);
    // While the scan runs, blocks this run wrote, read or dropped are its own:
    // the scan must not index them again from what it finds on disk.
    void touch_locked(const BlockHash& h) {
        if (scanning) touched.insert(h);
    }

    struct Entry {
        std::list<BlockHash>::iterator lru;
    };
    const DiskTierConfig cfg;
    BlockFileSpec spec;
    size_t file_bytes = 0;

    std::mutex mu;
    std::condition_variable work_cv, idle_cv, scan_cv, exit_cv;
    std::unordered_map<BlockHash, Entry, BlockHashHasher> index;
    std::list<BlockHash> lru;  // front: least recently used
    std::unordered_map<BlockHash, std::shared_ptr<const std::vector<uint8_t>>, BlockHashHasher>
        pending;
    std::deque<BlockHash> queue;
    int64_t pending_bytes = 0;
    int in_flight = 0;
    int64_t budget = 0;
    int64_t writing_bytes = 0;  // room reserved by writes in progress
    bool enabled = true, stop = false;
    bool abandon = false;  // shutdown gave up waiting: drop queued writes
    bool scanning = true;
    std::unordered_set<BlockHash, BlockHashHasher> touched;  // see touch_locked
    int64_t recovered = 0;
    bool warned_not_regular = false;
    Clock::time_point last_progress = Clock::now();  // an IO operation or scan entry ended
    std::vector<bool> exited;                        // per thread: IO threads, then the scan
    size_t live = 0;
    std::mutex dir_mu;           // IO threads re-creating a vanished directory
    bool recreated_dir = false;  // guarded by dir_mu
    int consecutive_errors = 0;
    std::vector<std::string> unsynced;  // DiskSync::Batch: renamed since the last sync
    Clock::time_point last_sync = Clock::now();
    bool syncing = false;  // a thread runs sync_batch
    TierStats stats;
};

Expected<DiskSync> parse_disk_sync(std::string_view s) {
    if (s == "off") return DiskSync::Off;
    if (s == "batch") return DiskSync::Batch;
    if (s == "always") return DiskSync::Always;
    return make_error("KV disk sync mode '{}' is not one of off, batch, always", s);
}

std::string_view disk_sync_name(DiskSync s) {
    switch (s) {
        case DiskSync::Off:
            return "off";
        case DiskSync::Batch:
            return "batch";
        case DiskSync::Always:
            return "always";
    }
    return "unknown";
}

DiskTier::Core::Core(DiskTierConfig c) : cfg(std::move(c)) {
    spec.fingerprint = sha256(std::span<const uint8_t>(
        reinterpret_cast<const uint8_t*>(cfg.layout_key.data()), cfg.layout_key.size()));
    spec.block_bytes = cfg.block_bytes;
    file_bytes = kDiskHeaderBytes + cfg.block_bytes;
    budget = cfg.budget_bytes;
    stats.name = "disk";
    stats.bytes_budget = budget;
}

Expected<std::unique_ptr<DiskTier>> DiskTier::open(DiskTierConfig cfg) {
    if (cfg.dir.empty()) return make_error("disk KV tier: no directory");
    if (cfg.block_bytes == 0) return make_error("disk KV tier: block size is 0 bytes");
    if (cfg.budget_bytes <= 0) return make_error("disk KV tier: budget must be > 0 bytes");
    if (cfg.budget_bytes < static_cast<int64_t>(cfg.block_bytes + kDiskHeaderBytes))
        return make_error("disk KV tier: budget of {} bytes holds no block of {} bytes",
                          cfg.budget_bytes, cfg.block_bytes + kDiskHeaderBytes);
    cfg.io_threads = std::clamp(cfg.io_threads, 1, 16);
    cfg.queue_bytes = std::max<int64_t>(cfg.queue_bytes, static_cast<int64_t>(cfg.block_bytes));
    cfg.io_timeout = std::max(cfg.io_timeout, std::chrono::milliseconds(1));
    std::error_code ec;
    fs::create_directories(cfg.dir, ec);
    if (ec)
        return make_error(ErrorCode::Io, "disk KV tier: cannot create '{}': {}", cfg.dir,
                          ec.message());
    if (::access(cfg.dir.c_str(), R_OK | W_OK | X_OK) != 0)
        return make_error(ErrorCode::Io, "disk KV tier: '{}' is not writable: {}", cfg.dir,
                          std::strerror(errno));
    // Opened here so that an unlistable directory is still an error of open();
    // reading the entries is the scan's, in the background.
    const int dfd = ::open(cfg.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR* dir = dfd < 0 ? nullptr : ::fdopendir(dfd);
    if (!dir) {
        const int err = errno;
        if (dfd >= 0) ::close(dfd);
        return make_error(ErrorCode::Io, "disk KV tier: cannot list '{}': {}", cfg.dir,
                          std::strerror(err));
    }
    const auto n_io = static_cast<size_t>(cfg.io_threads);
    auto core = std::make_shared<Core>(std::move(cfg));
    core->live = n_io + 1;
    core->exited.assign(n_io + 1, false);
    std::unique_ptr<DiskTier> t(new DiskTier(core));
    for (size_t i = 0; i < n_io; ++i)
        t->threads_.emplace_back([core, i] {
            core->worker();
            core->thread_exited(i);
        });
    t->threads_.emplace_back([core, dir, i = n_io] {
        core->scan(dir);
        core->thread_exited(i);
    });
    return t;
}

DiskTier::~DiskTier() {
    Core& c = *core_;
    std::vector<bool> exited;
    {
        std::unique_lock lk(c.mu);
        c.stop = true;
        // Queued writes are still written, as long as they make progress.
        c.last_progress = Clock::now();
        c.work_cv.notify_all();
        while (c.live > 0) {
            const auto until = c.last_progress + c.cfg.io_timeout;
            if (Clock::now() >= until) break;
            c.exit_cv.wait_until(lk, until);
        }
        if (c.live > 0) {
            c.abandon = true;
            c.work_cv.notify_all();
            spdlog::warn(
                "disk KV tier: {} thread(s) blocked in the file system under '{}' for over {} "
                "ms; leaving them behind, queued writes are dropped",
                c.live, c.cfg.dir, c.cfg.io_timeout.count());
        }
        exited = c.exited;
    }
    for (size_t i = 0; i < threads_.size(); ++i) {
        if (exited[i])
            threads_[i].join();
        else
            threads_[i].detach();  // it owns a reference to the core
    }
}

void DiskTier::Core::thread_exited(size_t i) {
    std::lock_guard lk(mu);
    exited[i] = true;
    --live;
    exit_cv.notify_all();
}

std::string DiskTier::Core::block_path(const BlockHash& h) const {
    return (fs::path(cfg.dir) / (hash_hex(h) + ".kvb")).string();
}

void DiskTier::Core::scan(DIR* dir) {
    const auto t0 = Clock::now();
    const int dfd = ::dirfd(dir);
    // A temp file newer than the scan may be one of this run's writes.
    const int64_t started_ns = wall_clock_ns();
    struct Found {
        BlockHash h;
        int64_t mtime_ns;
    };
    std::vector<Found> found;
    std::string list_error;
    for (;;) {
        {
            std::lock_guard lk(mu);
            last_progress = Clock::now();
            if (stop || !enabled) break;
        }
        errno = 0;
        const dirent* e = ::readdir(dir);
        if (!e) {
            if (errno != 0) list_error = std::strerror(errno);
            break;
        }
        const DirEntryCheck c = check_dir_entry(dfd, *e, spec, cfg.read_at);
        switch (c.kind) {
            case DirEntryKind::Other:
            case DirEntryKind::OtherLayout:
                break;
            case DirEntryKind::TempFile: {
                // A write cut short by a crash: never renamed, never valid.
                bool ours;
                {
                    std::lock_guard lk(mu);
                    ours = pending.count(c.hash) || touched.count(c.hash);
                }
                if (!ours && c.mtime_ns < started_ns) ::unlinkat(dfd, e->d_name, 0);
                break;
            }
            case DirEntryKind::NotRegular: {
                std::lock_guard lk(mu);
                ++stats.skipped;
                if (!warned_not_regular) {
                    warned_not_regular = true;
                    spdlog::warn(
                        "disk KV tier: '{}/{}' is {}: left alone (others like it are only "
                        "counted)",
                        cfg.dir, e->d_name, c.why);
                }
                break;
            }
            case DirEntryKind::Damaged: {
                bool ours;
                {
                    std::lock_guard lk(mu);
                    ++stats.corrupt;
                    ours = pending.count(c.hash) || touched.count(c.hash);
                }
                if (!ours) ::unlinkat(dfd, e->d_name, 0);
                break;
            }
            case DirEntryKind::Block: {
                std::lock_guard lk(mu);
                if (touched.count(c.hash) || index.count(c.hash) || pending.count(c.hash)) break;
                // Older than anything this run stores: the LRU end evicted first.
                index[c.hash].lru = lru.insert(lru.begin(), c.hash);
                stats.bytes_used += static_cast<int64_t>(file_bytes);
                ++stats.blocks;
                ++recovered;
                found.push_back({c.hash, c.mtime_ns});
                break;
            }
        }
    }
    ::closedir(dir);
    std::vector<std::string> unlink_paths;
    {
        std::lock_guard lk(mu);
        // Oldest first: the LRU order a restart can know. Blocks this run
        // touched meanwhile keep their places.
        std::sort(found.begin(), found.end(),
                  [](const Found& a, const Found& b) { return a.mtime_ns > b.mtime_ns; });
        for (const Found& f : found)
            if (const auto it = index.find(f.h); it != index.end() && !touched.count(f.h))
                lru.splice(lru.begin(), lru, it->second.lru);
        while (stats.bytes_used > budget && !lru.empty()) {
            drop_locked(lru.front(), unlink_paths);
            ++stats.evictions;
        }
        scanning = false;
        touched = {};
        if (!list_error.empty())
            spdlog::warn(
                "disk KV tier: listing '{}' failed: {}; blocks not found by then stay "
                "unused",
                cfg.dir, list_error);
        if (recovered > 0)
            spdlog::info("disk KV tier: {} blocks recovered from {} in {:.2f} s", recovered,
                         cfg.dir, since(t0));
    }
    scan_cv.notify_all();
    for (const std::string& p : unlink_paths) ::unlink(p.c_str());
}

bool DiskTier::Core::put(const BlockHash& h, std::span<const uint8_t> bytes) {
    {
        std::lock_guard lk(mu);
        if (!enabled || bytes.size() != cfg.block_bytes) {
            stats.count_drop(enabled ? DropReason::BadSize : DropReason::Disabled);
            return false;
        }
        touch_locked(h);
        if (auto it = index.find(h); it != index.end()) {
            lru.splice(lru.end(), lru, it->second.lru);
            return true;
        }
        if (pending.count(h)) return true;
        if (pending_bytes + static_cast<int64_t>(bytes.size()) > cfg.queue_bytes) {
            stats.count_drop(DropReason::QueueFull);  // the caller never waits for the disk
            return false;
        }
        pending_bytes += static_cast<int64_t>(bytes.size());
        // Reserve the slot before copying outside the lock.
        pending.emplace(h, nullptr);
    }
    auto buf = std::make_shared<std::vector<uint8_t>>(bytes.begin(), bytes.end());
    {
        std::lock_guard lk(mu);
        pending[h] = std::move(buf);
        queue.push_back(h);
    }
    work_cv.notify_one();
    return true;
}

bool DiskTier::Core::lookup(const BlockHash& h) {
    std::lock_guard lk(mu);
    if (!enabled) return false;
    if (auto it = pending.find(h); it != pending.end()) return it->second != nullptr;
    return index.count(h) != 0;
}

Status DiskTier::Core::read(const BlockHash& h, std::span<uint8_t> out) {
    if (out.size() != cfg.block_bytes)
        return make_error("disk tier: read of {} bytes, blocks are {}", out.size(),
                          cfg.block_bytes);
    {
        std::lock_guard lk(mu);
        if (!enabled) return make_error(ErrorCode::Unavailable, "disk tier disabled");
        if (auto it = pending.find(h); it != pending.end() && it->second) {
            std::memcpy(out.data(), it->second->data(), out.size());  // not written yet
            return {};
        }
        const auto it = index.find(h);
        if (it == index.end()) return make_error(ErrorCode::NotFound, "disk tier: block not held");
        lru.splice(lru.end(), lru, it->second.lru);
        touch_locked(h);
    }
    const auto t0 = Clock::now();
    const std::string path = block_path(h);
    std::string fault;
    bool io_error = false, not_ours = false;
    auto f = open_block_file(AT_FDCWD, path.c_str());
    if (!f.ok()) {
        fault = f.error().message;
        not_ours = f.error().code == ErrorCode::Unsupported;
        io_error = !not_ours;
    } else {
        uint8_t hdr[kDiskHeaderBytes];
        if (!read_exact(cfg.read_at, f->fd(), hdr, sizeof hdr, 0)) {
            fault = fmt::format("read: {}", std::strerror(errno));
        } else if (static_cast<size_t>(f->size()) != file_bytes) {
            fault = fmt::format("file is {} bytes, expected {}", f->size(), file_bytes);
        } else if (auto dh = decode_disk_header(std::span<const uint8_t, kDiskHeaderBytes>(hdr));
                   !dh.ok()) {
            fault = dh.error().message;
        } else if (dh->fingerprint != spec.fingerprint || dh->hash != h ||
                   dh->payload_bytes != cfg.block_bytes) {
            fault = "header names another block or layout";
        } else if (!read_exact(cfg.read_at, f->fd(), out.data(), out.size(), kDiskHeaderBytes)) {
            fault = fmt::format("read: {}", std::strerror(errno));
        } else if (crc32c(out) != dh->payload_crc) {
            fault = "payload checksum mismatch";
        }
    }
    std::vector<std::string> unlink_paths;
    std::lock_guard lk(mu);
    if (fault.empty()) {
        stats.bytes_read += file_bytes;
        stats.read_seconds += since(t0);
        return {};
    }
    // Evicted by an IO thread while we read: an ordinary miss.
    if (!index.count(h)) return make_error(ErrorCode::NotFound, "disk tier: block evicted");
    if (not_ours) {
        // Replaced by a FIFO, device or link since it was indexed: forget it, leave it.
        ++stats.skipped;
        spdlog::warn("disk KV tier: {} is {}: left alone, read as a miss", path, fault);
        forget_locked(h);
        return make_error(ErrorCode::Io, "disk tier: {}: {}", path, fault);
    }
    if (io_error)
        ++stats.errors;
    else
        ++stats.corrupt;
    spdlog::warn("disk KV tier: dropping block {}: {}", path, fault);
    drop_locked(h, unlink_paths);
    for (const std::string& p : unlink_paths) ::unlink(p.c_str());
    return make_error(ErrorCode::Io, "disk tier: {}: {}", path, fault);
}

void DiskTier::Core::evict(const BlockHash& h) {
    std::vector<std::string> unlink_paths;
    {
        std::lock_guard lk(mu);
        drop_locked(h, unlink_paths);
    }
    for (const std::string& p : unlink_paths) ::unlink(p.c_str());
}

void DiskTier::Core::forget_locked(BlockHash h) {
    const auto it = index.find(h);
    if (it == index.end()) return;
    touch_locked(h);
    lru.erase(it->second.lru);
    index.erase(it);
    stats.bytes_used -= static_cast<int64_t>(file_bytes);
    --stats.blocks;
}

void DiskTier::Core::drop_locked(BlockHash h, std::vector<std::string>& unlink_paths) {
    if (!index.count(h)) return;
    forget_locked(h);
    unlink_paths.push_back(block_path(h));
}

int DiskTier::Core::write_file(const BlockHash& h, const std::vector<uint8_t>& bytes) {
    const std::string path = block_path(h);
    const std::string tmp = path + ".tmp";
    DiskBlockHeader dh;
    dh.payload_bytes = bytes.size();
    dh.fingerprint = spec.fingerprint;
    dh.hash = h;
    dh.payload_crc = crc32c(bytes);
    uint8_t hdr[kDiskHeaderBytes];
    encode_disk_header(dh, std::span<uint8_t, kDiskHeaderBytes>(hdr));
    // O_NONBLOCK: a FIFO in the temp file's place fails (ENXIO) instead of
    // waiting for a reader; regular files ignore it.
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_CLOEXEC, 0644);
    if (fd < 0) return errno;
    int err = 0;
    if (!write_all(fd, hdr, sizeof hdr) || !write_all(fd, bytes.data(), bytes.size())) err = errno;
    // Always: the bytes are stable before the name points at them.
    if (err == 0 && cfg.sync == DiskSync::Always && do_fsync(fd) != 0) err = errno;
    if (::close(fd) != 0 && err == 0) err = errno;
    if (err == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
    if (err != 0) {
        ::unlink(tmp.c_str());
        return err;
    }
    if (cfg.sync == DiskSync::Always) {
        // Not durable means not stored: the file stays for a restart's scan.
        if (const int derr = sync_dir(); derr != 0) return derr;
    }
    return 0;
}

int DiskTier::Core::sync_dir() const {
    const int fd = ::open(cfg.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno;
    const int err = do_fsync(fd) == 0 ? 0 : errno;
    ::close(fd);
    return err;
}

void DiskTier::Core::sync_batch(std::unique_lock<std::mutex>& lk) {
    std::vector<std::string> files;
    files.swap(unsynced);
    syncing = true;
    lk.unlock();
    int err = 0;
    for (const std::string& f : files) {
        // Evicted since (ENOENT): nothing to keep. O_NONBLOCK: never wait on a FIFO.
        const int fd = ::open(f.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) continue;
        if (do_fsync(fd) != 0 && err == 0) err = errno;
        ::close(fd);
    }
    if (const int derr = sync_dir(); derr != 0 && err == 0) err = derr;
    lk.lock();
    syncing = false;
    last_sync = last_progress = Clock::now();
    if (err != 0) {
        ++stats.errors;
        spdlog::warn("disk KV tier: syncing {} block file(s) under '{}' failed: {}", files.size(),
                     cfg.dir, std::strerror(err));
    }
}

void DiskTier::Core::disable_locked(const std::string& why) {
    if (!enabled) return;
    enabled = false;
    spdlog::error("disk KV tier disabled ({}): serving goes on without it", why);
    while (!lru.empty()) forget_locked(lru.front());  // files stay; a restart re-checks
}

void DiskTier::Core::shrink_locked(std::vector<std::string>& unlink_paths) {
    // Disk full: keep what is there minus one block's room, so the next
    // write frees space first.
    budget = std::max<int64_t>(stats.bytes_used - static_cast<int64_t>(file_bytes), 0);
    spdlog::warn("disk KV tier: disk full, budget shrinks to {} bytes", budget);
    while (stats.bytes_used > budget && !lru.empty()) {
        drop_locked(lru.front(), unlink_paths);
        ++stats.evictions;
    }
    if (budget < static_cast<int64_t>(file_bytes)) disable_locked("no space left");
}

void DiskTier::Core::worker() {
    std::unique_lock lk(mu);
    for (;;) {
        while (!stop && queue.empty() && !batch_due()) {
            if (cfg.sync == DiskSync::Batch && !unsynced.empty() && !syncing)
                work_cv.wait_until(lk, last_sync + cfg.sync_interval);
            else
                work_cv.wait(lk);
        }
        if (abandon) return;
        // At shutdown the queued writes go first, then their one last batch.
        if (batch_due() && (!stop || queue.empty())) {
            sync_batch(lk);
            continue;
        }
        if (queue.empty()) {
            if (stop) return;
            continue;
        }
        const BlockHash h = queue.front();
        queue.pop_front();
        auto buf = pending[h];
        ++in_flight;
        bool ok_to_write = enabled;
        std::vector<std::string> unlink_paths;
        // Room first, reserved until the write ends, so the directory never
        // holds more than the budget while several IO threads write.
        const auto room = static_cast<int64_t>(file_bytes);
        while (ok_to_write && stats.bytes_used + writing_bytes + room > budget && !lru.empty()) {
            drop_locked(lru.front(), unlink_paths);
            ++stats.evictions;
        }
        // Other writes hold all the room: drop this block (counted below).
        if (stats.bytes_used + writing_bytes + room > budget) ok_to_write = false;
        writing_bytes += room;
        lk.unlock();
        for (const std::string& p : unlink_paths) ::unlink(p.c_str());
        unlink_paths.clear();
        int err = 0;
        const auto t0 = Clock::now();
        if (ok_to_write) {
            err = write_file(h, *buf);
            if (err == ENOENT) {
                // The directory was removed under us: re-create it once; a
                // thread that raced the re-creation writes again into it.
                std::lock_guard g(dir_mu);
                std::error_code ec;
                if (!fs::is_directory(cfg.dir, ec) && !recreated_dir) {
                    recreated_dir = true;
                    if (fs::create_directories(cfg.dir, ec) && !ec)
                        spdlog::warn("disk KV tier: '{}' vanished; re-created it", cfg.dir);
                }
                if (fs::is_directory(cfg.dir, ec)) err = write_file(h, *buf);
            }
        }
        const double secs = since(t0);
        lk.lock();
        last_progress = Clock::now();
        writing_bytes -= room;
        pending.erase(h);
        pending_bytes -= static_cast<int64_t>(buf->size());
        if (!ok_to_write || !enabled) {
            stats.count_drop(enabled ? DropReason::NoRoom : DropReason::Disabled);
            if (err == 0 && ok_to_write) ::unlink(block_path(h).c_str());
        } else if (err == 0) {
            consecutive_errors = 0;
            // Defensive: put() keeps the scan from indexing a queued block.
            if (index.count(h)) forget_locked(h);
            touch_locked(h);
            index[h].lru = lru.insert(lru.end(), h);
            stats.bytes_used += static_cast<int64_t>(file_bytes);
            ++stats.blocks;
            ++stats.puts;
            stats.bytes_written += file_bytes;
            stats.write_seconds += secs;
            if (cfg.sync == DiskSync::Batch) {
                unsynced.push_back(block_path(h));
                work_cv.notify_one();  // a waiting thread times the batch
            }
        } else {
            ++stats.errors;
            stats.count_drop(err == ENOSPC || err == EDQUOT ? DropReason::NoRoom
                                                            : DropReason::WriteError);
            spdlog::warn("disk KV tier: writing {} failed: {}", block_path(h), std::strerror(err));
            if (err == ENOSPC || err == EDQUOT) {
                shrink_locked(unlink_paths);
            } else if (++consecutive_errors >= kMaxConsecutiveErrors) {
                disable_locked(fmt::format("{} write errors in a row, last: {}", consecutive_errors,
                                           std::strerror(err)));
            }
        }
        --in_flight;
        if (queue.empty() && in_flight == 0) idle_cv.notify_all();
        if (!unlink_paths.empty()) {
            lk.unlock();
            for (const std::string& p : unlink_paths) ::unlink(p.c_str());
            lk.lock();
        }
    }
}

bool DiskTier::put(const BlockHash& h, std::span<const uint8_t> bytes) {
    return core_->put(h, bytes);
}

bool DiskTier::lookup(const BlockHash& h) {
    return core_->lookup(h);
}

Status DiskTier::read(const BlockHash& h, std::span<uint8_t> out) {
    return core_->read(h, out);
}

void DiskTier::evict(const BlockHash& h) {
    core_->evict(h);
}

std::string DiskTier::block_path(const BlockHash& h) const {
    return core_->block_path(h);
}

TierStats DiskTier::stats() const {
    std::lock_guard lk(core_->mu);
    TierStats s = core_->stats;
    s.enabled = core_->enabled;
    s.bytes_budget = core_->budget;
    s.scanning = core_->scanning;
    return s;
}

void DiskTier::flush() {
    Core& c = *core_;
    std::unique_lock lk(c.mu);
    c.idle_cv.wait(lk, [&] { return c.queue.empty() && c.in_flight == 0; });
}

int64_t DiskTier::recovered_blocks() const {
    std::lock_guard lk(core_->mu);
    return core_->recovered;
}

bool DiskTier::scanned() const {
    std::lock_guard lk(core_->mu);
    return !core_->scanning;
}

bool DiskTier::wait_scanned(std::chrono::milliseconds timeout) const {
    Core& c = *core_;
    std::unique_lock lk(c.mu);
    return c.scan_cv.wait_for(lk, timeout, [&] { return !c.scanning; });
}

}  // namespace ig
