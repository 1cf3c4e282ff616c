#pragma once
// Opening and reading block files so that a file that is not ours cannot
// hang the server: a FIFO, socket or device named <hash>.kvb would block
// open() or read() forever. Files are opened non-blocking, without following
// links, and refused unless they are regular files. Reads go through a
// replaceable pread (LevelDB's Env, reduced to one call) so that tests can
// simulate a read that hangs in a dead network mount, which no flag prevents.
#include <sys/types.h>

#include <cstdint>
#include <functional>

#include "util/expected.h"

namespace ig {

// pread(2)'s contract: bytes read, 0 at end of file, -1 with errno set.
using ReadAtFn = std::function<ssize_t(int fd, void* buf, size_t n, off_t offset)>;

// An open block file; closes its descriptor.
class BlockFile {
  public:
    BlockFile() = default;
    BlockFile(int fd, int64_t size, int64_t mtime_ns) : fd_(fd), size_(size), mtime_ns_(mtime_ns) {}
    ~BlockFile();
    BlockFile(BlockFile&& o) noexcept;
    BlockFile& operator=(BlockFile&& o) noexcept;
    BlockFile(const BlockFile&) = delete;
    BlockFile& operator=(const BlockFile&) = delete;

    int fd() const { return fd_; }
    int64_t size() const { return size_; }
    int64_t mtime_ns() const { return mtime_ns_; }

  private:
    int fd_ = -1;
    int64_t size_ = 0, mtime_ns_ = 0;
};

// Opens `name` relative to `dirfd` (AT_FDCWD: a path) read-only. Errors:
// NotFound (no such file), Unsupported (not a regular file, or a symbolic
// link: not ours, left alone), Io (anything else).
Expected<BlockFile> open_block_file(int dirfd, const char* name);

// Reads exactly n bytes at `offset` through `read_at` (empty: ::pread).
// False with errno set on an error or a short file (ENODATA).
bool read_exact(const ReadAtFn& read_at, int fd, uint8_t* p, size_t n, off_t offset);

}  // namespace ig
