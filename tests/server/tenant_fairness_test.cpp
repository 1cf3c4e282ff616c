// Fairness between tenants through the whole server (issue 24): a tenant
// flooding the server cannot starve another, and backlogged tenants receive
// generated tokens in proportion to their weights. The same runs with fair
// share off show what it prevents.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>

#include "support/server_fixture.h"
#include "tenants/key_store.h"

namespace ig::test {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

const std::string kKeyA = "ig-tenant-a-key-0123456789";
const std::string kKeyB = "ig-tenant-b-key-0123456789";
const std::string kKeyC = "ig-tenant-c-key-0123456789";

std::shared_ptr<const tenants::KeyStore> keys(double weight_a, const std::string& extra_a = "",
                                              const std::string& extra_c = "") {
    auto f = tenants::parse_tenants("[[tenant]]\nid = \"a\"\nweight = " + std::to_string(weight_a) +
                                        "\nkeys = [\"" + tenants::key_hash_string(kKeyA) + "\"]\n" +
                                        extra_a + "\n[[tenant]]\nid = \"b\"\nkeys = [\"" +
                                        tenants::key_hash_string(kKeyB) +
                                        "\"]\n[[tenant]]\nid = \"c\"\nkeys = [\"" +
                                        tenants::key_hash_string(kKeyC) + "\"]\n" + extra_c + "\n",
                                    "tenants.toml");
    EXPECT_TRUE(f.ok()) << f.error().message;
    return std::make_shared<const tenants::KeyStore>(std::move(f).value());
}

std::string post(const std::string& key, const std::string& body) {
    return "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
           "Content-Type: application/json\r\nAuthorization: Bearer " +
           key + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string body(int max_tokens, bool stream, int salt, int sentences = 1) {
    // Distinct prompts (the number first): each request prefills its own tokens.
    std::string prompt = std::to_string(salt) + ": Once upon a time there was a little girl";
    for (int i = 1; i < sentences; ++i) prompt += " who liked to play with her dog";
    return json{{"model", "test-model"}, {"prompt", prompt},   {"max_tokens", max_tokens},
                {"temperature", 0},      {"ignore_eos", true}, {"stream", stream}}
        .dump();
}

// Seconds to the first streamed token of a ~60-token prompt (its prefill
// is most of the time alone); -1 on failure.
double ttft(uint16_t port, const std::string& key, int salt) {
    Conn c(port);
    const auto t0 = Clock::now();
    if (!c.ok() || !c.send(post(key, body(4, true, salt, 6)))) return -1;
    if (!c.read_until(
            [](const std::string& b) { return b.find("\"text\":\"") != std::string::npos; },
            std::chrono::seconds(60)))
        return -1;
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    c.read_until([](const std::string& b) { return b.find("[DONE]") != std::string::npos; },
                 std::chrono::seconds(60));
    return s;
}

struct TtftSample {
    double mean = 0, median = 0;
};

TtftSample sample_ttft(uint16_t port, const std::string& key, int n, int salt0) {
    std::vector<double> t;
    for (int i = 0; i < n; ++i) {
        t.push_back(ttft(port, key, salt0 + i));
        EXPECT_GT(t.back(), 0);
    }
    TtftSample out;
    for (double x : t) out.mean += x / n;
    std::sort(t.begin(), t.end());
    out.median = t[t.size() / 2];
    return out;
}

// `threads` clients of `key` send non-streamed requests back to back until
// `stop`; returns the completion tokens of the answers they received.
struct Flood {
    std::atomic<bool> stop{false};
    std::atomic<int64_t> tokens{0};
    std::atomic<int64_t> errors{0};
    std::vector<std::thread> threads;

    Flood(uint16_t port, const std::string& key, int n, int max_tokens, int salt0) {
        for (int t = 0; t < n; ++t)
            threads.emplace_back([this, port, key, max_tokens, salt = salt0 + t * 10000] {
                for (int i = 0; !stop.load(); ++i) {
                    Conn c(port);
                    if (!c.ok() || !c.send(post(key, body(max_tokens, false, salt + i)))) {
                        ++errors;
                        continue;
                    }
                    const HttpReply r = c.read_response(std::chrono::seconds(60));
                    if (r.status != 200) {
                        ++errors;
                        continue;
                    }
                    if (!stop.load())
                        tokens += r.json()["usage"]["completion_tokens"].get<int64_t>();
                }
            });
    }
    void finish() {
        stop = true;
        for (std::thread& t : threads) t.join();
        threads.clear();
    }
    ~Flood() { finish(); }
};

// A model where a step's compute, not the HTTP round trip, is most of a
// TTFT (stories260K answers in well under a millisecond, where any other
// process on the machine decides the ratio): ~27M parameters, Q8_0.
const std::string& compute_bound_model() {
    static const std::string path = [] {
        static TempDir dir;
        SynthSpec spec;
        spec.n_embd = 512;
        spec.n_layer = 8;
        spec.n_head = 8;
        spec.n_head_kv = 4;
        spec.n_ff = 1536;
        const std::string p = dir.file("fairness-27m.gguf");
        ThreadPool pool(2);
        auto st = synth_model(spec, DType::Q8_0, 7, p, pool);
        EXPECT_TRUE(st.ok()) << st.error().message;
        return p;
    }();
    return path;
}

EngineConfig small_server(bool fair) {
    EngineConfig e;
    e.max_num_seqs = 8;  // fewer seats than the flood's streams: they queue
    e.tenant_fair_share = fair;
    return e;
}

struct TtftFigures {
    TtftSample alone, flooded;
};

TtftFigures ttft_under_flood(bool fair, int attempt) {
    server::ServerConfig cfg;
    cfg.keys = keys(1.0);
    cfg.request_log = false;
    auto srv = TestServer::start(cfg, small_server(fair), true, compute_bound_model());
    if (!srv) return {};
    const int salt = 100000 * attempt;
    TtftFigures f;
    sample_ttft(srv->port, kKeyB, 3, salt + 900);  // warm up
    f.alone = sample_ttft(srv->port, kKeyB, 15, salt + 1000);
    Flood a(srv->port, kKeyA, 32, 24, salt);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the queue fills
    f.flooded = sample_ttft(srv->port, kKeyB, 15, salt + 2000);
    a.finish();
    EXPECT_EQ(a.errors.load(), 0);
    return f;
}

void print(const char* what, const TtftFigures& f) {
    std::printf(
        "  %s: mean %.1f ms alone, %.1f ms flooded (%.2fx); median %.1f / %.1f ms (%.2fx)\n", what,
        f.alone.mean * 1e3, f.flooded.mean * 1e3, f.flooded.mean / f.alone.mean,
        f.alone.median * 1e3, f.flooded.median * 1e3, f.flooded.median / f.alone.median);
}

// b's TTFT under a's flood at most 2x its TTFT alone. These are milliseconds
// on a shared 2-core machine, so a run that another process disturbed is
// measured again (up to 3 times); starvation fails every time (fair share
// off: 5-50x here).
TEST(TenantFairness, AFloodingTenantDoesNotStarveAnother) {
    std::printf("tenant b's TTFT while tenant a floods with 32 streams (8 seats):\n");
    bool ok = false;
    for (int attempt = 0; attempt < 3 && !ok; ++attempt) {
        const TtftFigures on = ttft_under_flood(true, attempt);
        print("fair share on ", on);
        ok = on.flooded.median <= 2.0 * on.alone.median;
    }
    print("fair share off", ttft_under_flood(false, 9));
    EXPECT_TRUE(ok) << "b's median TTFT under the flood was above 2x its TTFT alone in 3 runs";
}

double share_of_a(double weight_a, bool fair) {
    server::ServerConfig cfg;
    cfg.keys = keys(weight_a);
    cfg.request_log = false;
    auto srv = TestServer::start(cfg, small_server(fair));
    if (!srv) return -1;
    // a sends twice as many concurrent requests as b; both always have some
    // waiting (8 seats).
    Flood a(srv->port, kKeyA, 16, 16, 0);
    Flood b(srv->port, kKeyB, 8, 16, 500000);
    std::this_thread::sleep_for(std::chrono::seconds(6));
    a.stop = true;
    b.stop = true;
    a.finish();
    b.finish();
    EXPECT_EQ(a.errors.load() + b.errors.load(), 0);
    const double ta = static_cast<double>(a.tokens.load()),
                 tb = static_cast<double>(b.tokens.load());
    EXPECT_GT(ta + tb, 0);
    return ta / (ta + tb);
}

TEST(TenantFairness, BackloggedTenantsShareTokensByWeight) {
    for (const double w : {1.0, 3.0}) {
        const double want = w / (w + 1.0);
        const double on = share_of_a(w, true);
        const double off = share_of_a(w, false);
        std::printf(
            "weights %.0f:1, tenant a (16 streams) vs b (8 streams): a's share of "
            "generated tokens %.3f with fair share (weight share %.3f), %.3f without\n",
            w, on, want, off);
        EXPECT_NEAR(on, want, 0.1 * want) << "weights " << w << ":1";
        EXPECT_NEAR(1 - on, 1 - want, 0.1 * (1 - want)) << "weights " << w << ":1";
    }
}

}  // namespace
}  // namespace ig::test
