#include "util/read_file.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/test_support.h"

namespace ig {
namespace {

TEST(ReadFile, WholeFileOrAnIoErrorNamingThePath) {
    test::TempDir dir;
    const std::string p = dir.file("t.txt");
    std::ofstream(p, std::ios::binary) << std::string("a\0b\n", 4);
    auto text = read_file(p);
    ASSERT_TRUE(text.ok()) << text.error().message;
    EXPECT_EQ(*text, std::string("a\0b\n", 4));
    auto missing = read_file(dir.file("none.txt"));
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::Io);
    EXPECT_NE(missing.error().message.find("none.txt"), std::string::npos);
}

}  // namespace
}  // namespace ig
