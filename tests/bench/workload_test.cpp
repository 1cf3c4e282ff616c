// Workloads of `bench serve`: reproducible, shaped as asked, bad input refused.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "bench/workload.h"
#include "support/test_support.h"

namespace ig {
namespace {

size_t words(const std::string& s) {
    std::istringstream in(s);
    size_t n = 0;
    for (std::string w; in >> w;) ++n;
    return n;
}

TEST(BenchWorkload, RandomIsReproducibleAndInRange) {
    WorkloadOptions o;
    o.num_prompts = 20;
    o.input_len = 100;
    o.output_len = 50;
    o.range_ratio = 0.2;
    o.seed = 7;
    auto a = make_workload(o), b = make_workload(o);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_EQ(a->size(), 20u);
    std::set<size_t> lens;
    for (size_t i = 0; i < a->size(); ++i) {
        const Turn& t = (*a)[i].turns.at(0);
        EXPECT_EQ(t.user, (*b)[i].turns[0].user);
        EXPECT_GE(words(t.user), 80u);
        EXPECT_LE(words(t.user), 120u);
        EXPECT_GE(t.output_len, 40);
        EXPECT_LE(t.output_len, 60);
        lens.insert(words(t.user));
    }
    EXPECT_GT(lens.size(), 3u);  // the range ratio does spread lengths
    o.seed = 8;
    auto c = make_workload(o);
    ASSERT_TRUE(c.ok());
    EXPECT_NE((*c)[0].turns[0].user, (*a)[0].turns[0].user);
    o.range_ratio = 0;
    c = make_workload(o);
    for (const auto& s : *c) {
        EXPECT_EQ(words(s.turns[0].user), 100u);
        EXPECT_EQ(s.turns[0].output_len, 50);
    }
}

TEST(BenchWorkload, SharedPrefixAndMultiTurnShapes) {
    WorkloadOptions o;
    o.kind = "shared-prefix";
    o.num_prefixes = 3;
    o.prefix_len = 40;
    o.questions_per_prefix = 5;
    o.question_len = 8;
    auto w = make_workload(o);
    ASSERT_TRUE(w.ok());
    ASSERT_EQ(w->size(), 15u);
    std::set<std::string> prefixes;
    for (const auto& s : *w) {
        prefixes.insert(s.turns.at(0).system);
        EXPECT_EQ(words(s.turns[0].system), 40u);
        EXPECT_EQ(words(s.turns[0].user), 8u);
    }
    EXPECT_EQ(prefixes.size(), 3u);

    o.kind = "multi-turn";
    o.num_sessions = 4;
    o.turns = 3;
    o.input_len = 10;
    w = make_workload(o);
    ASSERT_TRUE(w.ok());
    ASSERT_EQ(w->size(), 4u);
    for (const auto& s : *w) EXPECT_EQ(s.turns.size(), 3u);

    o.first_turn_len = 25;  // a long opening turn, then short follow-ups
    w = make_workload(o);
    ASSERT_TRUE(w.ok());
    for (const auto& s : *w) {
        EXPECT_EQ(words(s.turns.at(0).user), 25u);
        EXPECT_EQ(words(s.turns.at(1).user), 10u);
    }
    o.first_turn_len = -1;
    EXPECT_FALSE(validate(o).ok());
}

TEST(BenchWorkload, DatasetFile) {
    test::TempDir dir;
    const std::string f = dir.file("p.jsonl");
    std::ofstream(f) << "{\"prompt\": \"hello there\", \"output_len\": 5}\n\n{\"prompt\": \"x\"}\n";
    WorkloadOptions o;
    o.kind = "dataset";
    o.dataset = f;
    o.num_prompts = 3;
    o.output_len = 9;
    auto w = make_workload(o);
    ASSERT_TRUE(w.ok()) << w.error().message;
    ASSERT_EQ(w->size(), 3u);
    EXPECT_EQ((*w)[0].turns[0].user, "hello there");
    EXPECT_EQ((*w)[0].turns[0].output_len, 5);
    EXPECT_EQ((*w)[1].turns[0].output_len, 9);
    EXPECT_EQ((*w)[2].turns[0].user, "hello there");  // the file repeats

    std::ofstream(f) << "{\"prompt\": 3}\n";
    w = make_workload(o);
    ASSERT_FALSE(w.ok());
    EXPECT_NE(w.error().message.find(":1:"), std::string::npos) << w.error().message;
    std::ofstream(f) << "{\"prompt\": \"a\", \"output_len\": -2}\n";
    EXPECT_FALSE(make_workload(o).ok());
    std::ofstream(f) << "not json\n";
    EXPECT_FALSE(make_workload(o).ok());
    o.dataset = dir.file("missing.jsonl");
    EXPECT_FALSE(make_workload(o).ok());
}

TEST(BenchWorkload, RefusesNonsense) {
    auto bad = [](auto edit) {
        WorkloadOptions o;
        edit(o);
        auto st = validate(o);
        return st.ok() ? std::string() : st.error().message;
    };
    EXPECT_NE(bad([](auto& o) { o.kind = "nope"; }).find("--workload"), std::string::npos);
    EXPECT_NE(bad([](auto& o) { o.num_prompts = 0; }).find("--num-prompts"), std::string::npos);
    EXPECT_NE(bad([](auto& o) { o.output_len = -1; }).find("--output-len"), std::string::npos);
    EXPECT_NE(bad([](auto& o) { o.range_ratio = 1.5; }).find("--range-ratio"), std::string::npos);
    EXPECT_NE(bad([](auto& o) { o.kind = "dataset"; }).find("--dataset"), std::string::npos);
    EXPECT_NE(bad([](auto& o) {
                  o.kind = "multi-turn";
                  o.turns = 0;
              }).find("--turns"),
              std::string::npos);
}

}  // namespace
}  // namespace ig
