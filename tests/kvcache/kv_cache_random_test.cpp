// Randomised long run of the manager under memory pressure, against a shadow
// model of what every block holds. Sequences share prefixes from a small set,
// grow, publish, fork, get preempted and finish; after every operation the
// pool's invariants hold and every refcount equals the number of tables that
// hold the block.
#include "kvcache/kv_cache_manager.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace ig {
namespace {

struct Params {
    int32_t block_tokens;
    bool prefix_cache;
    uint32_t seed;
};

struct LiveSeq {
    int root = 0;                 // index into roots
    std::vector<int32_t> tokens;  // tokens[0, computed) have KV written
    int64_t computed = 0;
    SeqBlocks blocks;
};

class RandomRun {
  public:
    explicit RandomRun(const Params& p)
        : bt_(p.block_tokens),
          pool_(kBlocks),
          m_(pool_, bt_, p.prefix_cache),
          rng_(p.seed),
          content_(kBlocks) {
        roots_ = {root_hash("model", "tenant-a"), root_hash("model", "tenant-b")};
        for (int i = 0; i < 4; ++i) {  // shared prefixes: 0 .. 4 blocks + a little
            std::vector<int32_t> pre(static_cast<size_t>(uniform(0, 4 * bt_ + 2)));
            for (auto& t : pre) t = uniform(0, 1000);
            prefixes_.push_back(pre);
        }
    }

    void run(int ops) {
        for (int op = 0; op < ops; ++op) {
            const int r = uniform(0, 99);
            if (r < 25 || live_.empty()) {
                admit();
            } else if (r < 75) {
                step(pick());
            } else if (r < 85) {
                fork(pick());
            } else {
                finish(pick());
            }
            verify(op);
            if (::testing::Test::HasFatalFailure()) return;
        }
        while (!live_.empty()) finish(0);
        verify(ops);
        EXPECT_EQ(pool_.num_used(), 0);
        EXPECT_EQ(pool_.num_free(), kBlocks);  // free or cached-evictable, nothing leaked
        if (m_.prefix_cache_enabled()) {
            EXPECT_GT(m_.stats().hits_tokens, 0u);
            EXPECT_GT(pool_.evictions(), 0u);
            EXPECT_GT(duplicate_publishes_, 0);
        } else {
            EXPECT_EQ(pool_.num_cached(), 0);
            EXPECT_EQ(m_.stats().hits_tokens, 0u);
        }
        EXPECT_LE(m_.stats().hits_tokens, m_.stats().queries_tokens);
        EXPECT_GT(forks_, 0);
        EXPECT_GT(preemptions_, 0);
    }

  private:
    static constexpr int32_t kBlocks = 48;

    int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
    size_t pick() { return static_cast<size_t>(uniform(0, static_cast<int>(live_.size()) - 1)); }

    // Shadow content of a block: its root and every token up to its last written one.
    std::vector<int32_t> key(const LiveSeq& s, int64_t end) const {
        std::vector<int32_t> k{s.root};
        k.insert(k.end(), s.tokens.begin(), s.tokens.begin() + end);
        return k;
    }

    void admit() {
        LiveSeq s;
        s.root = uniform(0, 1);
        s.tokens = prefixes_[static_cast<size_t>(uniform(0, 3))];
        const int extra = uniform(0, 2 * bt_);
        for (int i = 0; i < extra; ++i) s.tokens.push_back(uniform(0, 2));  // collide often
        if (s.tokens.empty()) s.tokens.push_back(uniform(0, 2));
        const int64_t cached = m_.match_prefix(s.blocks, roots_[s.root], s.tokens);
        ASSERT_EQ(cached % bt_, 0);
        ASSERT_LT(cached, static_cast<int64_t>(s.tokens.size()));
        ASSERT_EQ(static_cast<int64_t>(s.blocks.table.size()) * bt_, cached);
        // Every matched block really holds this prompt's prefix.
        for (size_t b = 0; b < s.blocks.table.size(); ++b) {
            ASSERT_EQ(content_[s.blocks.table[b]], key(s, static_cast<int64_t>(b + 1) * bt_))
                << "block " << s.blocks.table[b] << " matched with the wrong content";
        }
        s.computed = cached;
        if (!m_.ensure(s.blocks, static_cast<int64_t>(s.tokens.size()))) {
            m_.free(s.blocks);  // not admitted this time
            return;
        }
        live_.push_back(std::move(s));
    }

