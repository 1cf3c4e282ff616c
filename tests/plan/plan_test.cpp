// `infergrid plan` arithmetic on hand-computed cases, and refusals.
#include <gtest/gtest.h>

#include <fstream>

#include "plan/capacity_plan.h"
#include "support/test_support.h"

namespace ig {
namespace {

PlanInputs llama70b() {
    PlanInputs in;
    in.layers = 80;
    in.kv_heads = 8;
    in.head_dim = 128;
    in.params = 70e9;
    in.dtype = "f16";
    return in;
}

TEST(Plan, KvBytesPerTokenLlama70B) {
    auto p = make_plan(llama70b());
    ASSERT_TRUE(p.ok()) << p.error().message;
    // 2 x 80 x 8 x 128 x 2 bytes
    EXPECT_DOUBLE_EQ((*p)["kv_bytes_per_token"].get<double>(), 327680);
    EXPECT_NE((*p)["kv_bytes_per_token_formula"].get<std::string>().find("2 (K and V) x 80 layers"),
              std::string::npos);
    EXPECT_DOUBLE_EQ((*p)["model"]["weight_bytes"].get<double>(), 140e9);
    PlanInputs q = llama70b();
    q.kv_dtype = "f32";
    q.dtype = "q8_0";  // 34 bytes per 32 weights
    p = make_plan(q);
    ASSERT_TRUE(p.ok());
    EXPECT_DOUBLE_EQ((*p)["kv_bytes_per_token"].get<double>(), 655360);
    EXPECT_DOUBLE_EQ((*p)["model"]["weight_bytes"].get<double>(), 70e9 * 34 / 32);
}

// Issue 23 item 4: plan sized a Q8_0 KV cache that serve refuses to build.
TEST(Plan, RefusesAKvTypeServeCannotHold) {
    for (const char* t : {"q8_0", "bf16", "q4_0"}) {
        PlanInputs q = llama70b();
        q.kv_dtype = t;
        auto p = make_plan(q);
        ASSERT_FALSE(p.ok()) << t;
        EXPECT_NE(p.error().message.find("--kv-type"), std::string::npos) << p.error().message;
    }
}

TEST(Plan, ReplicasMemoryAndWorkingSet) {
    PlanInputs in = llama70b();
    in.qps = 10;
    in.output_tokens = 210;   // 2100 output tokens/s needed
    in.prompt_tokens = 1838;  // context 2048
    in.tokens_per_s = 1000;   // 2.1 replicas, x1.3 = 2.73 -> 3
    in.concurrency = 16;
    in.memory_bytes = 160e9;
    in.distinct_prefixes = 100;
    in.prefix_tokens = 1000;
    in.hit_rate = 0.8;
    auto p = make_plan(in);
    ASSERT_TRUE(p.ok()) << p.error().message;
    const auto& j = *p;
    EXPECT_DOUBLE_EQ(j["required_output_tokens_per_s"].get<double>(), 2100);
    EXPECT_NEAR(j["replicas_exact"].get<double>(), 2.1, 1e-12);
    EXPECT_EQ(j["replicas"].get<int64_t>(), 3);
    EXPECT_EQ(j["context"].get<int64_t>(), 2048);
    EXPECT_DOUBLE_EQ(j["kv_bytes_per_sequence"].get<double>(), 327680.0 * 2048);
    EXPECT_DOUBLE_EQ(j["kv_bytes_for_concurrency"].get<double>(), 327680.0 * 2048 * 16);
    EXPECT_DOUBLE_EQ(j["memory_bytes_per_replica"].get<double>(), 140e9 + 327680.0 * 2048 * 16);
    // (160e9 - 140e9) / (327680 x 2048) = 29.8 -> 29 sequences
    EXPECT_EQ(j["max_sequences_per_replica"].get<int64_t>(), 29);
    EXPECT_DOUBLE_EQ(j["prefix_working_set"]["tier_bytes"].get<double>(),
                     0.8 * 100 * 1000 * 327680.0);
    // Exactly on an integer after headroom: no extra replica.
    in.qps = 1;
    in.output_tokens = 100;
    in.tokens_per_s = 65;  // 100 / 65 x 1.3 = 2.0
    p = make_plan(in);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ((*p)["replicas"].get<int64_t>(), 2);
}

TEST(Plan, RefusesNonsense) {
    auto msg = [](PlanInputs in) {
        auto p = make_plan(in);
        return p.ok() ? std::string() : p.error().message;
    };
    PlanInputs in = llama70b();
    in.layers = -80;
    EXPECT_NE(msg(in).find("--layers"), std::string::npos);
    in = llama70b();
    in.kv_heads = 0;
    EXPECT_NE(msg(in).find("--kv-heads"), std::string::npos);
    in = llama70b();
    in.head_dim.reset();
    EXPECT_NE(msg(in).find("--head-dim"), std::string::npos);
    in = llama70b();
    in.qps = 5;  // no output tokens, no per-replica rate
    EXPECT_NE(msg(in).find("--tokens-per-s"), std::string::npos);
    in = llama70b();
    in.headroom = 0.5;
    EXPECT_NE(msg(in).find("--headroom"), std::string::npos);
    in = llama70b();
    in.kv_dtype = "q3_bogus";
    EXPECT_NE(msg(in).find("q3_bogus"), std::string::npos);
    in = llama70b();
    in.memory_bytes = 1e9;  // smaller than the weights
    in.context = 100;
    EXPECT_NE(msg(in).find("does not hold the weights"), std::string::npos);
    in = llama70b();
    in.hit_rate = 1.5;
    EXPECT_NE(msg(in).find("--hit-rate"), std::string::npos);
    in = llama70b();
    in.model_path = "/nonexistent/m.gguf";
    EXPECT_NE(msg(in).find("/nonexistent/m.gguf"), std::string::npos);
}

TEST(Plan, FromGgufModelFile) {
    const std::string m = test::shared_file("models/stories260K.gguf");
    if (!test::exists(m)) GTEST_SKIP() << "needs ../shared";
    PlanInputs in;
    in.model_path = m;
    auto p = make_plan(in);
    ASSERT_TRUE(p.ok()) << p.error().message;
    // stories260K: 5 layers, 4 KV heads, head dim 8; f16 KV -> 2*5*4*8*2 = 640
    EXPECT_DOUBLE_EQ((*p)["kv_bytes_per_token"].get<double>(), 640);
    EXPECT_GT((*p)["model"]["weight_bytes"].get<double>(), 0);
}

}  // namespace
}  // namespace ig

