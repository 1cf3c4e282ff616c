// StopChecker: stop strings across token boundaries, hold-back, overlaps,
// include_stop_str, flush, multibyte stops.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/stop_checker.h"

namespace ig {
namespace {

struct Fed {
    std::string text;  // everything emitted, flush included when not stopped
    bool stopped = false;
    std::vector<std::string> chunks;
};

Fed feed(StopChecker& sc, const std::vector<std::string>& deltas) {
    Fed r;
    for (const auto& d : deltas) {
        auto res = sc.push(d);
        r.chunks.push_back(res.text);
        r.text += res.text;
        if (res.stopped) {
            r.stopped = true;
            return r;
        }
    }
    r.text += sc.flush();
    return r;
}

TEST(StopChecker, NoStopsPassesThrough) {
    StopChecker sc({}, false);
    const Fed r = feed(sc, {"Hello", ", ", "world"});
    EXPECT_EQ(r.text, "Hello, world");
    EXPECT_EQ(r.chunks, (std::vector<std::string>{"Hello", ", ", "world"}));
    EXPECT_FALSE(r.stopped);
}

TEST(StopChecker, StopSpanningTokensIsNeverEmitted) {
    StopChecker sc({"</end>"}, false);
    const Fed r = feed(sc, {"abc<", "/e", "nd", ">tail"});
    EXPECT_TRUE(r.stopped);
    EXPECT_EQ(r.text, "abc");
    EXPECT_EQ(r.chunks, (std::vector<std::string>{"abc", "", "", ""}));
}

TEST(StopChecker, IncludeStopEndsRightAfterMatch) {
    StopChecker sc({"STOP"}, true);
    const Fed r = feed(sc, {"go ST", "OP and more"});
    EXPECT_TRUE(r.stopped);
    EXPECT_EQ(r.text, "go STOP");
}

TEST(StopChecker, PartialPrefixThenDivergenceReleasesText) {
    StopChecker sc({"abc"}, false);
    auto a = sc.push("xa");
    EXPECT_EQ(a.text, "x");  // "a" might start "abc"
    auto b = sc.push("b");
    EXPECT_EQ(b.text, "");  // "ab" still might
    auto c = sc.push("d");
    EXPECT_EQ(c.text, "abd");  // diverged: released
    EXPECT_FALSE(c.stopped);
    auto d = sc.push("ab");
    EXPECT_EQ(d.text, "");
    EXPECT_EQ(sc.flush(), "ab");  // ended otherwise: held text comes out
}

TEST(StopChecker, HoldsOnlyTheLongestProperPrefixSuffix) {
    StopChecker sc({"abab"}, false);
    auto r = sc.push("xxabaab");  // "ab" could still start "abab"; "abaab" cannot
    EXPECT_EQ(r.text, "xxaba");
    r = sc.push("ab");
    EXPECT_TRUE(r.stopped);
    EXPECT_EQ(r.text, "");
}

TEST(StopChecker, OverlappingStopsEarliestEndWins) {
    {  // "ab" ends before "abc" and "bc"
        StopChecker sc({"abc", "bc", "ab"}, false);
        EXPECT_EQ(feed(sc, {"xa", "bc"}).text, "x");
    }
    {  // include: text ends right after the earliest-ending match
        StopChecker sc({"abc", "bc", "ab"}, true);
        EXPECT_EQ(feed(sc, {"xa", "bcd"}).text, "xab");
    }
    {  // "bc" and "abc" end together: the earlier start ("abc") wins
        StopChecker sc({"bc", "abc"}, false);
        EXPECT_EQ(feed(sc, {"xab", "c"}).text, "x");
    }
    {  // the same with include: identical end, same text either way
        StopChecker sc({"bc", "abc"}, true);
        EXPECT_EQ(feed(sc, {"xabc"}).text, "xabc");
    }
    {  // a short stop ending first beats a long one that started earlier
        StopChecker sc({"abcd", "c"}, false);
        EXPECT_EQ(feed(sc, {"zab", "cd"}).text, "zab");
    }
}

TEST(StopChecker, StopAtVeryStartAndWholeDelta) {
    StopChecker sc({"\n\n"}, false);
    const Fed r = feed(sc, {"\n", "\n", "more"});
    EXPECT_TRUE(r.stopped);
    EXPECT_EQ(r.text, "");
}

TEST(StopChecker, AfterStopNothingMore) {
    StopChecker sc({"x"}, false);
    EXPECT_TRUE(sc.push("axb").stopped);
    auto r = sc.push("more");
    EXPECT_TRUE(r.stopped);
    EXPECT_EQ(r.text, "");
    EXPECT_EQ(sc.flush(), "");
}

TEST(StopChecker, EmptyStopsAreIgnored) {
    StopChecker sc({"", "zz"}, false);
    const Fed r = feed(sc, {"ab", "cz"});
    EXPECT_FALSE(r.stopped);
    EXPECT_EQ(r.text, "abcz");
}

TEST(StopChecker, MultibyteStops) {
    // "。" is E3 80 82; "终止" is 6 bytes. Deltas are whole characters.
    StopChecker sc({"。", "终止"}, false);
    auto a = sc.push("你好");
    EXPECT_EQ(a.text, "你好");
    auto b = sc.push("终");  // a whole character that starts "终止": held back whole
    EXPECT_EQ(b.text, "");
    auto c = sc.push("点");  // diverged
    EXPECT_EQ(c.text, "终点");
    auto d = sc.push("世界。再见");
    EXPECT_TRUE(d.stopped);
    EXPECT_EQ(d.text, "世界");
    // A character sharing the stop's lead bytes but not equal to it is released.
    StopChecker sc2({"é"}, false);       // C3 A9
    EXPECT_EQ(sc2.push("è").text, "è");  // C3 A8
}

TEST(StopChecker, LongGenerationKeepsOnlyAWindow) {
    StopChecker sc({"<|im_end|>"}, false);
    std::string all;
    for (int i = 0; i < 20000; ++i) all += sc.push("tok<|im ").text;
    EXPECT_EQ(all.size(), 20000u * 8u);  // every "<|im " diverged at the next token
    auto r = sc.push("<|im_e");
    EXPECT_EQ(r.text, "");
    r = sc.push("nd|>");
    EXPECT_TRUE(r.stopped);
}

}  // namespace
}  // namespace ig
