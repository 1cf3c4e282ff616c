#include "kvcache/host_tier.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace ig {
namespace {

constexpr size_t kGroup = 32;

float half_to_float(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1Fu, mant = h & 0x3FFu, bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {  // subnormal: normalise
            exp = 127 - 15 + 1;
            while (!(mant & 0x400u)) {
                mant <<= 1;
                --exp;
            }
            bits = sign | (exp << 23) | ((mant & 0x3FFu) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7F800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

uint16_t float_to_half(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
    const uint32_t ax = x & 0x7FFFFFFFu;
    if (ax >= 0x7F800000u) return sign | 0x7C00u | (ax > 0x7F800000u ? 0x200u : 0);  // inf/nan
    if (ax >= 0x477FF000u) return sign | 0x7C00u;                                    // overflow
    if (ax < 0x38800000u) {  // subnormal or zero in half
        float a;
        std::memcpy(&a, &ax, 4);
        return sign | static_cast<uint16_t>(std::lrint(a * 16777216.0f));  // 2^24
    }
    // Round to nearest even on the 13 dropped bits.
    const uint32_t r = ax + 0xFFFu + ((ax >> 13) & 1u);
    return sign | static_cast<uint16_t>((r - 0x38000000u) >> 13);
}

float load_elem(const uint8_t* p, int32_t eb) {
    if (eb == 2) {
        uint16_t h;
        std::memcpy(&h, p, 2);
        return half_to_float(h);
    }
    float f;
    std::memcpy(&f, p, 4);
    return f;
}

void store_elem(uint8_t* p, int32_t eb, float v) {
    if (eb == 2) {
        const uint16_t h = float_to_half(v);
        std::memcpy(p, &h, 2);
    } else {
        std::memcpy(p, &v, 4);
    }
}

}  // namespace

std::string_view drop_reason_name(DropReason r) {
    switch (r) {
        case DropReason::QueueFull:
            return "queue_full";
        case DropReason::NoRoom:
            return "no_room";
        case DropReason::Disabled:
            return "disabled";
        case DropReason::WriteError:
            return "write_error";
        case DropReason::BadSize:
            return "bad_size";
    }
    return "unknown";
}

void TierStats::observe_load(double seconds) {
    size_t i = 0;
    while (i < kTierLatencyBounds.size() && seconds > kTierLatencyBounds[i]) ++i;
    if (load_latency_buckets.size() != kTierLatencyBounds.size() + 1)
        load_latency_buckets.assign(kTierLatencyBounds.size() + 1, 0);
    ++load_latency_buckets[i];
    load_latency_sum_s += seconds;
    ++load_count;
}

size_t q8_encoded_bytes(size_t block_bytes, int32_t elem_bytes) {
    const size_t n = block_bytes / static_cast<size_t>(elem_bytes);
    const size_t groups = (n + kGroup - 1) / kGroup;
    return groups * sizeof(float) + n;
}

void q8_encode(std::span<const uint8_t> in, int32_t eb, std::span<uint8_t> out) {
    const size_t n = in.size() / static_cast<size_t>(eb);
    const size_t groups = (n + kGroup - 1) / kGroup;
    uint8_t* scales = out.data();
    int8_t* q = reinterpret_cast<int8_t*>(out.data() + groups * sizeof(float));
    float vals[kGroup];
    for (size_t g = 0; g < groups; ++g) {
        const size_t lo = g * kGroup, cnt = std::min(kGroup, n - lo);
        float amax = 0;
        for (size_t i = 0; i < cnt; ++i) {
            vals[i] = load_elem(in.data() + (lo + i) * static_cast<size_t>(eb), eb);
            if (std::isfinite(vals[i])) amax = std::max(amax, std::fabs(vals[i]));
        }
        const float scale = amax / 127.0f;
        const float inv = scale > 0 ? 1.0f / scale : 0.0f;
        std::memcpy(scales + g * sizeof(float), &scale, sizeof(float));
        for (size_t i = 0; i < cnt; ++i) {
            const float v = std::isfinite(vals[i]) ? vals[i] * inv : 0.0f;
            q[lo + i] = static_cast<int8_t>(std::clamp(std::lrint(v), -127L, 127L));
        }
    }
}

void q8_decode(std::span<const uint8_t> in, int32_t eb, std::span<uint8_t> out) {
    const size_t n = out.size() / static_cast<size_t>(eb);
    const size_t groups = (n + kGroup - 1) / kGroup;
    const int8_t* q = reinterpret_cast<const int8_t*>(in.data() + groups * sizeof(float));
    for (size_t g = 0; g < groups; ++g) {
        float scale;
        std::memcpy(&scale, in.data() + g * sizeof(float), sizeof(float));
        const size_t lo = g * kGroup, cnt = std::min(kGroup, n - lo);
        for (size_t i = 0; i < cnt; ++i)
            store_elem(out.data() + (lo + i) * static_cast<size_t>(eb), eb,
                       static_cast<float>(q[lo + i]) * scale);
    }
}

Expected<std::unique_ptr<HostTier>> HostTier::create(HostTierConfig cfg) {
    if (cfg.block_bytes == 0) return make_error("host KV tier: block size is 0 bytes");
    if (cfg.budget_bytes <= 0) return make_error("host KV tier: budget must be > 0 bytes");
    if (cfg.q8 && cfg.elem_bytes != 2 && cfg.elem_bytes != 4)
        return make_error("host KV tier: Q8 needs F16 or F32 KV elements");
    if (cfg.q8 && cfg.block_bytes % static_cast<size_t>(cfg.elem_bytes) != 0)
        return make_error("host KV tier: block of {} bytes is not whole elements", cfg.block_bytes);
    std::unique_ptr<HostTier> t(new HostTier(cfg));
    if (static_cast<int64_t>(t->stored_bytes_) > cfg.budget_bytes)
        return make_error("host KV tier: budget of {} bytes holds no block of {} bytes",
                          cfg.budget_bytes, t->stored_bytes_);
    return t;
}

HostTier::HostTier(HostTierConfig cfg)
    : cfg_(cfg),
      stored_bytes_(cfg.q8 ? q8_encoded_bytes(cfg.block_bytes, cfg.elem_bytes) : cfg.block_bytes) {
    stats_.name = "host";
    stats_.bytes_budget = cfg.budget_bytes;
}

bool HostTier::put(const BlockHash& h, std::span<const uint8_t> bytes) {
    std::lock_guard lk(mu_);
    if (bytes.size() != cfg_.block_bytes) {
        stats_.count_drop(DropReason::BadSize);
        return false;
    }
    if (auto it = map_.find(h); it != map_.end()) {  // same content: refresh its place
        lru_.splice(lru_.end(), lru_, it->second.lru);
        it->second.behind = false;
        return true;
    }
    while (stats_.bytes_used + static_cast<int64_t>(stored_bytes_) > cfg_.budget_bytes &&
           !lru_.empty()) {
        evict_locked(lru_.front());
        ++stats_.evictions;
    }
    store_locked(h, bytes, false);
    return true;
}

bool HostTier::put_behind(const BlockHash& h, std::span<const uint8_t> bytes) {
    std::lock_guard lk(mu_);
    if (bytes.size() != cfg_.block_bytes) {
        stats_.count_drop(DropReason::BadSize);
        return false;
    }
    if (map_.count(h)) return true;  // held: keeps its place
    while (stats_.bytes_used + static_cast<int64_t>(stored_bytes_) > cfg_.budget_bytes) {
        // Such copies sit at the front: replace one, never an evicted block.
        if (lru_.empty() || !map_.at(lru_.front()).behind) {
            stats_.count_drop(DropReason::NoRoom);
            return false;
        }
        evict_locked(lru_.front());
        ++stats_.evictions;
    }
    store_locked(h, bytes, true);
    return true;
}

void HostTier::store_locked(const BlockHash& h, std::span<const uint8_t> bytes, bool behind) {
    Node n;
    n.data.resize(stored_bytes_);
    if (cfg_.q8)
        q8_encode(bytes, cfg_.elem_bytes, n.data);
    else
        std::memcpy(n.data.data(), bytes.data(), bytes.size());
    n.behind = behind;
    n.lru = lru_.insert(behind ? lru_.begin() : lru_.end(), h);
    map_.emplace(h, std::move(n));
    stats_.bytes_used += static_cast<int64_t>(stored_bytes_);
    stats_.bytes_written += stored_bytes_;
    ++stats_.blocks;
    ++stats_.puts;
}

bool HostTier::lookup(const BlockHash& h) {
    std::lock_guard lk(mu_);
    return map_.count(h) != 0;
}

Status HostTier::read(const BlockHash& h, std::span<uint8_t> out) {
    std::lock_guard lk(mu_);
    const auto it = map_.find(h);
    if (it == map_.end()) return make_error(ErrorCode::NotFound, "host tier: block not held");
    if (out.size() != cfg_.block_bytes)
        return make_error("host tier: read of {} bytes, blocks are {}", out.size(),
                          cfg_.block_bytes);
    if (cfg_.q8)
        q8_decode(it->second.data, cfg_.elem_bytes, out);
    else
        std::memcpy(out.data(), it->second.data.data(), out.size());
    lru_.splice(lru_.end(), lru_, it->second.lru);
    it->second.behind = false;
    stats_.bytes_read += stored_bytes_;
    return {};
}

void HostTier::evict(const BlockHash& h) {
    std::lock_guard lk(mu_);
    if (map_.count(h)) evict_locked(h);
}

void HostTier::evict_locked(BlockHash h) {
    const auto it = map_.find(h);
    if (it == map_.end()) return;
    lru_.erase(it->second.lru);
    map_.erase(it);
    stats_.bytes_used -= static_cast<int64_t>(stored_bytes_);
    --stats_.blocks;
}

TierStats HostTier::stats() const {
    std::lock_guard lk(mu_);
    return stats_;
}

}  // namespace ig