namespace ig {
namespace {

TEST(Plan, TrafficAndReplicaRateFromBenchJson) {
    test::TempDir dir;
    const std::string run = dir.file("run.json"), sweep = dir.file("sweep.json");
    std::ofstream(run) << R"({"completed": 10, "request_throughput": 2.0,
        "total_input_tokens": 2000, "total_output_tokens": 640})";
    std::ofstream(sweep) << R"({"sweep": [
        {"output_throughput": 100, "p99_ttft_ms": 200, "p99_tpot_ms": 40},
        {"output_throughput": 300, "p99_ttft_ms": 900, "p99_tpot_ms": 60},
        {"output_throughput": 500, "p99_ttft_ms": 5000, "p99_tpot_ms": 90}]})";
    PlanInputs in = llama70b();
    in.from_bench = run;
    in.replica_bench = sweep;
    in.slo_ttft_ms = 1000;
    in.slo_tpot_ms = 70;
    auto p = make_plan(in);
    ASSERT_TRUE(p.ok()) << p.error().message;
    EXPECT_DOUBLE_EQ((*p)["traffic"]["qps"].get<double>(), 2.0);
    EXPECT_DOUBLE_EQ((*p)["traffic"]["output_tokens"].get<double>(), 64);
    EXPECT_DOUBLE_EQ((*p)["traffic"]["prompt_tokens"].get<double>(), 200);
    EXPECT_EQ((*p)["context"].get<int64_t>(), 264);
    // Best run within the SLO: 300 tok/s; 2 x 64 = 128 needed -> ceil(0.4267 x 1.3) = 1
    EXPECT_DOUBLE_EQ((*p)["tokens_per_s_per_replica"].get<double>(), 300);
    EXPECT_EQ((*p)["replicas"].get<int64_t>(), 1);
    in.slo_ttft_ms = 100;  // nothing meets it
    p = make_plan(in);
    ASSERT_FALSE(p.ok());
    EXPECT_NE(p.error().message.find("no run meets the SLO"), std::string::npos);
}

}  // namespace
}  // namespace ig
