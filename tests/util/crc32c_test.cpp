#include "util/crc32c.h"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

namespace ig {
namespace {

std::span<const uint8_t> bytes_of(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(Crc32cTest, KnownVectors) {
    EXPECT_EQ(crc32c(bytes_of("")), 0u);
    EXPECT_EQ(crc32c(bytes_of("123456789")), 0xE3069283u);  // RFC 3720 check value
    std::vector<uint8_t> zeros(32, 0);
    EXPECT_EQ(crc32c(zeros), 0x8A9136AAu);  // RFC 3720 B.4
}

TEST(Crc32cTest, ExtendsAcrossPieces) {
    std::vector<uint8_t> v(1000);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(i * 31 + 7);
    const uint32_t whole = crc32c(v);
    for (size_t cut : {0, 1, 7, 8, 9, 500, 999, 1000}) {
        const std::span<const uint8_t> s(v);
        EXPECT_EQ(crc32c(s.subspan(cut), crc32c(s.first(cut))), whole) << cut;
    }
    v[123] ^= 1;
    EXPECT_NE(crc32c(v), whole);
}

}  // namespace
}  // namespace ig
