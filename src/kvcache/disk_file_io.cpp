#include "kvcache/disk_file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace ig {

BlockFile::~BlockFile() {
    if (fd_ >= 0) ::close(fd_);
}

BlockFile::BlockFile(BlockFile&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)), size_(o.size_), mtime_ns_(o.mtime_ns_) {}

BlockFile& BlockFile::operator=(BlockFile&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(o.fd_, -1);
        size_ = o.size_;
        mtime_ns_ = o.mtime_ns_;
    }
    return *this;
}

Expected<BlockFile> open_block_file(int dirfd, const char* name) {
    // O_NONBLOCK: opening a FIFO without a writer returns at once instead of
    // waiting for one; on a regular file it changes nothing.
    const int fd = ::openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        const int err = errno;
        if (err == ENOENT) return make_error(ErrorCode::NotFound, "{}", std::strerror(err));
        if (err == ELOOP) return make_error(ErrorCode::Unsupported, "a symbolic link");
        return make_error(ErrorCode::Io, "open: {}", std::strerror(err));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int err = errno;
        ::close(fd);
        return make_error(ErrorCode::Io, "fstat: {}", std::strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        return make_error(ErrorCode::Unsupported, "not a regular file");
    }
    return BlockFile(fd, static_cast<int64_t>(st.st_size),
                     static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec);
}

bool read_exact(const ReadAtFn& read_at, int fd, uint8_t* p, size_t n, off_t offset) {
    while (n > 0) {
        const ssize_t r = read_at ? read_at(fd, p, n, offset) : ::pread(fd, p, n, offset);
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
        offset += r;
    }
    return true;
}

}  // namespace ig
