// `infergrid pull` end to end against a local hub double (hub_double.py): the
// hub's routes, a CDN redirect, ranges, a gated repo, faults, and TLS with a
// CA made for the test by the openssl CLI.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/child_server.h"
#include "support/test_support.h"

namespace ig {
namespace {

namespace fs = std::filesystem;

// Bytes that differ from file to file and never repeat in a way a wrong
// offset could hide.
std::string content(size_t n, uint32_t seed) {
    std::string s(n, '\0');
    uint32_t x = seed * 2654435761u + 1;
    for (char& c : s) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        c = static_cast<char>(x & 0xFF);
    }
    return s;
}

void write_file(const fs::path& p, const std::string& data) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << data;
}

struct PullRun {
    int rc = 0;
    std::string out, err;
};

// The double and its repos: acme/tiny-GGUF (GGUF quants, a projector, a
// README), acme/tiny-st (a safetensors model folder with duplicates),
// acme/gated (401 without the token).
class HubDouble {
  public:
    HubDouble() {
        const fs::path g = root() / "acme" / "tiny-GGUF";
        write_file(g / "tiny-Q4_K_M.gguf", q4 = content(200000, 1));
        write_file(g / "tiny-Q4_K_S.gguf", content(1000, 2));
        write_file(g / "tiny-Q8_0.gguf", q8 = content(120000, 3));
        write_file(g / "mmproj-tiny-q8_0.gguf", content(500, 4));
        write_file(g / "README.md", "# tiny\n");
        const fs::path st = root() / "acme" / "tiny-st";
        write_file(st / "config.json", R"({"architectures": ["LlamaForCausalLM"]})");
        write_file(st / "tokenizer.json", tokenizer = content(3000, 5));  // plain git file
        write_file(st / "tokenizer_config.json", "{}");
        write_file(st / "model-00001-of-00002.safetensors", shard1 = content(50000, 6));
        write_file(st / "model-00002-of-00002.safetensors", content(40000, 7));
        write_file(st / "model.safetensors.index.json",
                   R"({"weight_map": {"a": "model-00001-of-00002.safetensors",
                                      "b": "model-00002-of-00002.safetensors"}})");
        write_file(st / "consolidated.safetensors", content(9000, 8));
        write_file(st / "pytorch_model.bin", content(9000, 9));
        write_file(st / "onnx" / "model.onnx", content(100, 10));
        write_file(st / "README.md", "model card\n");
        write_file(root() / "acme" / "gated" / "g-Q8_0.gguf", gated = content(30000, 11));
    }

    fs::path root() const { return dir.path() / "root"; }
    std::string models() const { return dir.file("models"); }

    bool start(std::vector<std::string> extra = {}) {
        std::vector<std::string> args = {"/usr/bin/python3",
                                         std::string(IG_SOURCE_DIR) + "/tests/e2e/hub_double.py",
                                         "--root",
                                         root().string(),
                                         "--log",
                                         dir.file("hub.log"),
                                         "--gated",
                                         "acme/gated=hf_secret"};
        args.insert(args.end(), extra.begin(), extra.end());
        if (!child.start(args)) return false;
        url = (extra_has(extra, "--tls-cert") ? "https" : "http") + std::string("://127.0.0.1:") +
              std::to_string(child.port);
        return true;
    }

    // `infergrid pull ARGS` with HF_ENDPOINT set to the double and `env`
    // (VAR=value ...) added; nothing else of the caller's hub settings.
    PullRun pull(const std::string& args, const std::string& env = "") const {
        PullRun r;
        const std::string err = dir.file("stderr");
        r.rc = test::run(
            "env -u HF_TOKEN -u SSL_CERT_FILE -u SSL_CERT_DIR -u IG_MODELS_DIR "
            "HF_ENDPOINT=" +
                url + " " + env + " " + test::binary() + " pull " + args + " --models-dir " +
                models() + " 2>" + err,
            &r.out);
        r.err = test::read_text(err);
        return r;
    }

    std::vector<nlohmann::json> log() const {
        std::vector<nlohmann::json> v;
        std::ifstream f(dir.file("hub.log"));
        for (std::string line; std::getline(f, line);) v.push_back(nlohmann::json::parse(line));
        return v;
    }
    void clear_log() const { fs::remove(dir.file("hub.log")); }

    test::TempDir dir;
    test::ChildServer child;
    std::string url;
    std::string q4, q8, tokenizer, shard1, gated;

  private:
    static bool extra_has(const std::vector<std::string>& v, const std::string& s) {
        for (const auto& x : v)
            if (x == s) return true;
        return false;
    }
};

int count_requests(const std::vector<nlohmann::json>& log, const std::string& server,
                   const std::string& path_part) {
    int n = 0;
    for (const auto& e : log)
        if (e["server"] == server &&
            e["path"].get<std::string>().find(path_part) != std::string::npos)
            ++n;
    return n;
}

