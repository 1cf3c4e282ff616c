#include "hub/progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

namespace ig::hub {

namespace {

constexpr double kTtyIntervalS = 0.1;
constexpr int kBarWidth = 24;

double steady_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace

std::string format_bytes(double b) {
    static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        ++u;
    }
    return u == 0 ? fmt::format("{:.0f} B", b) : fmt::format("{:.1f} {}", b, units[u]);
}

std::string format_eta(double s) {
    if (!(s >= 0) || !std::isfinite(s) || s > 360000) return "--:--";
    const auto t = static_cast<int64_t>(std::llround(s));
    if (t >= 3600) return fmt::format("{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60);
    return fmt::format("{}:{:02}", t / 60, t % 60);
}

std::string format_progress(const std::string& label, int64_t done, int64_t total,
                            double bytes_per_s, bool bar) {
    const double frac = total > 0 ? std::clamp(static_cast<double>(done) / total, 0.0, 1.0) : 1.0;
    std::string s = fmt::format("{} {:3d}%", label, static_cast<int>(frac * 100));
    if (bar) {
        const int fill = static_cast<int>(frac * kBarWidth);
        s += " [" + std::string(fill, '#') + std::string(kBarWidth - fill, ' ') + "]";
    }
    s += fmt::format(" {}/{}", format_bytes(static_cast<double>(done)),
                     format_bytes(static_cast<double>(total)));
    s += fmt::format("  {}/s", format_bytes(bytes_per_s));
    const double eta = bytes_per_s > 0 ? static_cast<double>(total - done) / bytes_per_s : -1;
    s += "  ETA " + format_eta(done >= total ? 0 : eta);
    return s;
}

ProgressBar::ProgressBar(std::string label, int64_t total, std::FILE* out, int tty, Clock clock)
    : label_(std::move(label)),
      total_(total),
      out_(out),
      tty_(tty < 0 ? ::isatty(::fileno(out)) != 0 : tty != 0),
      clock_(clock ? std::move(clock) : Clock(steady_seconds)) {}

void ProgressBar::start(int64_t already) {
    t0_ = clock_();
    base_ = already;
    last_draw_ = tty_ ? -1e9 : t0_;  // plain: the first line after an interval
}

double ProgressBar::rate(double now, int64_t done) const {
    const double dt = now - t0_;
    return dt > 0 ? static_cast<double>(done - base_) / dt : 0;
}

void ProgressBar::update(int64_t done) {
    const double now = clock_();
    if (now - last_draw_ < (tty_ ? kTtyIntervalS : kPlainIntervalS)) return;
    draw(now, done, false);
}

void ProgressBar::finish(int64_t done) {
    draw(clock_(), done, true);
}

void ProgressBar::draw(double now, int64_t done, bool final) {
    last_draw_ = now;
    const std::string line = format_progress(label_, done, total_, rate(now, done), tty_);
    if (tty_)
        std::fprintf(out_, "\r%s\033[K%s", line.c_str(), final ? "\n" : "");
    else
        std::fprintf(out_, "%s\n", line.c_str());
    std::fflush(out_);
}

}  // namespace ig::hub
