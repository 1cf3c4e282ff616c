#pragma once
// Progress of a long step (loading or writing a model) for a person waiting
// on it: on a terminal one line redrawn in place, otherwise (a log file, a
// pipe) a plain line per quarter, so logs stay readable.
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

namespace ig {

// done of total units so far; called from one thread, done never decreasing.
using ProgressFn = std::function<void(int64_t done, int64_t total)>;

class ProgressLine {
  public:
    // tty: -1 asks isatty(out).
    explicit ProgressLine(std::string label, std::FILE* out = stderr, int tty = -1);
    void operator()(int64_t done, int64_t total);

  private:
    std::string label_;
    std::FILE* out_;
    bool tty_;
    int last_ = -1;  // last percentage (tty) or quarter (plain) written
};

}  // namespace ig
