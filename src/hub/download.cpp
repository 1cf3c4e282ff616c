#include "hub/download.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <thread>
#include <vector>

#include "hub/file_digest.h"
#include "hub/progress_bar.h"

namespace ig::hub {

namespace fs = std::filesystem;

namespace {

class Fd {
  public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

  private:
    int fd_;
};

Error sys_error(const std::string& what) {
    return make_error(ErrorCode::Internal, "{}: {}", what, std::strerror(errno));
}

// Feeds the first n bytes of fd to the digest.
Status hash_prefix(int fd, int64_t n, FileDigest& d, const fs::path& path) {
    std::vector<char> buf(1 << 20);
    for (int64_t off = 0; off < n;) {
        const size_t want = static_cast<size_t>(std::min<int64_t>(n - off, buf.size()));
        const ssize_t got = ::pread(fd, buf.data(), want, off);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return sys_error("reading " + path.string());
        d.update(buf.data(), static_cast<size_t>(got));
        off += got;
    }
    return {};
}

Status write_all(int fd, const char* p, size_t n, int64_t off, const fs::path& path) {
    while (n > 0) {
        const ssize_t w = ::pwrite(fd, p, n, off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return sys_error("writing " + path.string());
        p += w;
        n -= static_cast<size_t>(w);
        off += w;
    }
    return {};
}

bool parse_i64(std::string_view s, int64_t* v) {
    auto r = std::from_chars(s.data(), s.data() + s.size(), *v);
    return r.ec == std::errc() && r.ptr == s.data() + s.size() && *v >= 0;
}

// The transfer of one attempt: bytes from `pos` on, appended to fd.
struct Transfer {
    HttpClient& http;
    const std::string& url;
    const std::string& bearer;
    const RemoteFile& f;
    const fs::path& part;
    int fd;
    FileDigest& digest;
    ProgressBar& bar;
    int64_t pos = 0;
    bool ranged = false;      // this attempt asked for a range
    bool local_fail = false;  // a disk error, not the network's

    Status run() {
        HttpHeaders h;
        ranged = pos > 0;
        if (ranged) h.emplace_back("Range", "bytes=" + std::to_string(pos) + "-");
        BodyHandler b;
        b.begin = [this](const HttpResponse& r) { return begin(r); };
        b.data = [this](const char* d, size_t n) { return data(d, n); };
        auto r = http.get(url, h, bearer, b);
        if (!r.ok()) return r.error();
        if (r->status == 416) {
            // The range is past the server's end: this partial is not its file.
            if (::ftruncate(fd, 0) != 0) return fail_local("truncating " + part.string());
            pos = 0;
            return make_error(ErrorCode::Io, "the server refused the range (416); starting over");
        }
        if (!r->success()) return hub_status_error(*r, "downloading " + f.path, !bearer.empty());
        return {};
    }

    Status begin(const HttpResponse& r) {
        if (r.status == 206) {
            ContentRange cr;
            IG_ASSIGN_OR_RETURN(cr, parse_content_range(r.header("content-range")));
            if (cr.first != pos)
                return make_error(ErrorCode::Io, "{}: asked for bytes from {}, got from {}", f.path,
                                  pos, cr.first);
            if (cr.total >= 0 && cr.total != f.size)
                return make_error("{}: the hub lists {} bytes, the server has {}", f.path, f.size,
                                  cr.total);
            return {};
        }
        if (r.status != 200)
            return make_error(ErrorCode::Io, "{}: unexpected HTTP {}", f.path, r.status);
        if (pos > 0) {
            // The server ignored the range and sends the whole file.
            if (::ftruncate(fd, 0) != 0) return fail_local("truncating " + part.string());
            pos = 0;
            digest.restart();
            bar.start(0);
        }
        const std::string len = r.header("content-length");
        int64_t n = 0;
        if (!len.empty() && parse_i64(len, &n) && n != f.size)
            return make_error("{}: the hub lists {} bytes, the download has {}", f.path, f.size, n);
        return {};
    }

    Status data(const char* d, size_t n) {
        if (pos + static_cast<int64_t>(n) > f.size)
            return make_error("{}: the server sent more than the {} bytes the hub lists", f.path,
                              f.size);
        auto st = write_all(fd, d, n, pos, part);
        if (!st.ok()) {
            local_fail = true;
            return st;
        }
        digest.update(d, n);
        pos += static_cast<int64_t>(n);
        bar.update(pos);
        return {};
    }

    Error fail_local(const std::string& what) {
        local_fail = true;
        return sys_error(what);
    }
};

}  // namespace

fs::path partial_path(const fs::path& dest) {
    return fs::path(dest.string() + ".partial");
}

Expected<ContentRange> parse_content_range(std::string_view v) {
    const auto bad = [&] { return make_error(ErrorCode::Io, "bad Content-Range '{}'", v); };
    if (v.substr(0, 6) != "bytes ") return bad();
    v.remove_prefix(6);
    const size_t dash = v.find('-'), slash = v.find('/');
    if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash)
        return bad();
    ContentRange cr;
    if (!parse_i64(v.substr(0, dash), &cr.first) ||
        !parse_i64(v.substr(dash + 1, slash - dash - 1), &cr.last) || cr.last < cr.first)
        return bad();
    const std::string_view total = v.substr(slash + 1);
    if (total != "*" && (!parse_i64(total, &cr.total) || cr.total <= cr.last)) return bad();
    return cr;
}

Expected<bool> file_matches(const fs::path& path, const RemoteFile& f) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != f.size)
        return false;
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return sys_error("opening " + path.string());
    FileDigest d(f);
    IG_TRY(hash_prefix(fd.get(), f.size, d, path));
    return d.finish() == d.expected();
}

