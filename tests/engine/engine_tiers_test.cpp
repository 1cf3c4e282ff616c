// KV tiers under the engine: greedy outputs are token-for-token those of a
// recompute whether a prefix comes back from the pool, host RAM or disk
// (F16 and F32 KV), a restarted engine on the same directory keeps its
// prefix hits, and flipped or truncated block files only cost recompute.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "engine_harness.h"

namespace ig::test {
namespace {

namespace fs = std::filesystem;

enum class Mode { Host, Disk, Both };

struct Param {
    DType kv;
    Mode mode;
};

class EngineTiers : public ::testing::TestWithParam<Param> {
  protected:
    void SetUp() override {
        m_ = synth_and_load(dir_, "tiny-llama", DType::F32);
        ASSERT_TRUE(m_.model);
        V_ = static_cast<int32_t>(m_.model->config().n_vocab);
        std::mt19937_64 rng(5);
        for (int i = 0; i < kConvs; ++i) firsts_.push_back(random_tokens(rng, 90 + 7 * i, V_));
        for (int i = 0; i < kConvs; ++i) follow_ups_.push_back(random_tokens(rng, 20, V_));
    }
    int64_t block_bytes() const { return m_.model->kv_layout(16, GetParam().kv).block_bytes(); }
    EngineConfig config(bool tiers) const {
        EngineConfig c;
        c.kv_type = GetParam().kv;
        c.kv_bytes = 16 * block_bytes();  // about two conversations: the rest is evicted
        c.threads = 2;
        c.max_num_batched_tokens = 64;
        if (!tiers) {
            c.enable_prefix_cache = false;  // the reference: everything recomputed
            return c;
        }
        if (GetParam().mode != Mode::Disk) c.kv_host_bytes = 64 * block_bytes();
        if (GetParam().mode != Mode::Host) {
            c.kv_disk_dir = disk_dir_.path().string();
            c.kv_disk_bytes = 256 * block_bytes();
        }
        return c;
    }
    std::vector<int32_t> run(Engine& e, const std::vector<int32_t>& prompt,
                             Usage* usage = nullptr) {
        auto s = e.submit(greedy(prompt, kOut));
        EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
        if (!s.ok()) return {};
        auto r = collect(**s);
        EXPECT_EQ(r[0].finish, FinishReason::Length) << r[0].error;
        if (usage) *usage = r[0].usage;
        return r[0].tokens;
    }
    // Turn 1 of every conversation, then turn 2 (turn 1 + answer + follow-up).
    struct Outputs {
        std::vector<std::vector<int32_t>> first, second;
        std::vector<Usage> second_usage;
    };
    Outputs conversations(Engine& e, bool second_only = false, const Outputs* answers = nullptr) {
        Outputs o;
        if (!second_only)
            for (const auto& p : firsts_) o.first.push_back(run(e, p));
        for (int i = 0; i < kConvs; ++i) {
            std::vector<int32_t> p = firsts_[i];
            const auto& ans = answers ? answers->first[i] : o.first[i];
            p.insert(p.end(), ans.begin(), ans.end());
            p.insert(p.end(), follow_ups_[i].begin(), follow_ups_[i].end());
            Usage u;
            o.second.push_back(run(e, p, &u));
            o.second_usage.push_back(u);
        }
        return o;
    }
    uint64_t tier_hits(const Engine& e) const {
        uint64_t n = 0;
        for (const TierStats& t : e.stats().tiers) n += t.hit_tokens;
        return n;
    }
    Outputs reference() {
        auto ref = make_engine(m_, config(false));
        return conversations(*ref);
    }

