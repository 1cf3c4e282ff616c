#include "kvcache/disk_tier.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "kvcache/disk_block_file.h"
#include "util/crc32c.h"

namespace ig {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kMaxConsecutiveErrors = 8;
constexpr std::string_view kSuffix = ".kvb";
constexpr std::string_view kTmpSuffix = ".kvb.tmp";

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

bool read_all(int fd, uint8_t* p, size_t n, off_t off) {
    while (n > 0) {
        const ssize_t r = ::pread(fd, p, n, off);
        if (r < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        if (r == 0) {
            errno = ENODATA;  // short file
            return false;
        }
        p += r;
        n -= static_cast<size_t>(r);
        off += r;
    }
    return true;
}

bool ends_with(std::string_view s, std::string_view suf) {
    return s.size() >= suf.size() && s.substr(s.size() - suf.size()) == suf;
}

}  // namespace

Expected<std::unique_ptr<DiskTier>> DiskTier::open(DiskTierConfig cfg) {
    if (cfg.dir.empty()) return make_error("disk KV tier: no directory");
    if (cfg.block_bytes == 0) return make_error("disk KV tier: block size is 0 bytes");
    if (cfg.budget_bytes <= 0) return make_error("disk KV tier: budget must be > 0 bytes");
    if (cfg.budget_bytes < static_cast<int64_t>(cfg.block_bytes + kDiskHeaderBytes))
        return make_error("disk KV tier: budget of {} bytes holds no block of {} bytes",
                          cfg.budget_bytes, cfg.block_bytes + kDiskHeaderBytes);
    cfg.io_threads = std::clamp(cfg.io_threads, 1, 16);
    cfg.queue_bytes = std::max<int64_t>(cfg.queue_bytes, static_cast<int64_t>(cfg.block_bytes));
    std::error_code ec;
    fs::create_directories(cfg.dir, ec);
    if (ec)
        return make_error(ErrorCode::Io, "disk KV tier: cannot create '{}': {}", cfg.dir,
                          ec.message());
    if (::access(cfg.dir.c_str(), R_OK | W_OK | X_OK) != 0)
        return make_error(ErrorCode::Io, "disk KV tier: '{}' is not writable: {}", cfg.dir,
                          std::strerror(errno));
    std::unique_ptr<DiskTier> t(new DiskTier(std::move(cfg)));
    IG_TRY(t->scan());
    for (int i = 0; i < t->cfg_.io_threads; ++i)
        t->threads_.emplace_back([p = t.get()] { p->worker(); });
    return t;
}

DiskTier::DiskTier(DiskTierConfig cfg) : cfg_(std::move(cfg)) {
    fingerprint_ = sha256(std::span<const uint8_t>(
        reinterpret_cast<const uint8_t*>(cfg_.layout_key.data()), cfg_.layout_key.size()));
    file_bytes_ = kDiskHeaderBytes + cfg_.block_bytes;
    budget_ = cfg_.budget_bytes;
    stats_.name = "disk";
    stats_.bytes_budget = budget_;
}

DiskTier::~DiskTier() {
    {
        std::lock_guard lk(mu_);
        stop_ = true;
    }
    work_cv_.notify_all();
    for (std::thread& t : threads_) t.join();
}

std::string DiskTier::block_path(const BlockHash& h) const {
    return (fs::path(cfg_.dir) / (hash_hex(h) + std::string(kSuffix))).string();
}

Status DiskTier::scan() {
    struct Found {
        BlockHash h;
        fs::file_time_type mtime;
    };
    std::vector<Found> found;
    std::error_code ec;
    for (fs::directory_iterator it(cfg_.dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        BlockHash h{};
        if (ends_with(name, kTmpSuffix)) {
            // A write cut short by a crash: never renamed, never valid.
            if (parse_hash_hex(std::string_view(name).substr(0, name.size() - kTmpSuffix.size()),
                               h))
                fs::remove(it->path(), ec);
            ec.clear();
            continue;
        }
        if (!ends_with(name, kSuffix) ||
            !parse_hash_hex(std::string_view(name).substr(0, name.size() - kSuffix.size()), h))
            continue;
        const std::string path = it->path().string();
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        uint8_t hdr[kDiskHeaderBytes];
        struct stat st {};
        const bool read_ok = ::fstat(fd, &st) == 0 && read_all(fd, hdr, sizeof hdr, 0);
        ::close(fd);
        bool bad = !read_ok;
        if (read_ok) {
            auto dh = decode_disk_header(std::span<const uint8_t, kDiskHeaderBytes>(hdr));
            if (!dh.ok()) {
                bad = true;
            } else if (dh->fingerprint != fingerprint_) {
                continue;  // another model or KV layout: not ours to judge
            } else {
                bad = dh->hash != h || dh->payload_bytes != cfg_.block_bytes ||
                      static_cast<size_t>(st.st_size) != file_bytes_;
            }
        }
        if (bad) {
            ++stats_.corrupt;
            fs::remove(path, ec);
            ec.clear();
            continue;
        }
        found.push_back({h, it->last_write_time(ec)});
        ec.clear();
    }
    if (ec)
        return make_error(ErrorCode::Io, "disk KV tier: cannot list '{}': {}", cfg_.dir,
                          ec.message());
    // Oldest first: the LRU order a restart can know.
    std::sort(found.begin(), found.end(),
              [](const Found& a, const Found& b) { return a.mtime < b.mtime; });
    for (const Found& f : found) {
        index_[f.h].lru = lru_.insert(lru_.end(), f.h);
        stats_.bytes_used += static_cast<int64_t>(file_bytes_);
        ++stats_.blocks;
    }
    recovered_ = static_cast<int64_t>(found.size());
    std::vector<std::string> unlink_paths;
    while (stats_.bytes_used > budget_ && !lru_.empty()) {
        drop_locked(lru_.front(), unlink_paths);
        ++stats_.evictions;
    }
    for (const std::string& p : unlink_paths) ::unlink(p.c_str());
    if (recovered_ > 0)
        spdlog::info("disk KV tier: {} blocks recovered from {}", stats_.blocks, cfg_.dir);
    return {};
}

bool DiskTier::put(const BlockHash& h, std::span<const uint8_t> bytes) {
    {
        std::lock_guard lk(mu_);
        if (!enabled_ || bytes.size() != cfg_.block_bytes) {
            ++stats_.dropped;
            return false;
        }
        if (auto it = index_.find(h); it != index_.end()) {
            lru_.splice(lru_.end(), lru_, it->second.lru);
            return true;
        }
        if (pending_.count(h)) return true;
        if (pending_bytes_ + static_cast<int64_t>(bytes.size()) > cfg_.queue_bytes) {
            ++stats_.dropped;  // eviction never waits for the disk
            return false;
        }
        pending_bytes_ += static_cast<int64_t>(bytes.size());
        // Reserve the slot before copying outside the lock.
        pending_.emplace(h, nullptr);
    }
    auto buf = std::make_shared<std::vector<uint8_t>>(bytes.begin(), bytes.end());
    {
        std::lock_guard lk(mu_);
        pending_[h] = std::move(buf);
        queue_.push_back(h);
    }
    work_cv_.notify_one();
    return true;
}

bool DiskTier::lookup(const BlockHash& h) {
    std::lock_guard lk(mu_);
    if (!enabled_) return false;
    if (auto it = pending_.find(h); it != pending_.end()) return it->second != nullptr;
    return index_.count(h) != 0;
}

Status DiskTier::read(const BlockHash& h, std::span<uint8_t> out) {
    if (out.size() != cfg_.block_bytes)
        return make_error("disk tier: read of {} bytes, blocks are {}", out.size(),
                          cfg_.block_bytes);
    {
        std::lock_guard lk(mu_);
        if (!enabled_) return make_error(ErrorCode::Unavailable, "disk tier disabled");
        if (auto it = pending_.find(h); it != pending_.end() && it->second) {
            std::memcpy(out.data(), it->second->data(), out.size());  // not written yet
            return {};
        }
        const auto it = index_.find(h);
        if (it == index_.end()) return make_error(ErrorCode::NotFound, "disk tier: block not held");
        lru_.splice(lru_.end(), lru_, it->second.lru);
    }
    const auto t0 = Clock::now();
    const std::string path = block_path(h);
    std::string fault;
    bool io_error = false;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fault = fmt::format("open: {}", std::strerror(errno));
        io_error = true;
    } else {
        uint8_t hdr[kDiskHeaderBytes];
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !read_all(fd, hdr, sizeof hdr, 0)) {
            fault = fmt::format("read: {}", std::strerror(errno));
        } else if (static_cast<size_t>(st.st_size) != file_bytes_) {
            fault = fmt::format("file is {} bytes, expected {}", st.st_size, file_bytes_);
        } else if (auto dh = decode_disk_header(std::span<const uint8_t, kDiskHeaderBytes>(hdr));
                   !dh.ok()) {
            fault = dh.error().message;
        } else if (dh->fingerprint != fingerprint_ || dh->hash != h ||
                   dh->payload_bytes != cfg_.block_bytes) {
            fault = "header names another block or layout";
        } else if (!read_all(fd, out.data(), out.size(), kDiskHeaderBytes)) {
            fault = fmt::format("read: {}", std::strerror(errno));
        } else if (crc32c(out) != dh->payload_crc) {
            fault = "payload checksum mismatch";
        }
        ::close(fd);
    }
    std::vector<std::string> unlink_paths;
    std::lock_guard lk(mu_);
    if (fault.empty()) {
        stats_.bytes_read += file_bytes_;
        stats_.read_seconds += since(t0);
        return {};
    }
    // Evicted by an IO thread while we read: an ordinary miss.
    if (!index_.count(h)) return make_error(ErrorCode::NotFound, "disk tier: block evicted");
    if (io_error)
        ++stats_.errors;
    else
        ++stats_.corrupt;
    spdlog::warn("disk KV tier: dropping block {}: {}", path, fault);
    drop_locked(h, unlink_paths);
    for (const std::string& p : unlink_paths) ::unlink(p.c_str());
    return make_error(ErrorCode::Io, "disk tier: {}: {}", path, fault);
}

