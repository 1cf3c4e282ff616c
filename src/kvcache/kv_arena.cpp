#include "kvcache/kv_arena.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <utility>

namespace ig {

Expected<KvArena> KvArena::create(int64_t num_blocks, size_t block_bytes) {
    if (num_blocks <= 0)
        return make_error("KV cache: {} blocks requested; the KV budget must hold at least one",
                          num_blocks);
    if (num_blocks > std::numeric_limits<BlockId>::max())
        return make_error("KV cache: {} blocks exceed the block id range", num_blocks);
    if (block_bytes == 0) return make_error("KV cache: block size is 0 bytes");
    if (static_cast<size_t>(num_blocks) > std::numeric_limits<size_t>::max() / block_bytes)
        return make_error("KV cache: {} blocks x {} bytes overflows", num_blocks, block_bytes);
    const size_t bytes = static_cast<size_t>(num_blocks) * block_bytes;
    // Anonymous pages are page-aligned (>= 64 bytes) and read as zero; the
    // kernel commits them on first write, so an idle budget costs nothing.
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return make_error(ErrorCode::Io, "KV cache: mapping {} bytes failed: {}", bytes,
                          std::strerror(errno));
    return KvArena(static_cast<uint8_t*>(p), bytes, num_blocks, block_bytes);
}

Expected<KvArena> KvArena::for_budget(int64_t budget_bytes, size_t block_bytes) {
    if (block_bytes == 0) return make_error("KV cache: block size is 0 bytes");
    const int64_t n = budget_bytes <= 0
                          ? 0
                          : static_cast<int64_t>(static_cast<uint64_t>(budget_bytes) / block_bytes);
    if (n == 0)
        return make_error("KV cache: budget of {} bytes holds no block of {} bytes", budget_bytes,
                          block_bytes);
    return create(std::min<int64_t>(n, std::numeric_limits<BlockId>::max()), block_bytes);
}

KvArena::KvArena(KvArena&& o) noexcept
    : base_(std::exchange(o.base_, nullptr)),
      mapped_(std::exchange(o.mapped_, 0)),
      num_blocks_(std::exchange(o.num_blocks_, 0)),
      block_bytes_(std::exchange(o.block_bytes_, 0)) {}

KvArena& KvArena::operator=(KvArena&& o) noexcept {
    if (this != &o) {
        reset();
        base_ = std::exchange(o.base_, nullptr);
        mapped_ = std::exchange(o.mapped_, 0);
        num_blocks_ = std::exchange(o.num_blocks_, 0);
        block_bytes_ = std::exchange(o.block_bytes_, 0);
    }
    return *this;
}

KvArena::~KvArena() {
    reset();
}

void KvArena::reset() {
    if (base_) munmap(base_, mapped_);
    base_ = nullptr;
    mapped_ = 0;
}

void KvArena::copy_block(BlockId dst, BlockId src) {
    assert(dst >= 0 && dst < num_blocks_ && src >= 0 && src < num_blocks_);
    if (dst < 0 || dst >= num_blocks_ || src < 0 || src >= num_blocks_ || dst == src) return;
    std::memcpy(block(dst), block(src), block_bytes_);
}

namespace {

// MemAvailable in bytes, or -1 when /proc/meminfo does not say.
int64_t mem_available_bytes() {
    std::ifstream in("/proc/meminfo");
    std::string key, unit;
    int64_t kb = 0;
    while (in >> key >> kb) {
        std::getline(in, unit);
        if (key == "MemAvailable:") return kb * 1024;
    }
    return -1;
}

}  // namespace

int64_t default_kv_budget_bytes(int64_t reserve_bytes) {
    int64_t avail = mem_available_bytes();
    if (avail < 0) {
        const long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        avail = pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : 0;
    }
    return std::max<int64_t>(avail / 10 * 4 - reserve_bytes, 0);
}

}  // namespace ig
