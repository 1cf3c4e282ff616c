#pragma once
// One file from the hub to disk, safely: bytes go to `<dest>.partial`
// (locked against a second pull), an interrupted transfer resumes with an
// HTTP Range request (in this run, or the next one), the checksum the hub
// lists is checked over the whole file, and only a verified file is
// renamed to `dest` (atomically). A file whose checksum is wrong is refused
// and its partial deleted.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

#include "hub/hub_client.h"
#include "util/expected.h"

namespace ig::hub {

struct DownloadOptions {
    int max_attempts = 4;  // network failures are retried from where they stopped
    std::chrono::milliseconds retry_pause{500};  // times the attempt number
    std::FILE* progress_out = stderr;
    int tty = -1;  // progress style: -1 asks isatty(progress_out)
};

enum class Fetched { Downloaded, AlreadyPresent };

std::filesystem::path partial_path(const std::filesystem::path& dest);

// "bytes 100-199/200" (total -1 for "*").
struct ContentRange {
    int64_t first = 0, last = 0, total = -1;
};
Expected<ContentRange> parse_content_range(std::string_view v);

// True when `path` is a file of f's size whose checksum is f's.
Expected<bool> file_matches(const std::filesystem::path& path, const RemoteFile& f);

// `url` (the hub's resolve URL of f) to `dest`; `bearer` goes to the hub's
// origin only (HttpClient's rule).
Expected<Fetched> download_file(HttpClient& http, const std::string& url, const std::string& bearer,
                                const RemoteFile& f, const std::filesystem::path& dest,
                                const DownloadOptions& opt);

}  // namespace ig::hub