    // Writes KV for positions [computed, upto) and publishes full blocks.
    void compute(LiveSeq& s, int64_t upto) {
        for (int64_t p = s.computed; p < upto; ++p) {
            const BlockId id = s.blocks.table[static_cast<size_t>(p / bt_)];
            // Shared blocks are immutable: only a private block is ever written.
            ASSERT_EQ(pool_.refcount(id), 1) << "write into shared block " << id;
            content_[id] = key(s, p + 1);
        }
        s.computed = upto;
        const int32_t cached_before = pool_.num_cached();
        const size_t hashed_before = s.blocks.hashes.size();
        m_.publish_full(s.blocks, roots_[s.root], s.tokens, s.computed);
        const auto newly = static_cast<int32_t>(s.blocks.hashes.size() - hashed_before);
        if (m_.prefix_cache_enabled() && pool_.num_cached() - cached_before < newly)
            ++duplicate_publishes_;
    }

    void step(size_t i) {
        LiveSeq& s = live_[i];
        const auto n = static_cast<int64_t>(s.tokens.size());
        if (s.computed < n) {  // a chunk of prefill
            compute(s, std::min<int64_t>(n, s.computed + uniform(1, 2 * bt_)));
            return;
        }
        s.tokens.push_back(uniform(0, 2));  // decode one token
        if (!m_.ensure(s.blocks, n + 1)) {
            ++preemptions_;  // preempted by recompute
            finish(i);
            return;
        }
        compute(s, n + 1);
    }

    void fork(size_t i) {
        const LiveSeq& s = live_[i];
        LiveSeq c;
        c.root = s.root;
        c.tokens.assign(s.tokens.begin(), s.tokens.begin() + s.computed);
        c.computed = s.computed;
        auto r = m_.fork(s.blocks, c.blocks, s.computed);
        if (!r.ok()) {
            ASSERT_EQ(pool_.num_free(), 0) << r.error().message;
            ASSERT_TRUE(c.blocks.table.empty());
            return;
        }
        if (r->has_value()) content_[(*r)->second] = content_[(*r)->first];  // the byte copy
        ++forks_;
        live_.push_back(std::move(c));
    }

    void finish(size_t i) {
        m_.free(live_[i].blocks);
        live_.erase(live_.begin() + static_cast<ptrdiff_t>(i));
    }

    void verify(int op) {
        const Status st = pool_.check();
        ASSERT_TRUE(st.ok()) << "op " << op << ": " << st.error().message;
        std::vector<int32_t> holders(kBlocks, 0);
        for (const auto& s : live_) {
            for (BlockId id : s.blocks.table) ++holders[id];
            ASSERT_LE(s.blocks.hashes.size(), s.blocks.table.size());
        }
        for (BlockId id = 0; id < kBlocks; ++id)
            ASSERT_EQ(pool_.refcount(id), holders[id]) << "op " << op << " block " << id;
        ASSERT_EQ(pool_.num_free() + pool_.num_used(), kBlocks);
        if (op % 16 == 0) verify_chains(op);
    }

    // Each sequence's hashes are the chain of its own tokens, and whatever
    // block the index holds for such a hash has exactly that content.
    void verify_chains(int op) {
        for (const auto& s : live_) {
            BlockHash parent = roots_[s.root];
            for (size_t b = 0; b < s.blocks.hashes.size(); ++b) {
                const auto blk = std::span(s.tokens).subspan(b * bt_, bt_);
                parent = chain_hash(parent, blk);
                ASSERT_EQ(s.blocks.hashes[b], parent) << "op " << op << " block " << b;
                if (const auto id = pool_.lookup(parent)) {
                    ASSERT_EQ(content_[*id], key(s, static_cast<int64_t>(b + 1) * bt_))
                        << "op " << op << ": index maps a hash to a block of other content";
                }
            }
        }
    }

    int32_t bt_;
    BlockPool pool_;
    KvCacheManager m_;
    std::mt19937 rng_;
    std::vector<BlockHash> roots_;
    std::vector<std::vector<int32_t>> prefixes_;
    std::vector<std::vector<int32_t>> content_;
    std::vector<LiveSeq> live_;
    int duplicate_publishes_ = 0, forks_ = 0, preemptions_ = 0;
};

class KvCacheRandom : public ::testing::TestWithParam<Params> {};

TEST_P(KvCacheRandom, TwentyThousandOperations) {
    RandomRun(GetParam()).run(20000);
}

INSTANTIATE_TEST_SUITE_P(Configs, KvCacheRandom,
                         ::testing::Values(Params{4, true, 1}, Params{4, true, 2},
                                           Params{1, true, 3}, Params{3, false, 4}));

}  // namespace
}  // namespace ig
