#include "kvcache/kv_tiers.h"

#include <chrono>

namespace ig {

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
        IG_ASSIGN_OR_RETURN(t->disk_, DiskTier::open(dc));
    }
    return t;
}

void KvTiers::on_evict(BlockId id, const BlockHash& h) {
    const std::span<const uint8_t> bytes(arena_.block(id), arena_.block_bytes());
    // Both tiers get it: the host copy serves fast hits, the disk copy
    // survives a restart and host-tier replacement.
    if (host_) host_->put(h, bytes);
    if (disk_) disk_->put(h, bytes);
}

bool KvTiers::contains(const BlockHash& h) {
    if (host_ && host_->lookup(h)) return true;
    if (disk_ && disk_->lookup(h)) {
        if (host_) ++host_c_.misses;
        return true;
    }
    if (host_) ++host_c_.misses;
    if (disk_) ++disk_c_.misses;
    return false;
}

bool KvTiers::load(const BlockHash& h, BlockId dst) {
    const std::span<uint8_t> out(arena_.block(dst), arena_.block_bytes());
    using Clock = std::chrono::steady_clock;
    if (host_ && host_->lookup(h)) {
        const auto t0 = Clock::now();
        if (host_->read(h, out).ok()) {
            ++host_c_.hits;
            host_c_.latency.observe_load(std::chrono::duration<double>(Clock::now() - t0).count());
            return true;
        }
    }
    if (disk_ && disk_->lookup(h)) {
        const auto t0 = Clock::now();
        if (disk_->read(h, out).ok()) {
            ++disk_c_.hits;
            disk_c_.latency.observe_load(std::chrono::duration<double>(Clock::now() - t0).count());
            return true;
        }
        ++disk_c_.misses;  // damaged or vanished: a miss, never wrong bytes
    }
    return false;
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
        s.load_latency_buckets = c.latency.load_latency_buckets;
        s.load_latency_sum_s = c.latency.load_latency_sum_s;
        s.load_count = c.latency.load_count;
        v.push_back(std::move(s));
    };
    if (host_) add(*host_, host_c_);
    if (disk_) add(*disk_, disk_c_);
    return v;
}

void KvTiers::flush() {
    if (disk_) disk_->flush();
}

}  // namespace ig
