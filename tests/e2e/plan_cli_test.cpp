// `infergrid plan` end to end: the table, --json, and errors naming the flag.
#include <gtest/gtest.h>

#include <string>

#include "support/test_support.h"

namespace ig {
namespace {

TEST(Plan, CliTableJsonAndBadFlags) {
    test::TempDir dir;
    std::string out;
    const std::string bin = test::binary() + " plan ";
    ASSERT_EQ(test::run(bin +
                            "--layers 80 --kv-heads 8 --head-dim 128 --params 70e9 --qps 10 "
                            "--output-tokens 210 --tokens-per-s 1000 --json " +
                            dir.file("p.json") + " 2>&1",
                        &out),
              0)
        << out;
    EXPECT_NE(out.find("327680"), std::string::npos) << out;
    EXPECT_NE(out.find("replicas"), std::string::npos) << out;
    EXPECT_TRUE(test::exists(dir.file("p.json")));
    EXPECT_NE(test::run(bin + "--layers abc --kv-heads 8 --head-dim 128 2>&1", &out), 0) << out;
    EXPECT_NE(out.find("--layers"), std::string::npos) << out;
    EXPECT_NE(test::run(bin + "--layers 80 --kv-heads -8 --head-dim 128 2>&1", &out), 0);
    EXPECT_NE(out.find("--kv-heads"), std::string::npos) << out;
    EXPECT_NE(test::run(bin + "--kv-heads 8 --head-dim 128 2>&1", &out), 0);
    EXPECT_NE(out.find("--layers"), std::string::npos) << out;
    EXPECT_NE(test::run(bin + "--layers 80 --kv-heads 8 --head-dim 128 --qps 0 2>&1", &out), 0);
    EXPECT_NE(out.find("--qps"), std::string::npos) << out;
}

}  // namespace
}  // namespace ig
