// The disk KV tier across a crash: a multi-turn workload, SIGKILL, a restart
// on the same directory, and the next turns get prefix hits from disk with
// the same greedy text as a server that recomputes everything. Then flipped
// and truncated block files: still the same text. And FIFOs named like
// blocks (a reader of one waits forever): the server still gets ready,
// answers, and ends on SIGTERM.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/child_server.h"
#include "support/http_client.h"
#include "support/hung_reads.h"
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

// A restarted server is ready before it has indexed its disk blocks (the
// scan runs in the background): wait for the scan, so hits are certain.
void wait_disk_scanned(uint16_t port) {
    for (int i = 0; i < 500; ++i) {
        const HttpReply m = fetch(port, "GET", "/metrics");
        const Exposition e = parse_exposition(m.body);
        if (m.status == 200 && e.has("infergrid_kv_tier_scanning") &&
            e.sum("infergrid_kv_tier_scanning", {{"tier", "disk"}}) == 0)
            return;
        std::this_thread::sleep_for(10ms);
    }
    ADD_FAILURE() << "the disk tier's scan did not end";
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
    wait_disk_scanned(b.port);
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

// Opens a FIFO for writing and closes it: a reader blocked on it goes on.
void poke_fifo(const std::string& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) ::close(fd);
}

TEST(KvRestartTest, FifosNamedLikeBlocksHangNothing) {
    const std::string model = server_model_path();
    if (model.empty()) GTEST_SKIP() << "no model";
    TempDir dir;
    const std::string disk = dir.file("kv");
    std::string prompt;
    for (int i = 0; i < 12; ++i)
        prompt += "Once upon a time Lily went to the park number " + std::to_string(i) + ". ";
    std::string expected;
    {
        ChildServer ref;
        ASSERT_TRUE(ref.start(serve_args(model, "")));
        expected = complete(ref.port, prompt).text;
    }

    // A FIFO there from the start: the scan must never open it.
    fs::create_directories(disk);
    const std::string stray = (fs::path(disk) / (std::string(64, 'a') + ".kvb")).string();
    ASSERT_EQ(::mkfifo(stray.c_str(), 0644), 0);
    ChildServer a;
    bool started = false;
    EXPECT_TRUE(finishes_within(
        30s, [&] { started = a.start(serve_args(model, disk)); }, [&] { poke_fifo(stray); }))
        << "the server did not get ready";
    ASSERT_TRUE(started);
    EXPECT_EQ(complete(a.port, prompt).text, expected);
    ASSERT_EQ(kill(a.pid, SIGTERM), 0);
    EXPECT_EQ(a.wait_exit(30s), 0);   // and writes the pool's blocks down
    EXPECT_TRUE(fs::is_fifo(stray));  // not ours: left alone

    // Once a restart has indexed them, every block file becomes a FIFO.
    ChildServer b;
    ASSERT_TRUE(b.start(serve_args(model, disk)));
    wait_disk_scanned(b.port);
    std::vector<std::string> fifos = {stray};
    for (const auto& f : fs::directory_iterator(disk)) {
        if (f.path().extension() != ".kvb" || !f.is_regular_file()) continue;
        fs::remove(f.path());
        ASSERT_EQ(::mkfifo(f.path().c_str(), 0644), 0);
        fifos.push_back(f.path().string());
    }
    ASSERT_GE(fifos.size(), 4u);
    // Reading one would wait for a writer forever: they are misses, recomputed.
    Turn t;
    EXPECT_TRUE(finishes_within(
        60s, [&] { t = complete(b.port, prompt); },
        [&] {
            for (const std::string& f : fifos) poke_fifo(f);
        }))
        << "a request waited on a FIFO";
    EXPECT_EQ(t.text, expected);
    EXPECT_EQ(t.cached, 0);
    const Exposition e = parse_exposition(fetch(b.port, "GET", "/metrics").body);
    EXPECT_GE(e.sum("infergrid_kv_tier_skipped_files_total", {{"tier", "disk"}}), 1);
    ASSERT_EQ(kill(b.pid, SIGTERM), 0);
    EXPECT_EQ(b.wait_exit(30s), 0) << "SIGTERM did not end the server";
}

}  // namespace
}  // namespace ig::test