void DiskTier::evict(const BlockHash& h) {
    std::vector<std::string> unlink_paths;
    {
        std::lock_guard lk(mu_);
        drop_locked(h, unlink_paths);
    }
    for (const std::string& p : unlink_paths) ::unlink(p.c_str());
}

void DiskTier::drop_locked(BlockHash h, std::vector<std::string>& unlink_paths) {
    const auto it = index_.find(h);
    if (it == index_.end()) return;
    lru_.erase(it->second.lru);
    index_.erase(it);
    stats_.bytes_used -= static_cast<int64_t>(file_bytes_);
    --stats_.blocks;
    unlink_paths.push_back(block_path(h));
}

TierStats DiskTier::stats() const {
    std::lock_guard lk(mu_);
    TierStats s = stats_;
    s.enabled = enabled_;
    s.bytes_budget = budget_;
    return s;
}

void DiskTier::flush() {
    std::unique_lock lk(mu_);
    idle_cv_.wait(lk, [&] { return queue_.empty() && in_flight_ == 0; });
}

int DiskTier::write_file(const BlockHash& h, const std::vector<uint8_t>& bytes) {
    const std::string path = block_path(h);
    const std::string tmp = path + ".tmp";
    DiskBlockHeader dh;
    dh.payload_bytes = bytes.size();
    dh.fingerprint = fingerprint_;
    dh.hash = h;
    dh.payload_crc = crc32c(bytes);
    uint8_t hdr[kDiskHeaderBytes];
    encode_disk_header(dh, std::span<uint8_t, kDiskHeaderBytes>(hdr));
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return errno;
    int err = 0;
    if (!write_all(fd, hdr, sizeof hdr) || !write_all(fd, bytes.data(), bytes.size())) err = errno;
    if (::close(fd) != 0 && err == 0) err = errno;
    if (err == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
    if (err != 0) ::unlink(tmp.c_str());
    return err;
}

void DiskTier::disable_locked(const std::string& why) {
    if (!enabled_) return;
    enabled_ = false;
    spdlog::error("disk KV tier disabled ({}): serving goes on without it", why);
    std::vector<std::string> ignored;
    while (!lru_.empty()) drop_locked(lru_.front(), ignored);  // files stay; a restart re-checks
}

void DiskTier::shrink_locked(std::vector<std::string>& unlink_paths) {
    // Disk full: keep what is there minus one block's room, so the next
    // write frees space first.
    budget_ = std::max<int64_t>(stats_.bytes_used - static_cast<int64_t>(file_bytes_), 0);
    spdlog::warn("disk KV tier: disk full, budget shrinks to {} bytes", budget_);
    while (stats_.bytes_used > budget_ && !lru_.empty()) {
        drop_locked(lru_.front(), unlink_paths);
        ++stats_.evictions;
    }
    if (budget_ < static_cast<int64_t>(file_bytes_)) disable_locked("no space left");
}

void DiskTier::worker() {
    std::unique_lock lk(mu_);
    for (;;) {
        work_cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) {
            if (stop_) return;
            continue;
        }
        const BlockHash h = queue_.front();
        queue_.pop_front();
        auto buf = pending_[h];
        ++in_flight_;
        bool enabled = enabled_;
        std::vector<std::string> unlink_paths;
        // Room first, reserved until the write ends, so the directory never
        // holds more than the budget while several IO threads write.
        const auto room = static_cast<int64_t>(file_bytes_);
        while (enabled && stats_.bytes_used + writing_bytes_ + room > budget_ && !lru_.empty()) {
            drop_locked(lru_.front(), unlink_paths);
            ++stats_.evictions;
        }
        // Other writes hold all the room: drop this block (counted below).
        if (stats_.bytes_used + writing_bytes_ + room > budget_) enabled = false;
        writing_bytes_ += room;
        lk.unlock();
        for (const std::string& p : unlink_paths) ::unlink(p.c_str());
        unlink_paths.clear();
        int err = 0;
        const auto t0 = Clock::now();
        if (enabled) {
            err = write_file(h, *buf);
            if (err == ENOENT) {
                // The directory was removed under us: re-create it once; a
                // thread that raced the re-creation writes again into it.
                std::lock_guard g(dir_mu_);
                std::error_code ec;
                if (!fs::is_directory(cfg_.dir, ec) && !recreated_dir_) {
                    recreated_dir_ = true;
                    if (fs::create_directories(cfg_.dir, ec) && !ec)
                        spdlog::warn("disk KV tier: '{}' vanished; re-created it", cfg_.dir);
                }
                if (fs::is_directory(cfg_.dir, ec)) err = write_file(h, *buf);
            }
        }
        const double secs = since(t0);
        lk.lock();
        writing_bytes_ -= room;
        pending_.erase(h);
        pending_bytes_ -= static_cast<int64_t>(buf->size());
        if (!enabled || !enabled_) {
            ++stats_.dropped;
            if (err == 0 && enabled) ::unlink(block_path(h).c_str());
        } else if (err == 0) {
            consecutive_errors_ = 0;
            index_[h].lru = lru_.insert(lru_.end(), h);
            stats_.bytes_used += static_cast<int64_t>(file_bytes_);
            ++stats_.blocks;
            ++stats_.puts;
            stats_.bytes_written += file_bytes_;
            stats_.write_seconds += secs;
        } else {
            ++stats_.errors;
            ++stats_.dropped;
            spdlog::warn("disk KV tier: writing {} failed: {}", block_path(h), std::strerror(err));
            if (err == ENOSPC || err == EDQUOT) {
                shrink_locked(unlink_paths);
            } else if (++consecutive_errors_ >= kMaxConsecutiveErrors) {
                disable_locked(fmt::format("{} write errors in a row, last: {}",
                                           consecutive_errors_, std::strerror(err)));
            }
        }
        --in_flight_;
        if (queue_.empty() && in_flight_ == 0) idle_cv_.notify_all();
        if (!unlink_paths.empty()) {
            lk.unlock();
            for (const std::string& p : unlink_paths) ::unlink(p.c_str());
            lk.lock();
        }
    }
}

}  // namespace ig