    static constexpr int kConvs = 6;
    static constexpr int64_t kOut = 8;
    TempDir dir_, disk_dir_;
    LoadedModel m_;
    int32_t V_ = 0;
    std::vector<std::vector<int32_t>> firsts_, follow_ups_;
};

TEST_P(EngineTiers, SameTokensAsRecompute) {
    const Outputs ref = reference();
    auto e = make_engine(m_, config(true));
    ASSERT_TRUE(e);
    const Outputs got = conversations(*e);
    EXPECT_EQ(got.first, ref.first);
    EXPECT_EQ(got.second, ref.second);
    // The pool holds ~2 conversations: the others' prefixes came from a tier.
    EXPECT_GT(tier_hits(*e), 0u);
    int64_t cached = 0;
    for (const Usage& u : got.second_usage) cached += u.cached_tokens;
    EXPECT_GE(cached, kConvs * 80);
    EXPECT_EQ(e->stats().prefix.tier_hits_tokens, tier_hits(*e));
    e->shutdown(true);
    EXPECT_TRUE(e->check_idle().ok());
}

TEST_P(EngineTiers, RestartKeepsDiskHitsAndSurvivesDamage) {
    if (GetParam().mode == Mode::Host) GTEST_SKIP() << "host RAM does not survive a restart";
    const Outputs ref = reference();
    {
        auto e = make_engine(m_, config(true));
        ASSERT_TRUE(e);
        const Outputs got = conversations(*e);
        EXPECT_EQ(got.first, ref.first);
    }  // shutdown writes the pool's cached blocks down too
    {
        auto e = make_engine(m_, config(true));
        ASSERT_TRUE(e);
        ASSERT_TRUE(e->wait_kv_disk_scanned());  // the scan runs in the background
        const Outputs got = conversations(*e, true, &ref);
        EXPECT_EQ(got.second, ref.second);
        for (int i = 0; i < kConvs; ++i)
            EXPECT_GE(got.second_usage[static_cast<size_t>(i)].cached_tokens, 80) << i;
        EXPECT_GT(tier_hits(*e), 0u);
    }
    // Damage: flip a byte in every other block file, truncate every third.
    int n = 0, damaged = 0;
    for (const auto& f : fs::directory_iterator(disk_dir_.path())) {
        if (f.path().extension() != ".kvb") continue;
        ++n;
        if (n % 3 == 0) {
            fs::resize_file(f.path(), fs::file_size(f.path()) / 2);
            ++damaged;
        } else if (n % 2 == 0) {
            std::fstream io(f.path(), std::ios::in | std::ios::out | std::ios::binary);
            io.seekp(static_cast<std::streamoff>(fs::file_size(f.path()) - 5));
            io.put('\x7f');
            ++damaged;
        }
    }
    ASSERT_GT(damaged, 0);
    auto e = make_engine(m_, config(true));
    ASSERT_TRUE(e);
    ASSERT_TRUE(e->wait_kv_disk_scanned());
    const Outputs got = conversations(*e, true, &ref);
    EXPECT_EQ(got.second, ref.second);
    uint64_t corrupt = 0;
    for (const TierStats& t : e->stats().tiers) corrupt += t.corrupt;
    EXPECT_GT(corrupt, 0u);
}

INSTANTIATE_TEST_SUITE_P(Tiers, EngineTiers,
                         ::testing::Values(Param{DType::F16, Mode::Host},
                                           Param{DType::F16, Mode::Disk},
                                           Param{DType::F16, Mode::Both},
                                           Param{DType::F32, Mode::Both}),
                         [](const auto& info) {
                             const char* m = info.param.mode == Mode::Host   ? "Host"
                                             : info.param.mode == Mode::Disk ? "Disk"
                                                                             : "Both";
                             return std::string(info.param.kv == DType::F16 ? "F16" : "F32") + m;
                         });

// Q8 host blocks are not bit-exact, so only what cannot change is checked:
// first turns (no tier involved) match, second turns hit the tier and finish.
TEST(EngineTiersQ8, HostQ8ServesHits) {
    TempDir dir;
    auto m = synth_and_load(dir, "tiny-llama", DType::F32);
    ASSERT_TRUE(m.model);
    const auto V = static_cast<int32_t>(m.model->config().n_vocab);
    const int64_t bb = m.model->kv_layout(16, DType::F16).block_bytes();
    EngineConfig c;
    c.kv_bytes = 16 * bb;
    c.threads = 2;
    c.kv_host_bytes = 32 * bb;  // ~56 Q8 blocks
    c.kv_host_q8 = true;
    auto e = make_engine(m, c);
    ASSERT_TRUE(e);
    std::mt19937_64 rng(9);
    std::vector<std::vector<int32_t>> prompts;
    for (int i = 0; i < 5; ++i) prompts.push_back(random_tokens(rng, 100, V));
    for (const auto& p : prompts) {
        auto s = e->submit(greedy(p, 4));
        ASSERT_TRUE(s.ok());
        EXPECT_EQ(collect(**s)[0].finish, FinishReason::Length);
    }
    int64_t cached = 0;
    for (auto p : prompts) {
        p.push_back(7);
        auto s = e->submit(greedy(p, 4));
        ASSERT_TRUE(s.ok());
        const auto r = collect(**s);
        EXPECT_EQ(r[0].finish, FinishReason::Length);
        cached += r[0].usage.cached_tokens;
    }
    EXPECT_GT(cached, 0);
    const EngineStats st = e->stats();
    ASSERT_EQ(st.tiers.size(), 1u);
    EXPECT_GT(st.tiers[0].hit_blocks, 0u);
    EXPECT_LT(st.tiers[0].bytes_used, st.tiers[0].blocks * bb);  // compressed
    e->shutdown(true);
    EXPECT_TRUE(e->check_idle().ok());
}

TEST(EngineTiersConfig, BadTierSettingsAreClearErrors) {
    TempDir dir;
    auto m = synth_and_load(dir, "tiny-llama", DType::F32);
    ASSERT_TRUE(m.model);
    EngineConfig c;
    c.kv_bytes = 1 << 20;
    c.kv_disk_dir = dir.file("kv");
    auto e = Engine::create(m.model, m.tokenizer, c);  // no budget
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.error().message.find("disk"), std::string::npos);
    c.kv_disk_bytes = 1 << 20;
    // An unusable directory at start turns the disk tier off (a log line), as
    // the same fault at run time does: the engine starts and serves.
    std::ofstream(dir.file("kv")) << "a file, not a directory";
    auto off = Engine::create(m.model, m.tokenizer, c);
    ASSERT_TRUE(off.ok()) << off.error().message;
    auto s = (*off)->submit(greedy({1, 2, 3, 4}, 3));
    ASSERT_TRUE(s.ok());
    const auto res = collect(**s);
    EXPECT_EQ(res[0].tokens.size(), 3u);
    (*off)->shutdown(true);
}

}  // namespace
}  // namespace ig::test