TEST(Pull, QuantTagDownloadsTheGgufThroughTheCdnOnce) {
    HubDouble hub;
    ASSERT_TRUE(hub.start());
    PullRun r = hub.pull("acme/tiny-GGUF:q4_k_m");
    ASSERT_EQ(r.rc, 0) << r.err;
    const std::string want = hub.models() + "/acme--tiny-GGUF/tiny-Q4_K_M.gguf";
    EXPECT_EQ(r.out, want + "\n");
    EXPECT_EQ(test::read_text(want), hub.q4);
    EXPECT_FALSE(fs::exists(want + ".partial"));
    EXPECT_FALSE(fs::exists(hub.models() + "/acme--tiny-GGUF/tiny-Q8_0.gguf"));
    // Progress on stderr, as plain lines (not a terminal).
    EXPECT_NE(r.err.find("tiny-Q4_K_M.gguf 100%"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\r'), std::string::npos);
    auto log = hub.log();
    EXPECT_EQ(count_requests(log, "hub", "/api/models/acme/tiny-GGUF/tree/main"), 1);
    EXPECT_EQ(count_requests(log, "hub", "/acme/tiny-GGUF/resolve/main/tiny-Q4_K_M.gguf"), 1);
    EXPECT_EQ(count_requests(log, "cdn", "/cdn/"), 1);

    // Present with the right checksum: listed, not downloaded again.
    hub.clear_log();
    r = hub.pull("acme/tiny-GGUF:Q4_K_M");
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(r.out, want + "\n");
    EXPECT_NE(r.err.find("0 downloaded, 1 already present"), std::string::npos) << r.err;
    log = hub.log();
    EXPECT_EQ(count_requests(log, "hub", "/resolve/"), 0);
    EXPECT_EQ(count_requests(log, "cdn", "/cdn/"), 0);

    // A file whose bytes changed on disk is downloaded again.
    write_file(want, content(200000, 99));
    r = hub.pull("acme/tiny-GGUF:Q4_K_M");
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(test::read_text(want), hub.q4);

    // A path picks that file.
    r = hub.pull("acme/tiny-GGUF:tiny-Q8_0.gguf");
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(test::read_text(hub.models() + "/acme--tiny-GGUF/tiny-Q8_0.gguf"), hub.q8);
}

TEST(Pull, AmbiguousMissingOrAbsentQuantListsTheFiles) {
    HubDouble hub;
    ASSERT_TRUE(hub.start());
    PullRun r = hub.pull("acme/tiny-GGUF:Q4_K");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("tiny-Q4_K_M.gguf"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("tiny-Q4_K_S.gguf"), std::string::npos) << r.err;
    r = hub.pull("acme/tiny-GGUF:IQ2_XS");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("tiny-Q8_0.gguf"), std::string::npos) << r.err;
    r = hub.pull("acme/tiny-GGUF");  // several GGUF files: which one?
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("acme/tiny-GGUF:Q4_K_M"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_FALSE(fs::exists(hub.models() + "/acme--tiny-GGUF"));
}

TEST(Pull, SafetensorsRepoGivesTheModelFolderWithPagedListing) {
    HubDouble hub;
    ASSERT_TRUE(hub.start({"--page-size", "3"}));
    PullRun r = hub.pull("acme/tiny-st");
    ASSERT_EQ(r.rc, 0) << r.err;
    const fs::path folder = hub.models() + "/acme--tiny-st";
    EXPECT_EQ(r.out, folder.string() + "\n");
    std::vector<std::string> got;
    for (const auto& e : fs::recursive_directory_iterator(folder))
        got.push_back(fs::relative(e.path(), folder).string());
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<std::string>{"config.json", "model-00001-of-00002.safetensors",
                                             "model-00002-of-00002.safetensors",
                                             "model.safetensors.index.json", "tokenizer.json",
                                             "tokenizer_config.json"}));
    EXPECT_EQ(test::read_text((folder / "tokenizer.json").string()), hub.tokenizer);
    EXPECT_EQ(test::read_text((folder / "model-00001-of-00002.safetensors").string()), hub.shard1);
    // The listing came in pages (Link: rel="next").
    EXPECT_GT(count_requests(hub.log(), "hub", "/api/models/acme/tiny-st/tree/main"), 3);
}