Expected<Fetched> download_file(HttpClient& http, const std::string& url, const std::string& bearer,
                                const RemoteFile& f, const fs::path& dest,
                                const DownloadOptions& opt) {
    if (f.sha256.empty() && f.git_oid.empty())
        return make_error(ErrorCode::Io, "{}: the hub lists no checksum for it", f.path);
    bool present = false;
    IG_ASSIGN_OR_RETURN(present, file_matches(dest, f));
    if (present) return Fetched::AlreadyPresent;

    std::error_code ec;
    fs::create_directories(dest.parent_path(), ec);
    if (ec)
        return make_error(ErrorCode::Io, "creating {}: {}", dest.parent_path().string(),
                          ec.message());
    const fs::path part = partial_path(dest);
    Fd fd(::open(part.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (fd.get() < 0) return sys_error("opening " + part.string());
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0)
        return make_error(ErrorCode::Unavailable, "another pull is downloading {} ({} is locked)",
                          dest.string(), part.string());

    FileDigest digest(f);
    ProgressBar bar(f.path, f.size, opt.progress_out, opt.tty);
    bool resumed = false;       // some bytes came from before an attempt began
    bool started_over = false;  // after a mismatch, once, from byte 0
    for (int attempt = 1;; ++attempt) {
        struct stat st {};
        if (::fstat(fd.get(), &st) != 0) return sys_error("stat " + part.string());
        int64_t have = st.st_size;
        if (have > f.size) {
            if (::ftruncate(fd.get(), 0) != 0) return sys_error("truncating " + part.string());
            have = 0;
        }
        resumed = resumed || have > 0;
        digest.restart();
        IG_TRY(hash_prefix(fd.get(), have, digest, part));
        bar.start(have);
        Transfer t{http, url, bearer, f, part, fd.get(), digest, bar};
        t.pos = have;
        Status st_run = have < f.size ? t.run() : Status{};
        if (st_run.ok() && t.pos != f.size)
            st_run = make_error(ErrorCode::Io, "{}: the transfer ended at byte {} of {}", f.path,
                                t.pos, f.size);
        if (!st_run.ok()) {
            const bool retry =
                st_run.error().code == ErrorCode::Io && !t.local_fail && attempt < opt.max_attempts;
            if (!retry) {
                Error e = st_run.error();
                if (t.pos == 0) ::unlink(part.c_str());  // nothing to resume: leave no trace
                if (t.pos > 0 && e.code == ErrorCode::Io)
                    e.message += " (" + std::to_string(t.pos) + " bytes kept in " + part.string() +
                                 ": pull again to resume)";
                return e;
            }
            std::fprintf(opt.progress_out, "%s: %s; retrying from byte %lld (attempt %d of %d)\n",
                         f.path.c_str(), st_run.error().message.c_str(),
                         static_cast<long long>(t.pos), attempt + 1, opt.max_attempts);
            std::fflush(opt.progress_out);
            std::this_thread::sleep_for(opt.retry_pause * attempt);
            continue;
        }
        const std::string got = digest.finish();
        if (got != digest.expected()) {
            if (resumed && !started_over) {
                // Bytes from an earlier transfer may be the bad ones: once, from scratch.
                std::fprintf(opt.progress_out,
                             "%s: checksum mismatch after a resumed download; starting over\n",
                             f.path.c_str());
                if (::ftruncate(fd.get(), 0) != 0) return sys_error("truncating " + part.string());
                started_over = true;
                resumed = false;
                --attempt;
                continue;
            }
            ::unlink(part.c_str());
            return make_error(ErrorCode::Invalid,
                              "{}: checksum mismatch: the hub lists {} {}, the downloaded bytes "
                              "have {}; refused (partial file deleted)",
                              f.path, digest.kind(), digest.expected(), got);
        }
        bar.finish(t.pos);
        if (::fsync(fd.get()) != 0) return sys_error("syncing " + part.string());
        if (::rename(part.c_str(), dest.c_str()) != 0)
            return sys_error("renaming " + part.string() + " to " + dest.string());
        Fd dir(::open(dest.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (dir.get() >= 0) ::fsync(dir.get());  // the rename itself survives a crash
        return Fetched::Downloaded;
    }
}

}  // namespace ig::hub
