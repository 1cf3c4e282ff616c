// The disk KV tier across a crash: a multi-turn workload, SIGKILL, a restart
// on the same directory, and the next turns get prefix hits from disk with
// the same greedy text as a server that recomputes everything. Then flipped
// and truncated block files: still the same text.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/child_server.h"
#include "support/http_client.h"
#include "support/metrics_text.h"
#include "support/server_fixture.h"

namespace ig::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct Turn {
    std::string text;
    int64_t cached = 0;
};

Turn complete(uint16_t port, const std::string& prompt) {
    json body = {{"prompt", prompt}, {"max_tokens", 12}, {"temperature", 0}, {"ignore_eos", true}};
    HttpReply r = fetch(port, "POST", "/v1/completions", body.dump(), 60s);
    EXPECT_EQ(r.status, 200) << r.body;
    const json j = r.json();
    Turn t;
    if (r.status != 200 || !j.is_object()) return t;
    t.text = j["choices"][0]["text"].get<std::string>();
    t.cached = j["usage"]["prompt_tokens_details"]["cached_tokens"].get<int64_t>();
    return t;
}

std::vector<std::string> serve_args(const std::string& model, const std::string& disk_dir) {
    std::vector<std::string> a = {
        binary(),    "serve", "--model",     model,   "--port",         "0",   "--threads", "2",
        "--kv-type", "f16",   "--log-level", "error", "--kv-budget-mb", "0.25"};
    if (disk_dir.empty()) {
        a.push_back("--no-prefix-cache");
    } else {
        a.insert(a.end(), {"--kv-disk-dir", disk_dir, "--kv-disk-bytes", "64MB"});
    }
    return a;
}

int count_blocks(const fs::path& dir) {
    int n = 0;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        n += it->path().extension() == ".kvb";
    return n;
}

TEST(KvRestartTest, SigkillThenRestartKeepsDiskHits) {
    const std::string model = server_model_path();
    if (model.empty()) GTEST_SKIP() << "no model";
    TempDir dir;
    const std::string disk = dir.file("kv");

    // Four conversations, each several blocks long; the pool holds about one.
    std::vector<std::string> convs;
    const char* words[] = {"Lily", "Tom", "a dog", "the sun"};
    for (int c = 0; c < 4; ++c) {
        std::string p;
        for (int i = 0; i < 12; ++i)
            p += std::string("Once upon a time ") + words[c] + " went to the park number " +
                 std::to_string(c * 100 + i) + ". ";
        convs.push_back(p);
    }

    ChildServer a;
    ASSERT_TRUE(a.start(serve_args(model, disk)));
    for (int turn = 0; turn < 2; ++turn)
        for (auto& p : convs) p += complete(a.port, p).text + " And then";
    // Evicted blocks reach the disk in the background: wait for some.
    for (int i = 0; i < 200 && count_blocks(disk) < 8; ++i) std::this_thread::sleep_for(10ms);
    std::this_thread::sleep_for(200ms);
    ASSERT_GE(count_blocks(disk), 8);
    a.kill_hard();

    // The reference: a server that recomputes every prompt.
    ChildServer ref;
    ASSERT_TRUE(ref.start(serve_args(model, "")));
    std::vector<std::string> expected;
    for (const auto& p : convs) expected.push_back(complete(ref.port, p).text);

    ChildServer b;
    ASSERT_TRUE(b.start(serve_args(model, disk)));
    int64_t cached = 0;
    for (size_t i = 0; i < convs.size(); ++i) {
        const Turn t = complete(b.port, convs[i]);
        EXPECT_EQ(t.text, expected[i]) << i;
        cached += t.cached;
    }
    EXPECT_GE(cached, 256) << "prompt tokens served from disk after the restart";
    // The same hits, as /metrics reports them per tier.
    const HttpReply m = fetch(b.port, "GET", "/metrics");
    ASSERT_EQ(m.status, 200);
    const Exposition e = parse_exposition(m.body);
    for (const std::string& err : e.errors) ADD_FAILURE() << err;
    EXPECT_GE(e.sum("infergrid_kv_tier_hit_tokens_total", {{"tier", "disk"}}), 256);
    EXPECT_GT(e.sum("infergrid_kv_tier_read_bytes_total", {{"tier", "disk"}}), 0);
    EXPECT_GT(e.sum("infergrid_kv_tier_load_seconds_count", {{"tier", "disk"}}), 0);
    EXPECT_GT(e.sum("infergrid_kv_tier_blocks", {{"tier", "disk"}}), 0);
    b.kill_hard();

    // Damage every block file one way or another; answers stay right.
    int n = 0;
    for (const auto& f : fs::directory_iterator(disk)) {
        if (f.path().extension() != ".kvb") continue;
        const auto size = fs::file_size(f.path());
        if (++n % 2 == 0) {
            fs::resize_file(f.path(), size - 1 - static_cast<uintmax_t>(n) % 100);
        } else {
            std::fstream io(f.path(), std::ios::in | std::ios::out | std::ios::binary);
            io.seekp(static_cast<std::streamoff>(n % 2 == 1 && n % 3 == 0 ? 40 : size - 7));
            io.put('\x5a');
            io.seekp(static_cast<std::streamoff>(size / 2));
            io.put('\x13');
        }
    }
    ChildServer c;
    ASSERT_TRUE(c.start(serve_args(model, disk)));
    for (size_t i = 0; i < convs.size(); ++i)
        EXPECT_EQ(complete(c.port, convs[i]).text, expected[i]);
}

}  // namespace
}  // namespace ig::test
