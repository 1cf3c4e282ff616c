#pragma once
// What one entry of the disk tier's directory is, as the start-up scan sees
// it: a block of this model and layout (header checks pass), a damaged block
// (delete), a crash leftover (<hash>.kvb.tmp), another layout's block or a
// stranger's file (leave alone), or something named like a block that is not
// a regular file (a FIFO, socket, device, directory or link: never opened,
// left alone). Payload checksums are left to the read.
#include <dirent.h>

#include <cstdint>
#include <string>

#include "kvcache/block_hash.h"
#include "kvcache/disk_file_io.h"

namespace ig {

enum class DirEntryKind {
    Other,        // not named like a block file: not ours
    TempFile,     // a regular <hash>.kvb.tmp: a write cut short (or one in progress)
    NotRegular,   // named like a block, not a regular file: left alone
    OtherLayout,  // a valid block of another model or KV layout: left alone
    Damaged,      // ours by name, rejected by the header checks: delete
    Block,        // a block of this layout
};

struct DirEntryCheck {
    DirEntryKind kind = DirEntryKind::Other;
    BlockHash hash{};
    int64_t mtime_ns = 0;  // TempFile, Block
    std::string why;       // Damaged, NotRegular
};

// The blocks this tier accepts.
struct BlockFileSpec {
    BlockHash fingerprint{};
    size_t block_bytes = 0;
};

DirEntryCheck check_dir_entry(int dirfd, const struct dirent& e, const BlockFileSpec& spec,
                              const ReadAtFn& read_at);

}  // namespace ig
