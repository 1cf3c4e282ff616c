#include "support/test_support.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "util/read_file.h"

namespace ig::test {

TempDir::TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ig-test-XXXXXX").string();
    char* p = mkdtemp(tmpl.data());
    path_ = p ? p : "";
}

TempDir::~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

std::string shared_dir() {
    if (const char* e = std::getenv("IG_SHARED_DIR")) return e;
    return IG_SHARED_DIR;
}

std::string shared_file(const std::string& rel) {
    return shared_dir() + "/" + rel;
}

bool exists(const std::string& p) {
    return std::filesystem::exists(p);
}

std::string read_text(const std::string& path) {
    auto text = read_file(path);
    return text.ok() ? std::move(text).value() : std::string();
}

int run(const std::string& cmd, std::string* out) {
    FILE* f = popen(cmd.c_str(), "r");
    if (!f) return -1;
    std::string s;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
    int rc = pclose(f);
    if (out) *out = s;
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

bool have_numpy() {
    static const bool ok = run("/usr/bin/python3 -c 'import numpy' 2>/dev/null") == 0;
    return ok;
}

std::vector<double> read_f64(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    in.seekg(0, std::ios::end);
    const auto n = static_cast<size_t>(in.tellg()) / sizeof(double);
    in.seekg(0);
    std::vector<double> v(n);
    in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * sizeof(double)));
    return v;
}

}  // namespace ig::test
