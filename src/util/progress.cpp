#include "util/progress.h"

#include <unistd.h>

#include <algorithm>

namespace ig {

ProgressLine::ProgressLine(std::string label, std::FILE* out, int tty)
    : label_(std::move(label)),
      out_(out),
      tty_(tty < 0 ? ::isatty(::fileno(out)) != 0 : tty != 0) {}

void ProgressLine::operator()(int64_t done, int64_t total) {
    if (total <= 0) return;
    const int pct = static_cast<int>(std::clamp<int64_t>(done * 100 / total, 0, 100));
    const int mark = tty_ ? pct : pct / 25;
    if (mark == last_) return;
    last_ = mark;
    if (tty_)
        std::fprintf(out_, "\r%s: %3d%% (%lld/%lld)%s", label_.c_str(), pct,
                     static_cast<long long>(done), static_cast<long long>(total),
                     pct == 100 ? "\n" : "");
    else
        std::fprintf(out_, "%s: %d%% (%lld/%lld)\n", label_.c_str(), pct,
                     static_cast<long long>(done), static_cast<long long>(total));
    std::fflush(out_);
}

}  // namespace ig
