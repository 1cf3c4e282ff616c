#include "kvcache/tier_budgets.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

namespace ig {
namespace {

std::string gib(int64_t b) {
    return fmt::format("{:.2f} GiB", static_cast<double>(b) / (1 << 30));
}

}  // namespace

Expected<TierBudgets> plan_tier_budgets(const TierBudgetInputs& in) {
    TierBudgets out;
    if (in.host_bytes) {
        if (*in.host_bytes < 0) return make_error("--kv-host-bytes must be >= 0");
        if (in.physical_ram > 0 && *in.host_bytes > in.physical_ram)
            return make_error(
                "--kv-host-bytes {} ({}) is more than this machine's physical RAM, {} ({})",
                *in.host_bytes, gib(*in.host_bytes), in.physical_ram, gib(in.physical_ram));
        out.host_bytes = *in.host_bytes;
        out.host_reason =
            fmt::format("--kv-host-bytes {} ({})", out.host_bytes, gib(out.host_bytes));
    } else if (!in.prefix_cache) {
        out.host_reason = "off: the prefix cache is off";
    } else if (in.physical_ram <= 0) {
        out.host_reason = "off: physical RAM unknown";
    } else {
        const int64_t share = std::min(in.physical_ram / 4, kHostTierDefaultCap);
        const int64_t left = share - in.weights_bytes - in.pool_bytes;
        if (left <= 0) {
            out.host_reason = fmt::format(
                "off: min(25% of RAM, 8 GiB) = {} does not fit beside the weights ({}) and "
                "the hot pool ({}); set --kv-host-bytes to have one",
                gib(share), gib(in.weights_bytes), gib(in.pool_bytes));
        } else {
            out.host_bytes = left;
            out.host_reason =
                fmt::format("default {}: min(25% of RAM, 8 GiB) = {} - weights {} - hot pool {}",
                            gib(left), gib(share), gib(in.weights_bytes), gib(in.pool_bytes));
        }
    }

    if (!in.disk_dir_set) {
        if (in.disk_bytes && *in.disk_bytes > 0)
            return make_error("--kv-disk-bytes needs --kv-disk-dir (where the disk tier lives)");
        out.disk_reason = "off: no --kv-disk-dir";
        return out;
    }
    if (!in.prefix_cache) return out;  // the caller refuses tiers without the prefix cache
    if (in.disk_bytes) {
        if (*in.disk_bytes <= 0) return make_error("--kv-disk-bytes must be > 0");
        const int64_t room = in.fs_free_bytes + in.dir_used_bytes;
        if (in.fs_free_bytes >= 0 && *in.disk_bytes > room)
            return make_error(
                "--kv-disk-bytes {} ({}) is more than the disk tier's file system can give: {} "
                "free + {} already in the directory = {} ({})",
                *in.disk_bytes, gib(*in.disk_bytes), in.fs_free_bytes, in.dir_used_bytes, room,
                gib(room));
        out.disk_bytes = *in.disk_bytes;
        out.disk_reason =
            fmt::format("--kv-disk-bytes {} ({})", out.disk_bytes, gib(out.disk_bytes));
        return out;
    }
    if (in.fs_free_bytes < 0)
        return make_error(
            "the free space of the --kv-disk-dir file system is unknown: set --kv-disk-bytes");
    // What the directory already holds counts as room: a restart keeps its blocks.
    out.disk_bytes = std::min((in.fs_free_bytes + in.dir_used_bytes) / 10, kDiskTierDefaultCap);
    if (out.disk_bytes <= 0)
        return make_error("the --kv-disk-dir file system has no free space (set --kv-disk-bytes)");
    out.disk_reason =
        fmt::format("default {}: min(10% of {} free + {} held, 50 GiB)", gib(out.disk_bytes),
                    gib(in.fs_free_bytes), gib(in.dir_used_bytes));
    return out;
}

void probe_tier_budget_inputs(const std::string& disk_dir, TierBudgetInputs& in) {
    namespace fs = std::filesystem;
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    in.physical_ram = pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : 0;
    if (disk_dir.empty()) return;
    in.disk_dir_set = true;
    std::error_code ec;
    fs::path p = fs::absolute(disk_dir, ec);
    while (!p.empty() && !fs::exists(p, ec) && p != p.parent_path()) p = p.parent_path();
    struct statvfs sv {};
    if (!p.empty() && ::statvfs(p.c_str(), &sv) == 0)
        in.fs_free_bytes = static_cast<int64_t>(sv.f_bavail) * static_cast<int64_t>(sv.f_frsize);
    in.dir_used_bytes = 0;
    for (fs::directory_iterator it(disk_dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code e2;
        if (it->path().extension() == ".kvb" && it->is_regular_file(e2))
            in.dir_used_bytes += static_cast<int64_t>(it->file_size(e2));
    }
}

}  // namespace ig
