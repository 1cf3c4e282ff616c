#pragma once
// Helpers shared by tests: temp dirs, shared data, the Python oracle.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace ig::test {

// A fresh directory removed at scope exit.
class TempDir {
  public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "ig-test-XXXXXX").string();
        char* p = mkdtemp(tmpl.data());
        path_ = p ? p : "";
    }
    ~TempDir() {
        std::error_code ec;
        if (!path_.empty()) std::filesystem::remove_all(path_, ec);
    }
    std::string file(const std::string& name) const { return (path_ / name).string(); }
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

inline std::string shared_dir() {
    if (const char* e = std::getenv("IG_SHARED_DIR")) return e;
#ifdef IG_SHARED_DIR
    return IG_SHARED_DIR;
#else
    return "../shared";
#endif
}

inline std::string shared_file(const std::string& rel) {
    return shared_dir() + "/" + rel;
}
inline bool exists(const std::string& p) {
    return std::filesystem::exists(p);
}

// Runs a shell command, returns its exit status and stdout.
inline int run(const std::string& cmd, std::string* out = nullptr) {
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

// Debian's interpreter with python3-numpy (the one first on PATH may lack it).
inline bool have_numpy() {
    static const bool ok = run("/usr/bin/python3 -c 'import numpy' 2>/dev/null") == 0;
    return ok;
}

inline std::vector<double> read_f64(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    in.seekg(0, std::ios::end);
    const auto n = static_cast<size_t>(in.tellg()) / sizeof(double);
    in.seekg(0);
    std::vector<double> v(n);
    in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * sizeof(double)));
    return v;
}

inline std::string binary() {
#ifdef IG_BINARY
    return IG_BINARY;
#else
    return "infergrid";
#endif
}

}  // namespace ig::test
