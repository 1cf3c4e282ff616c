// Download progress: the line's figures, and how often it is written.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "hub/progress_bar.h"

namespace ig::hub {
namespace {

std::string read_all(std::FILE* f) {
    std::fflush(f);
    std::rewind(f);
    std::string s;
    char buf[256];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
    return s;
}

int count(const std::string& s, const std::string& what) {
    int n = 0;
    for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
    return n;
}

TEST(HubProgress, FormatsBytesRateAndEta) {
    EXPECT_EQ(format_bytes(512), "512 B");
    EXPECT_EQ(format_bytes(1536), "1.5 KiB");
    EXPECT_EQ(format_bytes(3.5 * 1024 * 1024 * 1024), "3.5 GiB");
    EXPECT_EQ(format_eta(7), "0:07");
    EXPECT_EQ(format_eta(62), "1:02");
    EXPECT_EQ(format_eta(3723), "1:02:03");
    EXPECT_EQ(format_eta(-1), "--:--");
    const std::string line = format_progress("m.gguf", 1 << 20, 4 << 20, 1 << 20, true);
    EXPECT_EQ(line, "m.gguf  25% [######                  ] 1.0 MiB/4.0 MiB  1.0 MiB/s  ETA 0:03");
    EXPECT_EQ(format_progress("m", 10, 10, 0, false), "m 100% 10 B/10 B  0 B/s  ETA 0:00");
}

TEST(HubProgress, PlainOutputWritesALineEveryFewSecondsAndAtTheEnd) {
    std::FILE* f = std::tmpfile();
    ASSERT_NE(f, nullptr);
    double now = 100;
    ProgressBar bar("x", 1000, f, 0, [&] { return now; });
    bar.start(200);  // resumed: 200 bytes were on disk
    for (int i = 1; i <= 20; ++i) {
        now += 1;
        bar.update(200 + i * 40);
    }
    bar.finish(1000);
    const std::string out = read_all(f);
    std::fclose(f);
    // 20 s of updates: one line per 5 s, then the final one; no escapes.
    EXPECT_EQ(count(out, "\n"), 5) << out;
    EXPECT_EQ(out.find('\r'), std::string::npos);
    // The rate counts this run's bytes only: 800 bytes in 20 s.
    EXPECT_NE(out.find("x 100% 1000 B/1000 B  40 B/s  ETA 0:00\n"), std::string::npos) << out;
}

TEST(HubProgress, TerminalOutputRedrawsOneLine) {
    std::FILE* f = std::tmpfile();
    ASSERT_NE(f, nullptr);
    double now = 0;
    ProgressBar bar("x", 100, f, 1, [&] { return now; });
    bar.start(0);
    for (int i = 1; i <= 10; ++i) {
        now += 0.07;  // faster than ten a second: every other one is drawn
        bar.update(i * 10);
    }
    bar.finish(100);
    const std::string out = read_all(f);
    std::fclose(f);
    EXPECT_EQ(count(out, "\r"), 6) << out;
    EXPECT_EQ(count(out, "\n"), 1);
    EXPECT_NE(out.find('['), std::string::npos);
    EXPECT_NE(out.find("ETA"), std::string::npos);
}

}  // namespace
}  // namespace ig::hub
