// `bench engine` writes the same flat latency names as `bench serve`.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace ig {
namespace {

TEST(BenchEngineJson, SharesLatencyNamesWithBenchServe) {
    test::TempDir dir;
    std::string model = test::shared_file("models/stories260K.gguf"), out;
    if (!test::exists(model)) {
        model = dir.file("m.gguf");
        ASSERT_EQ(
            test::run(test::binary() + " synth --preset tiny-llama --out " + model + " 2>&1", &out),
            0)
            << out;
    }
    const std::string json = dir.file("e.json");
    ASSERT_EQ(test::run(test::binary() + " bench engine -m " + model +
                            " --workload shared-prefix --num-requests 2 --prompt-len 48 "
                            "--output-len 4 -t 1 --json " +
                            json + " 2>&1",
                        &out),
              0)
        << out;
    std::ifstream f(json);
    auto j = nlohmann::json::parse(f, nullptr, false);
    ASSERT_FALSE(j.is_discarded());
    for (const char* k :
         {"mean_ttft_ms", "median_ttft_ms", "p90_ttft_ms", "p95_ttft_ms", "p99_ttft_ms",
          "max_ttft_ms", "mean_tpot_ms", "p99_tpot_ms", "mean_itl_ms", "p99_itl_ms",
          "median_e2el_ms", "output_tokens_per_s", "prefix_hit_rate"})
        EXPECT_TRUE(j.contains(k)) << k;
    EXPECT_GE(j["p99_ttft_ms"].get<double>(), j["median_ttft_ms"].get<double>());
    EXPECT_GE(j["max_e2el_ms"].get<double>(), j["max_ttft_ms"].get<double>());
    EXPECT_GT(j["mean_tpot_ms"].get<double>(), 0);
}

}  // namespace
}  // namespace ig