TEST(Pull, ResumesWithARangeAfterTheConnectionDrops) {
    HubDouble hub;
    ASSERT_TRUE(hub.start({"--cut", "acme/tiny-GGUF/tiny-Q4_K_M.gguf=50000"}));
    PullRun r = hub.pull("acme/tiny-GGUF:Q4_K_M");
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_NE(r.err.find("retrying from byte 50000"), std::string::npos) << r.err;
    const std::string want = hub.models() + "/acme--tiny-GGUF/tiny-Q4_K_M.gguf";
    EXPECT_EQ(test::read_text(want), hub.q4);
    std::vector<std::string> ranges;
    for (const auto& e : hub.log())
        if (e["server"] == "cdn") ranges.push_back(e["range"].is_null() ? "" : e["range"]);
    EXPECT_EQ(ranges, (std::vector<std::string>{"", "bytes=50000-"}));

    // A partial file left by an earlier run is resumed where it ends.
    hub.clear_log();
    const std::string q8 = hub.models() + "/acme--tiny-GGUF/tiny-Q8_0.gguf";
    write_file(q8 + ".partial", hub.q8.substr(0, 70000));
    r = hub.pull("acme/tiny-GGUF:Q8_0");
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(test::read_text(q8), hub.q8);
    EXPECT_FALSE(fs::exists(q8 + ".partial"));
    ranges.clear();
    for (const auto& e : hub.log())
        if (e["server"] == "cdn") ranges.push_back(e["range"].is_null() ? "" : e["range"]);
    EXPECT_EQ(ranges, (std::vector<std::string>{"bytes=70000-"}));

    // A partial whose bytes are wrong: the checksum fails, one fresh start.
    hub.clear_log();
    fs::remove(q8);
    write_file(q8 + ".partial", content(70000, 42));
    r = hub.pull("acme/tiny-GGUF:Q8_0");
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(test::read_text(q8), hub.q8);
    EXPECT_NE(r.err.find("starting over"), std::string::npos) << r.err;
}

TEST(Pull, WrongChecksumIsRefusedAndNothingIsLeft) {
    HubDouble hub;
    ASSERT_TRUE(hub.start({"--corrupt", "acme/tiny-GGUF/tiny-Q8_0.gguf", "--corrupt",
                           "acme/tiny-st/tokenizer.json"}));
    PullRun r = hub.pull("acme/tiny-GGUF:Q8_0");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("checksum mismatch"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("sha256"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
    const std::string q8 = hub.models() + "/acme--tiny-GGUF/tiny-Q8_0.gguf";
    EXPECT_FALSE(fs::exists(q8));
    EXPECT_FALSE(fs::exists(q8 + ".partial"));
    // A plain git file is checked by its git blob id.
    r = hub.pull("acme/tiny-st");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("tokenizer.json: checksum mismatch"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("git blob sha1"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(hub.models() + "/acme--tiny-st/tokenizer.json"));
}

TEST(Pull, GatedRepoNeedsTheTokenWhichNeverLeavesTheHub) {
    HubDouble hub;
    ASSERT_TRUE(hub.start());
    PullRun r = hub.pull("acme/gated:Q8_0");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("401"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("set HF_TOKEN"), std::string::npos) << r.err;
    r = hub.pull("acme/gated:Q8_0", "HF_TOKEN=wrong");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("HF_TOKEN was refused"), std::string::npos) << r.err;
    hub.clear_log();
    r = hub.pull("acme/gated:Q8_0", "HF_TOKEN=hf_secret");
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(test::read_text(hub.models() + "/acme--gated/g-Q8_0.gguf"), hub.gated);
    int hub_requests = 0, cdn_requests = 0;
    for (const auto& e : hub.log()) {
        if (e["server"] == "hub") {
            ++hub_requests;
            EXPECT_EQ(e["auth"], "Bearer hf_secret");
        } else {
            ++cdn_requests;
            EXPECT_TRUE(e["auth"].is_null()) << e.dump();  // the CDN is another origin
        }
    }
    EXPECT_EQ(hub_requests, 2);
    EXPECT_EQ(cdn_requests, 1);
}

TEST(Pull, MissingRepoFileOrRevisionIs404) {
    HubDouble hub;
    ASSERT_TRUE(hub.start());
    PullRun r = hub.pull("acme/nope:Q4_K_M");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("404"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("Repository not found"), std::string::npos) << r.err;
    r = hub.pull("acme/tiny-GGUF:sub/none.gguf");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("has no file 'sub/none.gguf'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("tiny-Q8_0.gguf"), std::string::npos) << r.err;
    r = hub.pull("acme/tiny-GGUF:Q4_K_M --revision v9");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("404"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("revision v9"), std::string::npos) << r.err;
    r = hub.pull("'not a repo'");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("not a repo id"), std::string::npos) << r.err;
}

TEST(Pull, DeadHubIsAnErrorNotAHang) {
    HubDouble hub;
    ASSERT_TRUE(hub.start({"--stall", "acme/tiny-GGUF"}));
    PullRun r = hub.pull("acme/tiny-GGUF:Q4_K_M --timeout 1");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("no data for 1000 ms"), std::string::npos) << r.err;
    // Nothing listens: connecting fails at once.
    HubDouble none;
    none.url = "http://127.0.0.1:1";
    r = none.pull("acme/tiny-GGUF:Q4_K_M --timeout 1");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("connecting to 127.0.0.1:1"), std::string::npos) << r.err;
    none.url = "ftp://127.0.0.1:1";
    r = none.pull("acme/tiny-GGUF:Q4_K_M");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("HF_ENDPOINT"), std::string::npos) << r.err;
}

