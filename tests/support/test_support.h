#pragma once
// Helpers shared by tests: temp dirs, shared data, shell commands, the Python oracle.
#include <filesystem>
#include <string>
#include <vector>

namespace ig::test {

// A fresh directory removed at scope exit.
class TempDir {
  public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string file(const std::string& name) const { return (path_ / name).string(); }
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

// ../shared (or $IG_SHARED_DIR), and a file in it.
std::string shared_dir();
std::string shared_file(const std::string& rel);
bool exists(const std::string& p);

// A whole file as bytes ("" when it cannot be read).
std::string read_text(const std::string& path);

// Runs a shell command, returns its exit status and stdout.
int run(const std::string& cmd, std::string* out = nullptr);

// Debian's interpreter with python3-numpy (the one first on PATH may lack it).
bool have_numpy();

// A file of native-endian doubles (the float64 oracle's output).
std::vector<double> read_f64(const std::string& path);

// The `infergrid` executable; only end-to-end test binaries define IG_BINARY.
inline std::string binary() {
#ifdef IG_BINARY
    return IG_BINARY;
#else
    return "infergrid";
#endif
}

}  // namespace ig::test
