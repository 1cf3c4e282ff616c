// ProgressLine: a line per quarter when not on a terminal, a line redrawn in
// place on one.
#include "util/progress.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace ig {
namespace {

std::string run_progress(int tty, int64_t total) {
    std::FILE* f = std::tmpfile();
    EXPECT_NE(f, nullptr);
    ProgressLine p("loading m.gguf", f, tty);
    for (int64_t i = 0; i <= total; ++i) p(i, total);
    std::string out(4096, '\0');
    std::rewind(f);
    out.resize(std::fread(out.data(), 1, out.size(), f));
    std::fclose(f);
    return out;
}

TEST(ProgressLine, PlainLinesPerQuarterOffATerminal) {
    EXPECT_EQ(run_progress(0, 8),
              "loading m.gguf: 0% (0/8)\nloading m.gguf: 25% (2/8)\nloading m.gguf: 50% (4/8)\n"
              "loading m.gguf: 75% (6/8)\nloading m.gguf: 100% (8/8)\n");
}

TEST(ProgressLine, OneLineRedrawnOnATerminal) {
    const std::string out = run_progress(1, 4);
    EXPECT_EQ(out,
              "\rloading m.gguf:   0% (0/4)\rloading m.gguf:  25% (1/4)\rloading m.gguf:  50% (2/4)"
              "\rloading m.gguf:  75% (3/4)\rloading m.gguf: 100% (4/4)\n");
}

TEST(ProgressLine, NothingForAnEmptyTotal) {
    EXPECT_EQ(run_progress(0, 0), "");
}

}  // namespace
}  // namespace ig
