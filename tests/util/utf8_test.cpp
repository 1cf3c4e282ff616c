#include "util/utf8.h"

#include <gtest/gtest.h>

namespace ig {
namespace {

TEST(Utf8Append, EveryEncodedLength) {
    std::string s;
    for (uint32_t cp : {0x41u, 0xE9u, 0x20ACu, 0x1F600u}) utf8::append(s, cp);
    EXPECT_EQ(s, "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
    EXPECT_EQ(utf8::sanitize(s), s);  // well-formed as written
}

TEST(Utf8, SanitizeAndTail) {
    EXPECT_EQ(utf8::sanitize("ok"), "ok");
    EXPECT_EQ(utf8::sanitize("\xC3"), "\xEF\xBF\xBD");
    EXPECT_EQ(utf8::sanitize("a\xFF"
                             "b"),
              "a\xEF\xBF\xBD"
              "b");
    EXPECT_EQ(utf8::sanitize("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
    EXPECT_EQ(utf8::incomplete_tail("ab\xF0\x9F"), 2u);
    EXPECT_EQ(utf8::incomplete_tail("ab\xF0\x9F\xA6\x99"), 0u);
    EXPECT_EQ(utf8::incomplete_tail("\xC3"), 1u);
}

}  // namespace
}  // namespace ig
