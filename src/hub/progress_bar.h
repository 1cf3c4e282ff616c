#pragma once
// Download progress for a person watching: on a terminal one line redrawn
// in place (bar, bytes, rate, ETA) at most ten times a second; otherwise
// (a log, a pipe) a plain line every few seconds and one at the end.
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

namespace ig::hub {

// 1536 -> "1.5 KiB"
std::string format_bytes(double bytes);
// seconds -> "0:07", "1:02:03"; negative or unknown -> "--:--"
std::string format_eta(double seconds);
// "name  45% [#########           ] 1.2 MiB/2.7 MiB  3.4 MiB/s  ETA 0:01"
std::string format_progress(const std::string& label, int64_t done, int64_t total,
                            double bytes_per_s, bool bar);

class ProgressBar {
  public:
    using Clock = std::function<double()>;  // seconds, monotonic
    // tty: -1 asks isatty(out).
    ProgressBar(std::string label, int64_t total, std::FILE* out = stderr, int tty = -1,
                Clock clock = {});
    // Bytes already on disk (a resumed download): shown, not counted in the rate.
    void start(int64_t already);
    void update(int64_t done);
    void finish(int64_t done);
    // The plain mode's interval between lines.
    static constexpr double kPlainIntervalS = 5.0;

  private:
    double rate(double now, int64_t done) const;
    void draw(double now, int64_t done, bool final);

    std::string label_;
    int64_t total_;
    std::FILE* out_;
    bool tty_;
    Clock clock_;
    double t0_ = 0;
    int64_t base_ = 0;
    double last_draw_ = -1e9;
};

}  // namespace ig::hub