// A CA and a server certificate for 127.0.0.1 (IP only), made here.
bool make_certs(const test::TempDir& d) {
    const std::string ext = d.file("san.ext");
    std::ofstream(ext) << "subjectAltName=IP:127.0.0.1\n";
    const std::string q = " >/dev/null 2>&1";
    return test::run(
               "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca"
               " -keyout " +
               d.file("ca.key") + " -out " + d.file("ca.pem") + q) == 0 &&
           test::run("openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout " +
                     d.file("srv.key") + " -out " + d.file("srv.csr") + q) == 0 &&
           test::run("openssl x509 -req -in " + d.file("srv.csr") + " -CA " + d.file("ca.pem") +
                     " -CAkey " + d.file("ca.key") + " -CAcreateserial -days 2 -extfile " + ext +
                     " -out " + d.file("srv.pem") + q) == 0;
}

TEST(Pull, HttpsVerifiesTheCertificateAndTheHost) {
    if (test::run("command -v openssl >/dev/null 2>&1") != 0)
        GTEST_SKIP() << "no openssl CLI (scripts/setup installs it)";
    test::TempDir certs;
    ASSERT_TRUE(make_certs(certs));
    HubDouble hub;
    ASSERT_TRUE(
        hub.start({"--tls-cert", certs.file("srv.pem"), "--tls-key", certs.file("srv.key")}));
    ASSERT_EQ(hub.url.rfind("https://", 0), 0u);
    const std::string want = hub.models() + "/acme--tiny-GGUF/tiny-Q8_0.gguf";

    // Not trusted: refused at the handshake, nothing written.
    PullRun r = hub.pull("acme/tiny-GGUF:Q8_0");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("certificate"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(want));

    // Trusted through --ca-file: listing and the CDN redirect both over TLS.
    r = hub.pull("acme/tiny-GGUF:Q8_0 --ca-file " + certs.file("ca.pem"));
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(test::read_text(want), hub.q8);
    EXPECT_EQ(count_requests(hub.log(), "cdn", "/cdn/"), 1);

    // Trusted through SSL_CERT_FILE.
    fs::remove(want);
    r = hub.pull("acme/tiny-GGUF:Q8_0", "SSL_CERT_FILE=" + certs.file("ca.pem"));
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(test::read_text(want), hub.q8);

    // A trusted certificate for another name: the host check refuses it.
    HubDouble by_name;
    by_name.url = "https://localhost:" + std::to_string(hub.child.port);
    r = by_name.pull("acme/tiny-GGUF:Q8_0 --ca-file " + certs.file("ca.pem"));
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("certificate verification failed"), std::string::npos) << r.err;
}

TEST(Pull, ServeLoadsAnHfModelItPullsFirst) {
    HubDouble hub;
    std::string out;
    const fs::path model = hub.root() / "acme" / "synth-GGUF" / "tiny-llama-Q8_0.gguf";
    fs::create_directories(model.parent_path());
    ASSERT_EQ(test::run(test::binary() + " synth --preset tiny-llama --type q8_0 --out " +
                            model.string() + " 2>&1",
                        &out),
              0)
        << out;
    ASSERT_TRUE(hub.start());
    setenv("HF_ENDPOINT", hub.url.c_str(), 1);
    setenv("IG_MODELS_DIR", hub.models().c_str(), 1);
    unsetenv("HF_TOKEN");
    test::ChildServer srv;
    const bool started =
        srv.start({test::binary(), "serve", "--model", "hf://acme/synth-GGUF:Q8_0", "--port", "0"});
    unsetenv("HF_ENDPOINT");
    unsetenv("IG_MODELS_DIR");
    ASSERT_TRUE(started);
    const std::string local = hub.models() + "/acme--synth-GGUF/tiny-llama-Q8_0.gguf";
    EXPECT_EQ(test::read_text(local), test::read_text(model.string()));
    srv.kill_hard();

    // A bad hf:// model is refused before anything loads.
    EXPECT_EQ(test::run("env HF_ENDPOINT=" + hub.url + " IG_MODELS_DIR=" + hub.models() + " " +
                            test::binary() + " serve --model hf://acme/synth-GGUF:Q2_K 2>&1",
                        &out),
              1);
    EXPECT_NE(out.find("no .gguf file matches 'Q2_K'"), std::string::npos) << out;
}

}  // namespace
}  // namespace ig
