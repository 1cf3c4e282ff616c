// `bench serve` against a live `infergrid serve` (in process, stories260K or
// a synthetic tiny llama): every request completes with the asked output
// length, and multi-turn sessions hit the server's prefix cache.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "bench/load_generator.h"
#include "support/server_fixture.h"

namespace ig {
namespace {

BenchServeOptions options(const test::TestServer& s) {
    BenchServeOptions o;
    o.base_url = "http://127.0.0.1:" + std::to_string(s.port);
    o.model = s.model_name;
    o.progress = false;
    o.timeout_s = 60;
    o.max_concurrency = 2;
    o.workload.num_prompts = 6;
    o.workload.input_len = 16;
    o.workload.output_len = 8;
    return o;
}

TEST(BenchServeLive, RandomCompletionsAgainstInfergridServe) {
    auto s = test::TestServer::start();
    ASSERT_TRUE(s);
    std::ostringstream out;
    BenchServeOptions o = options(*s);
    o.warmup = 1;
    auto r = run_bench_serve(o, out);
    ASSERT_TRUE(r.ok()) << r.error().message;
    const nlohmann::json& j = *r;
    EXPECT_EQ(j["completed"].get<int64_t>(), 6) << j.dump(2);
    EXPECT_EQ(j["failed"].get<int64_t>(), 0);
    EXPECT_EQ(j["total_output_tokens"].get<int64_t>(), 6 * 8);  // ignore_eos + max_tokens
    EXPECT_GE(j["total_input_tokens"].get<int64_t>(), 6 * 16);  // server-side token counts
    EXPECT_GT(j["median_ttft_ms"].get<double>(), 0);
    EXPECT_GT(j["mean_itl_ms"].get<double>(), 0);
    EXPECT_GT(j["output_throughput"].get<double>(), 0);
    EXPECT_GE(j["p99_e2el_ms"].get<double>(), j["median_ttft_ms"].get<double>());
    EXPECT_TRUE(s->wait_blocks_free());
}

TEST(BenchServeLive, MultiTurnChatHitsThePrefixCache) {
    auto s = test::TestServer::start();
    ASSERT_TRUE(s);
    BenchServeOptions o = options(*s);
    o.endpoint = "/v1/chat/completions";
    o.workload.kind = "multi-turn";
    o.workload.num_sessions = 2;
    o.workload.turns = 3;
    o.workload.input_len = 12;
    o.workload.output_len = 6;
    std::ostringstream out;
    auto r = run_bench_serve(o, out);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ((*r)["completed"].get<int64_t>(), 6) << r->dump(2);
    const auto& turns = (*r)["per_turn"];
    ASSERT_EQ(turns.size(), 3u);
    EXPECT_GT(turns[2]["mean_prompt_tokens"].get<double>(),
              turns[0]["mean_prompt_tokens"].get<double>());
    // Later turns re-send the conversation, which the server has cached.
    EXPECT_GT(turns[2]["prefix_hit_rate"].get<double>(), 0) << r->dump(2);
    EXPECT_GT((*r)["cached_tokens"].get<int64_t>(), 0);
}

// Completions endpoint: the first turn is framed like the history the next
// turns re-send, so already the second turn hits the first one's blocks.
TEST(BenchServeLive, MultiTurnCompletionsHitFromTheSecondTurn) {
    auto s = test::TestServer::start();
    ASSERT_TRUE(s);
    BenchServeOptions o = options(*s);
    o.workload.kind = "multi-turn";
    o.workload.num_sessions = 1;
    o.workload.turns = 2;
    o.workload.input_len = 40;
    o.workload.output_len = 4;
    std::ostringstream out;
    auto r = run_bench_serve(o, out);
    ASSERT_TRUE(r.ok()) << r.error().message;
    const auto& turns = (*r)["per_turn"];
    ASSERT_EQ(turns.size(), 2u);
    EXPECT_GT(turns[0]["mean_prompt_tokens"].get<double>(), 32) << r->dump(2);
    EXPECT_GT(turns[1]["prefix_hit_rate"].get<double>(), 0) << r->dump(2);
}

}  // namespace
}  // namespace ig
