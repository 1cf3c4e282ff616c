// `bench serve` against a stub OpenAI server whose latencies are known: the
// computed TTFT / ITL / TPOT / E2E percentiles must match the stub's schedule.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "bench/load_generator.h"
#include "bench/stub_openai_server.h"
#include "support/test_support.h"

namespace ig {
namespace {

// Generous upper slack for a loaded 2-core machine; lower bounds are exact
// because the stub never answers early.
constexpr double kSlackMs = 40;

std::unique_ptr<StubOpenAiServer> stub(double ttft_ms, double itl_ms) {
    StubServerOptions so;
    so.ttft_ms = ttft_ms;
    so.itl_ms = itl_ms;
    auto s = StubOpenAiServer::start(so);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    return s.ok() ? std::move(s).value() : nullptr;
}

BenchServeOptions options(uint16_t port) {
    BenchServeOptions o;
    o.base_url = "http://127.0.0.1:" + std::to_string(port);
    o.model = "stub";
    o.progress = false;
    o.timeout_s = 30;
    o.workload.num_prompts = 8;
    o.workload.input_len = 12;
    o.workload.output_len = 6;
    o.max_concurrency = 4;
    return o;
}

void expect_stub_latencies(const nlohmann::json& j, double ttft, double itl, int n_out) {
    const double e2e = ttft + itl * (n_out - 1);
    EXPECT_EQ(j["failed"].get<int64_t>(), 0) << j.dump(2);
    EXPECT_GE(j["median_ttft_ms"].get<double>(), ttft);
    EXPECT_LE(j["median_ttft_ms"].get<double>(), ttft + kSlackMs);
    EXPECT_GE(j["p99_ttft_ms"].get<double>(), ttft);
    EXPECT_NEAR(j["median_itl_ms"].get<double>(), itl, 10);
    EXPECT_NEAR(j["mean_tpot_ms"].get<double>(), itl, 8);
    EXPECT_GE(j["median_e2el_ms"].get<double>(), e2e);
    EXPECT_LE(j["median_e2el_ms"].get<double>(), e2e + kSlackMs);
    EXPECT_GE(j["mean_tpot_ms"].get<double>(), 0);
}

TEST(BenchServeStub, PercentilesMatchKnownLatencies) {
    auto s = stub(80, 20);
    ASSERT_TRUE(s);
    std::ostringstream out;
    auto r = run_bench_serve(options(s->port()), out);
    ASSERT_TRUE(r.ok()) << r.error().message;
    const nlohmann::json& j = *r;
    EXPECT_EQ(j["completed"].get<int64_t>(), 8);
    EXPECT_EQ(j["total_output_tokens"].get<int64_t>(), 8 * 6);
    EXPECT_EQ(j["total_input_tokens"].get<int64_t>(), 8 * 12);  // the stub counts words
    EXPECT_EQ(j["requests"].size(), 8u);
    expect_stub_latencies(j, 80, 20, 6);
    // Closed loop with 4 slots: two waves of ~180 ms.
    EXPECT_GE(j["duration_s"].get<double>(), 0.36);
    EXPECT_NE(out.str().find("Time to First Token"), std::string::npos) << out.str();
    EXPECT_EQ(j["params"]["max_concurrency"].get<int>(), 4);
}

TEST(BenchServeStub, ChatEndpointAndMultiTurnResendHistory) {
    auto s = stub(30, 10);
    ASSERT_TRUE(s);
    BenchServeOptions o = options(s->port());
    o.endpoint = "/v1/chat/completions";
    o.workload.kind = "multi-turn";
    o.workload.num_sessions = 3;
    o.workload.turns = 3;
    o.workload.input_len = 10;
    o.workload.output_len = 4;
    std::ostringstream out;
    auto r = run_bench_serve(o, out);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ((*r)["completed"].get<int64_t>(), 9);
    expect_stub_latencies(*r, 30, 10, 4);
    // Each turn re-sends the conversation: 10 new words plus the previous
    // user turns and the stub's 4-word answers ("tok" x 4).
    const auto& turns = (*r)["per_turn"];
    ASSERT_EQ(turns.size(), 3u);
    EXPECT_DOUBLE_EQ(turns[0]["mean_prompt_tokens"].get<double>(), 10);
    EXPECT_DOUBLE_EQ(turns[1]["mean_prompt_tokens"].get<double>(), 24);
    EXPECT_DOUBLE_EQ(turns[2]["mean_prompt_tokens"].get<double>(), 38);
}

TEST(BenchServeStub, ThinkTimeSpacesTheTurnsOfAConversation) {
    auto s = stub(5, 5);
    ASSERT_TRUE(s);
    BenchServeOptions o = options(s->port());
    o.workload.kind = "multi-turn";
    o.workload.num_sessions = 2;
    o.workload.turns = 3;
    o.workload.output_len = 2;
    o.think_time_s = 0.15;
    std::ostringstream out;
    auto r = run_bench_serve(o, out);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ((*r)["completed"].get<int64_t>(), 6);
    for (const auto& q : (*r)["requests"])
        EXPECT_GE(q["start_s"].get<double>(), 0.15 * q["turn"].get<int>() - 1e-3) << q.dump();
    EXPECT_GE((*r)["duration_s"].get<double>(), 0.3);
    EXPECT_DOUBLE_EQ((*r)["params"]["think_time_s"].get<double>(), 0.15);
    o.think_time_s = -1;
    EXPECT_FALSE(validate(o).ok());
}

TEST(BenchServeStub, PoissonArrivalsSpreadRequests) {
    auto s = stub(0, 0);
    ASSERT_TRUE(s);
    BenchServeOptions o = options(s->port());
    o.max_concurrency = 0;
    o.request_rate = 40;
    o.workload.num_prompts = 20;
    o.workload.seed = 3;
    std::ostringstream out;
    auto r = run_bench_serve(o, out);
    ASSERT_TRUE(r.ok()) << r.error().message;
    double last = 0;
    for (const auto& q : (*r)["requests"]) last = std::max(last, q["start_s"].get<double>());
    // 19 gaps of mean 25 ms: ~0.475 s (sd ~0.11 s), far from "all at once".
    EXPECT_GT(last, 0.15);
    EXPECT_LT(last, 1.5);
}

TEST(BenchServeStub, SummaryGoodputAndTpotDefinitions) {
    auto req = [](double ttft, double e2e, int64_t out) {
        RequestResult r;
        r.ok = true;
        r.ttft_ms = ttft;
        r.e2e_ms = e2e;
        r.output_tokens = out;
        r.prompt_tokens = 10;
        r.cached_tokens = 5;
        return r;
    };
    std::vector<RequestResult> v = {req(100, 1100, 11), req(300, 1300, 101), req(50, 50, 1)};
    v.push_back(RequestResult{});
    v.back().error = "boom";
    EXPECT_DOUBLE_EQ(v[0].tpot_ms(), 100);  // (1100 - 100) / (11 - 1)
    EXPECT_DOUBLE_EQ(v[1].tpot_ms(), 10);
    EXPECT_DOUBLE_EQ(v[2].tpot_ms(), 0);
    Slo slo;
    slo.ttft_ms = 200;
    slo.tpot_ms = 50;
    const nlohmann::json j = summarize_results(v, 2.0, slo);
    EXPECT_EQ(j["completed"].get<int64_t>(), 3);
    EXPECT_EQ(j["failed"].get<int64_t>(), 1);
    EXPECT_EQ(j["good_requests"].get<int64_t>(), 1);  // only the one-token request meets both
    EXPECT_DOUBLE_EQ(j["request_goodput"].get<double>(), 0.5);
    EXPECT_DOUBLE_EQ(j["request_throughput"].get<double>(), 1.5);
    EXPECT_DOUBLE_EQ(j["output_throughput"].get<double>(), 113 / 2.0);
    EXPECT_DOUBLE_EQ(j["output_tokens_per_s"].get<double>(), 113 / 2.0);
    EXPECT_DOUBLE_EQ(j["mean_tpot_ms"].get<double>(), 55);  // one-token requests excluded
    EXPECT_DOUBLE_EQ(j["median_ttft_ms"].get<double>(), 100);
    EXPECT_DOUBLE_EQ(j["prefix_hit_rate"].get<double>(), 0.5);
    EXPECT_EQ(j["errors"][0].get<std::string>(), "boom");
    EXPECT_FALSE(j.contains("long_context"));
}

TEST(BenchServeStub, LongContextRequestsAreSummarizedApart) {
    auto req = [](int64_t prompt, int64_t cached, double ttft, int32_t turn) {
        RequestResult r;
        r.ok = true;
        r.prompt_tokens = prompt;
        r.cached_tokens = cached;
        r.ttft_ms = ttft;
        r.e2e_ms = ttft + 10;
        r.output_tokens = 2;
        r.turn = turn;
        return r;
    };
    const std::vector<RequestResult> v = {req(1900, 0, 5000, 0), req(2100, 1800, 300, 1),
                                          req(2300, 2000, 500, 2), req(2000, 0, 4000, 1)};
    const nlohmann::json j = summarize_results(v, 1.0, Slo{}, 2000);
    const auto& l = j["long_context"];
    EXPECT_EQ(l["min_prompt_tokens"].get<int64_t>(), 2000);
    EXPECT_EQ(l["requests"].get<int64_t>(), 2);  // strictly longer than 2000
    EXPECT_DOUBLE_EQ(l["mean_ttft_ms"].get<double>(), 400);
    EXPECT_DOUBLE_EQ(l["mean_prompt_tokens"].get<double>(), 2200);
    EXPECT_DOUBLE_EQ(l["prefix_hit_rate"].get<double>(), 3800.0 / 4400.0);
    ASSERT_EQ(j["per_turn"].size(), 3u);
    EXPECT_EQ(j["per_turn"][1]["requests"].get<int64_t>(), 2);
    EXPECT_DOUBLE_EQ(j["per_turn"][1]["mean_ttft_ms"].get<double>(), 2150);
    std::ostringstream table;
    print_serve_table(j, table);
    EXPECT_NE(table.str().find("Prompts over 2000 tokens"), std::string::npos) << table.str();
}

TEST(BenchServeStub, SloAndRateParsing) {
    auto slo = parse_slo("ttft=500,tpot=50.5,e2e=9000");
    ASSERT_TRUE(slo.ok());
    EXPECT_DOUBLE_EQ(*slo->tpot_ms, 50.5);
    for (const char* bad : {"ttft", "ttft=-1", "ttft=abc", "foo=3", "ttft=0"})
        EXPECT_FALSE(parse_slo(bad).ok()) << bad;
    auto rates = parse_rates("1,2.5,inf");
    ASSERT_TRUE(rates.ok());
    EXPECT_EQ(rates->size(), 3u);
    EXPECT_TRUE(std::isinf(rates->back()));
    for (const char* bad : {"", "1,,2", "0", "-1", "x"}) EXPECT_FALSE(parse_rates(bad).ok()) << bad;
}

TEST(BenchServeStub, FailuresAreReportedNotHidden) {
    auto s = stub(0, 0);
    ASSERT_TRUE(s);
    BenchServeOptions o = options(s->port());
    o.endpoint = "/v1/missing/completions";  // the stub answers 404
    std::ostringstream out;
    auto r = run_bench_serve(o, out);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("HTTP 404"), std::string::npos) << r.error().message;
    o = options(s->port());
    o.model = "";
    EXPECT_FALSE(run_bench_serve(o, out).ok());
    o = options(s->port());
    o.request_rate = -1;
    EXPECT_FALSE(run_bench_serve(o, out).ok());
}

}  // namespace
}  // namespace ig

namespace ig {
namespace {

TEST(BenchServeStub, DurationRepeatsTheWorkloadUntilTimeIsUp) {
    auto s = stub(20, 0);
    ASSERT_TRUE(s);
    BenchServeOptions o = options(s->port());
    o.workload.num_prompts = 3;
    o.workload.output_len = 1;
    o.max_concurrency = 2;
    o.duration_s = 0.4;
    std::ostringstream out;
    auto r = run_bench_serve(o, out);
    ASSERT_TRUE(r.ok()) << r.error().message;
    // ~20 ms per request, 2 at a time, for 0.4 s: far more than 3 requests.
    EXPECT_GT((*r)["completed"].get<int64_t>(), 6);
    EXPECT_EQ((*r)["failed"].get<int64_t>(), 0);
    EXPECT_GE((*r)["duration_s"].get<double>(), 0.4);
    EXPECT_LT((*r)["duration_s"].get<double>(), 3.0);
    o.max_concurrency = 0;  // unbounded and timed: refused
    EXPECT_FALSE(run_bench_serve(o, out).ok());
}

}  // namespace
}  // namespace ig
