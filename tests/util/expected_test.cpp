#include "util/expected.h"

#include <gtest/gtest.h>

namespace ig {
namespace {
Expected<int> half(int x) {
    if (x % 2) return make_error("{} is odd", x);
    return x / 2;
}
Status chain(int x) {
    IG_TRY(half(x));
    return {};
}
}  // namespace

TEST(Expected, ValueAndError) {
    auto a = half(4);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(*a, 2);
    auto b = half(3);
    ASSERT_FALSE(b.ok());
    EXPECT_EQ(b.error().message, "3 is odd");
    EXPECT_TRUE(chain(2).ok());
    EXPECT_EQ(chain(5).error().message, "5 is odd");
}
}  // namespace ig
