#include "kvcache/kv_tiers.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "util/seconds_since.h"

namespace ig {
using Clock = std::chrono::steady_clock;

Expected<std::unique_ptr<KvTiers>> KvTiers::create(const KvTiersConfig& cfg, KvArena& arena) {
    if (cfg.host_bytes < 0) return make_error("kv host bytes must be >= 0");
    if (cfg.disk_bytes < 0) return make_error("kv disk bytes must be >= 0");
    if (!cfg.disk_dir.empty() && cfg.disk_bytes == 0)
        return make_error("a KV disk directory needs a disk budget (kv disk bytes > 0)");
    if (cfg.disk_dir.empty() && cfg.disk_bytes > 0)
        return make_error("a KV disk budget needs a disk directory");
    if (cfg.host_bytes == 0 && cfg.disk_dir.empty()) return std::unique_ptr<KvTiers>();
    std::unique_ptr<KvTiers> t(new KvTiers(cfg, arena));
    if (cfg.host_bytes > 0) {
        IG_ASSIGN_OR_RETURN(t->host_, HostTier::create({cfg.host_bytes, arena.block_bytes(),
                                                        cfg.host_q8, cfg.elem_bytes}));
    }
    if (!cfg.disk_dir.empty()) {
        DiskTierConfig dc;
        dc.dir = cfg.disk_dir;
        dc.budget_bytes = cfg.disk_bytes;
        dc.block_bytes = arena.block_bytes();
        dc.layout_key = cfg.layout_key;
        dc.io_threads = cfg.disk_io_threads;
        dc.queue_bytes = cfg.disk_queue_bytes;
        dc.io_timeout = cfg.disk_load_timeout;
        dc.read_at = cfg.disk_read_at;
        dc.sync = cfg.disk_sync;
        dc.fsync = cfg.disk_fsync;
        auto disk = DiskTier::open(dc);
        if (disk.ok()) {
            t->disk_ = std::move(disk).value();
            t->loader_ = std::make_unique<DiskLoader>(t->disk_, arena, cfg.disk_load_threads,
                                                      cfg.disk_load_timeout);
        } else if (disk.error().code == ErrorCode::Io) {
            // An unusable directory turns the tier off, as the same fault does
            // at run time: serving goes on, recomputing what the tier would hold.
            spdlog::warn("disk KV tier off: {}", disk.error().message);
        } else {
            return disk.error();  // a configuration error
        }
    }
    if (!t->host_ && !t->disk_) return std::unique_ptr<KvTiers>();
    if (cfg.write_behind) {
        WriteBehindConfig wc;
        wc.block_bytes = arena.block_bytes();
        wc.queue_bytes = cfg.write_behind_queue_bytes;
        wc.before_write = cfg.write_behind_hook;
        KvTiers* self = t.get();
        t->write_behind_ = std::make_unique<WriteBehind>(
            wc,
            [self](const BlockHash& h, std::span<const uint8_t> b) { self->store_behind(h, b); });
    }
    return t;
}

KvTiers::~KvTiers() {
    write_behind_.reset();  // hands what is staged to the tiers while they exist
    loader_.reset();        // before the disk tier: its threads no longer read for us
}

void KvTiers::store_behind(const BlockHash& h, std::span<const uint8_t> bytes) {
    // A tier that holds the block (or has it queued) writes nothing.
    if (host_) host_->put_behind(h, bytes);
    if (disk_) disk_->put(h, bytes);
}

void KvTiers::on_full(BlockId id, const BlockHash& h) {
    if (!write_behind_) return;
    if ((!host_ || host_->lookup(h)) && (!disk_ || disk_->lookup(h))) return;
    write_behind_->offer(h, std::span<const uint8_t>(arena_.block(id), arena_.block_bytes()));
}

void KvTiers::on_evict(BlockId id, const BlockHash& h) {
    const std::span<const uint8_t> bytes(arena_.block(id), arena_.block_bytes());
    // Both tiers get it: the host copy serves fast hits, the disk copy
    // survives a restart and host-tier replacement. A tier that holds the
    // block (written behind) only refreshes its place: no second write. One
    // still staged is copied now (the pool reuses the block next); the
    // writer then finds it held.
    if (host_) host_->put(h, bytes);
    if (disk_) disk_->put(h, bytes);
}

bool KvTiers::contains(const BlockHash& h) {
    if (host_ && host_->lookup(h)) return true;
    if (disk_readable() && disk_->lookup(h)) {
        if (host_) ++host_c_.misses;
        return true;
    }
    if (host_) ++host_c_.misses;
    if (disk_) ++disk_c_.misses;
    return false;
}

LoadStart KvTiers::begin_load(const BlockHash& h, BlockId dst) {
    if (host_ && host_->lookup(h)) {
        const auto t0 = Clock::now();
        if (host_->read(h, std::span<uint8_t>(arena_.block(dst), arena_.block_bytes())).ok()) {
            ++host_c_.hits;
            host_c_.latency.observe_load(seconds_since(t0));
            return LoadStart::Done;
        }
    }
    if (disk_readable() && disk_->lookup(h)) {
        loader_->start(h, dst);
        ++loads_started_;
        return LoadStart::Pending;
    }
    return LoadStart::Missed;
}

void KvTiers::poll_loads(std::vector<LoadResult>& out) {
    out.clear();
    if (!loader_) return;
    loader_->poll(polled_);
    for (const DiskLoader::Finished& f : polled_) {
        if (f.result.ok) {
            ++disk_c_.hits;
            disk_c_.latency.observe_load(f.seconds);
        } else {
            ++disk_c_.misses;  // damaged, vanished or too slow: a miss, never wrong bytes
            if (f.timed_out) ++disk_c_.timeouts;
        }
        out.push_back(f.result);
    }
    loads_polled_ += polled_.size();
}

void KvTiers::wait_loads() {
    if (loader_) loader_->wait_idle();
}

void KvTiers::set_loads_paused(bool paused) {
    if (loader_) loader_->set_paused(paused);
}

size_t KvTiers::loads_in_flight() const {
    return loads_started_ - loads_polled_;
}

std::vector<TierStats> KvTiers::stats() const {
    std::vector<TierStats> v;
    auto add = [&](const Tier& t, const Counters& c) {
        TierStats s = t.stats();
        const auto bt = static_cast<uint64_t>(cfg_.block_tokens);
        s.hit_blocks = c.hits;
        s.miss_blocks = c.misses;
        s.hit_tokens = c.hits * bt;
        s.miss_tokens = c.misses * bt;
        s.load_timeouts = c.timeouts;
        s.load_latency_buckets = c.latency.load_latency_buckets;
        s.load_latency_sum_s = c.latency.load_latency_sum_s;
        s.load_count = c.latency.load_count;
        v.push_back(std::move(s));
    };
    if (host_) add(*host_, host_c_);
    if (disk_) add(*disk_, disk_c_);
    // A block the staging area refused reached neither tier.
    if (const uint64_t wb = write_behind_ ? write_behind_->dropped() : 0; wb > 0)
        for (TierStats& s : v) s.count_drop(DropReason::QueueFull, wb);
    return v;
}

void KvTiers::flush() {
    if (write_behind_) write_behind_->flush();
    if (disk_) disk_->flush();
}

}  // namespace ig
