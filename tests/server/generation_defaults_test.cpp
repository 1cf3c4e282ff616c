// generation_config.json as the defaults of requests that leave sampling
// fields out; what a request sets wins; unsupported search modes refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "server/generation_defaults.h"
#include "server/openai_request.h"
#include "support/test_support.h"

namespace ig::server {
namespace {

std::string folder_with(test::TempDir& dir, const std::string& gen) {
    const std::string f = dir.file("m");
    std::filesystem::create_directory(f);
    std::ofstream(f + "/generation_config.json") << gen;
    return f;
}

TEST(GenerationDefaults, AFileIsNotAFolder) {
    test::TempDir dir;
    auto d = generation_defaults(dir.file("x.gguf"));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->temperature, 1.0f);
    EXPECT_EQ(d->top_p, 1.0f);
}

TEST(GenerationDefaults, FillFieldsTheRequestLeavesOut) {
    test::TempDir dir;
    auto d = generation_defaults(folder_with(
        dir, R"({"do_sample":true,"temperature":0.6,"top_p":0.9,"top_k":20,"min_p":0.05,)"
             R"("repetition_penalty":1.1,"eos_token_id":[2,3]})"));
    ASSERT_TRUE(d.ok()) << d.error().message;
    RequestBounds b;
    b.n_vocab = 100;
    b.defaults = *d;
    ParsedRequest pr;
    ASSERT_FALSE(parse_request(nlohmann::json{{"prompt", "hi"}}, Endpoint::Completions, b, pr));
    EXPECT_FLOAT_EQ(pr.sampling.temperature, 0.6f);
    EXPECT_FLOAT_EQ(pr.sampling.top_p, 0.9f);
    EXPECT_EQ(pr.sampling.top_k, 20);
    EXPECT_FLOAT_EQ(pr.sampling.min_p, 0.05f);
    EXPECT_FLOAT_EQ(pr.sampling.repetition_penalty, 1.1f);
    ParsedRequest own;
    ASSERT_FALSE(parse_request(nlohmann::json{{"prompt", "hi"}, {"temperature", 0}, {"top_k", 5}},
                               Endpoint::Completions, b, own));
    EXPECT_EQ(own.sampling.temperature, 0.0f);
    EXPECT_EQ(own.sampling.top_k, 5);
    EXPECT_FLOAT_EQ(own.sampling.top_p, 0.9f);
}

TEST(GenerationDefaults, DoSampleFalseIsGreedy) {
    test::TempDir dir;
    auto d = generation_defaults(folder_with(dir, R"({"do_sample":false,"temperature":0.7})"));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->temperature, 0.0f);
}

TEST(GenerationDefaults, RefusesWhatRequestsCannotExpress) {
    test::TempDir dir;
    auto beams = generation_defaults(folder_with(dir, R"({"num_beams":4})"));
    ASSERT_FALSE(beams.ok());
    EXPECT_NE(beams.error().message.find("num_beams"), std::string::npos);
    auto bad = generation_defaults(folder_with(dir, R"({"temperature":"hot"})"));
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("temperature"), std::string::npos);
    EXPECT_FALSE(generation_defaults(folder_with(dir, "[1")).ok());
}

}  // namespace
}  // namespace ig::server
