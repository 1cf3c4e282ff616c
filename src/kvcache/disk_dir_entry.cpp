#include "kvcache/disk_dir_entry.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "kvcache/disk_block_file.h"

namespace ig {
namespace {

constexpr std::string_view kSuffix = ".kvb";
constexpr std::string_view kTmpSuffix = ".kvb.tmp";

bool strip_suffix(std::string_view name, std::string_view suf, std::string_view& stem) {
    if (name.size() < suf.size() || name.substr(name.size() - suf.size()) != suf) return false;
    stem = name.substr(0, name.size() - suf.size());
    return true;
}

// From d_type when the file system fills it, else lstat: a FIFO is never opened.
bool is_regular(int dirfd, const struct dirent& e) {
    if (e.d_type != DT_UNKNOWN) return e.d_type == DT_REG;
    struct stat st {};
    return ::fstatat(dirfd, e.d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

DirEntryCheck check_dir_entry(int dirfd, const struct dirent& e, const BlockFileSpec& spec,
                              const ReadAtFn& read_at) {
    DirEntryCheck c;
    const std::string_view name(e.d_name);
    std::string_view stem;
    const bool tmp = strip_suffix(name, kTmpSuffix, stem);
    if (!tmp && !strip_suffix(name, kSuffix, stem)) return c;
    if (!parse_hash_hex(stem, c.hash)) return c;
    if (!is_regular(dirfd, e)) {
        c.kind = DirEntryKind::NotRegular;
        c.why = "not a regular file";
        return c;
    }
    auto f = open_block_file(dirfd, e.d_name);
    if (!f.ok()) {
        // Replaced since readdir (a FIFO or link is left alone), gone, or not
        // openable: not indexed, so never read.
        c.kind = f.error().code == ErrorCode::Unsupported ? DirEntryKind::NotRegular
                                                          : DirEntryKind::Other;
        c.why = f.error().message;
        return c;
    }
    c.mtime_ns = f->mtime_ns();
    if (tmp) {
        c.kind = DirEntryKind::TempFile;
        return c;
    }
    const size_t file_bytes = kDiskHeaderBytes + spec.block_bytes;
    uint8_t hdr[kDiskHeaderBytes];
    if (!read_exact(read_at, f->fd(), hdr, sizeof hdr, 0)) {
        c.kind = DirEntryKind::Damaged;
        c.why = fmt::format("header: {}", std::strerror(errno));
        return c;
    }
    auto dh = decode_disk_header(std::span<const uint8_t, kDiskHeaderBytes>(hdr));
    if (!dh.ok()) {
        c.kind = DirEntryKind::Damaged;
        c.why = dh.error().message;
    } else if (dh->fingerprint != spec.fingerprint) {
        c.kind = DirEntryKind::OtherLayout;  // another model or KV layout: not ours to judge
    } else if (dh->hash != c.hash || dh->payload_bytes != spec.block_bytes ||
               static_cast<size_t>(f->size()) != file_bytes) {
        c.kind = DirEntryKind::Damaged;
        c.why = "header disagrees with the name or the size";
    } else {
        c.kind = DirEntryKind::Block;
    }
    return c;
}

}  // namespace ig
