// `infergrid bench serve` end to end, against the stub server and a live
// in-process `infergrid serve`.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "bench/stub_openai_server.h"
#include "support/server_fixture.h"
#include "support/test_support.h"

namespace ig {
namespace {

// The CLI end to end: a sweep writes one JSON and an SVG.
TEST(BenchServeStub, CliSweepWritesJsonAndSvg) {
    StubServerOptions so;
    so.ttft_ms = 5;
    so.itl_ms = 2;
    auto started = StubOpenAiServer::start(so);
    ASSERT_TRUE(started.ok()) << started.error().message;
    const auto& s = *started;
    test::TempDir dir;
    const std::string json = dir.file("out.json"), svg = dir.file("plot.svg");
    std::string out;
    const std::string cmd =
        test::binary() + " bench serve --base-url http://127.0.0.1:" + std::to_string(s->port()) +
        " --model stub --workload random --input-len 8 --output-len 4 "
        "--num-prompts 6 --sweep 50,inf --slo ttft=1000 --json " +
        json + " --svg " + svg + " 2>&1";
    ASSERT_EQ(test::run(cmd, &out), 0) << out;
    std::ifstream jf(json);
    auto j = nlohmann::json::parse(jf, nullptr, false);
    ASSERT_FALSE(j.is_discarded());
    ASSERT_EQ(j["sweep"].size(), 2u);
    EXPECT_EQ(j["sweep"][0]["completed"].get<int>(), 6);
    EXPECT_EQ(j["sweep"][1]["good_requests"].get<int>(), 6);
    EXPECT_EQ(j["sweep"][1]["params"]["request_rate"], "inf");
    const std::string plot = test::read_text(svg);
    EXPECT_EQ(plot.rfind("<svg", 0), 0u);
    EXPECT_NE(plot.find("<polyline"), std::string::npos);
    EXPECT_NE(plot.find("p99 ttft"), std::string::npos);

    EXPECT_EQ(test::run(test::binary() + " bench serve --model m --base-url ftp://x 2>&1", &out),
              1);
    EXPECT_NE(out.find("--base-url"), std::string::npos) << out;
    EXPECT_EQ(test::run(test::binary() + " bench serve --model m --api nope 2>&1", &out), 1);
    EXPECT_NE(out.find("--api"), std::string::npos) << out;
    EXPECT_EQ(test::run(test::binary() + " bench serve --model m --svg x.svg 2>&1", &out), 1);
}

// The command the lead runs, against the live server.
TEST(BenchServeLive, CliOneCommand) {
    auto s = test::TestServer::start();
    ASSERT_TRUE(s);
    test::TempDir dir;
    const std::string json = dir.file("out.json");
    std::string out;
    const std::string cmd = test::binary() +
                            " bench serve --base-url http://127.0.0.1:" + std::to_string(s->port) +
                            " --model " + s->model_name +
                            " --workload random --input-len 20 --output-len 8 --num-prompts 4 "
                            "--max-concurrency 2 --json " +
                            json + " 2>&1";
    ASSERT_EQ(test::run(cmd, &out), 0) << out;
    EXPECT_NE(out.find("Successful requests:"), std::string::npos) << out;
    std::ifstream f(json);
    auto j = nlohmann::json::parse(f, nullptr, false);
    ASSERT_FALSE(j.is_discarded());
    EXPECT_EQ(j["completed"].get<int>(), 4);
    EXPECT_EQ(j["total_output_tokens"].get<int>(), 32);
    for (const char* k :
         {"mean_ttft_ms", "median_ttft_ms", "p90_ttft_ms", "p95_ttft_ms", "p99_ttft_ms",
          "max_ttft_ms", "mean_tpot_ms", "p99_itl_ms", "median_e2el_ms", "request_throughput",
          "output_tokens_per_s", "prefix_hit_rate"})
        EXPECT_TRUE(j.contains(k)) << k;
}

}  // namespace
}  // namespace ig
