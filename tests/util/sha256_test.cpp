#include "util/sha256.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace ig {
namespace {

std::string hex(const Sha256Digest& h) {
    static const char* d = "0123456789abcdef";
    std::string s;
    for (uint8_t b : h) {
        s += d[b >> 4];
        s += d[b & 15];
    }
    return s;
}

Sha256Digest sha_of(std::string_view s) {
    return sha256({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

TEST(Sha256, KnownVectors) {
    // FIPS 180-2 examples.
    EXPECT_EQ(hex(sha_of("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(hex(sha_of("abc")),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(hex(sha_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, ReusedAndMovedContextsMatchTheOneShot) {
    Sha256 s;
    for (int i = 0; i < 3; ++i) {  // the context is reset by begin()
        s.begin();
        s.update("ab", 2);
        s.update("c", 1);
        EXPECT_EQ(s.finish(), sha_of("abc"));
    }
    Sha256 moved = std::move(s);
    moved.begin();
    EXPECT_EQ(moved.finish(), sha_of(""));
    s.begin();  // a moved-from context still works
    s.update("abc", 3);
    EXPECT_EQ(s.finish(), sha_of("abc"));
}

}  // namespace
}  // namespace ig
