#pragma once
// The serving engine: a loop on its own thread that takes submissions and
// cancellations, runs one Scheduler step, one forward call for the whole
// step (prefill chunks and decodes mixed), samples, checks stops and streams
// tokens back. The public methods are thread-safe.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/compute_share.h"
#include "engine/grammar_automata.h"
#include "engine/request.h"
#include "engine/request_state.h"
#include "engine/request_stream.h"
#include "engine/scheduler.h"
#include "kvcache/block_pool.h"
#include "kvcache/kv_arena.h"
#include "kvcache/kv_cache_manager.h"
#include "kvcache/kv_tiers.h"
#include "model/llama_model.h"
#include "tokenizer/tokenizer.h"
#include "util/expected.h"
#include "util/thread_pool.h"

namespace ig {

// What one engine step did; see EngineConfig::step_observer.
struct StepInfo {
    double seconds = 0;        // wall time of the step (schedule + forward + sample)
    int32_t batch_tokens = 0;  // tokens in the forward batch
    int32_t running = 0;       // sequences running after the step
};

struct EngineConfig {
    int64_t kv_bytes = 0;  // 0: default_kv_budget_bytes
    int32_t block_tokens = 16;
    DType kv_type = DType::F16;
    int32_t max_num_seqs = 64;
    int32_t max_num_batched_tokens = 512;  // per step
    int32_t max_waiting = 1024;            // queue bound -> submit() error QueueFull
    int threads = 0;
    bool enable_prefix_cache = true;
    bool chunked_prefill = true;
    // Sequences with long prompt work per step (SchedulerConfig); 0: no
    // limit. Chunks of up to long_prefill_tokens are batched freely: about
    // where a step's int8 compute on a VNNI CPU matches its weight reads.
    int32_t max_num_partial_prefills = 1;
    int32_t long_prefill_tokens = 32;
    // A waiting or running sequence gains one priority class per this many
    // seconds since it arrived, so low classes are not starved (0: strict).
    double priority_aging_seconds = 1.0;
    // Tenants share the engine by weighted tokens (TokenCounters); off:
    // requests of all tenants compete alone (benchmarks of the difference).
    bool tenant_fair_share = true;
    std::string model_fingerprint;  // default: derived from the GGUF (model_fingerprint.h)
    // Additive: called on the engine thread after every step that ran a batch
    // (metrics: step-time histogram). Must be cheap and must not call the engine.
    std::function<void(const StepInfo&)> step_observer;
    // KV tiers below the pool (need the prefix cache). 0 / empty: off.
    int64_t kv_host_bytes = 0;  // host-RAM tier budget
    bool kv_host_q8 = false;    // host tier stores Q8 (lossy: ~1.8x more blocks for F16)
    std::string kv_disk_dir;    // disk tier directory (survives restarts)
    int64_t kv_disk_bytes = 0;  // disk tier budget
    int kv_disk_io_threads = 2;
    // A disk load not done this long is a miss (the prompt is recomputed), so
    // a hung mount stalls no request for longer; shutdown waits as long for disk IO.
    std::chrono::milliseconds kv_disk_load_timeout{5000};
    ReadAtFn kv_disk_read_at;  // fault injection (tests): replaces pread on block files
    DiskSync kv_disk_sync = DiskSync::Batch;  // when block files reach stable storage
    // Full blocks are written to the tiers as they fill (crash-safe); off:
    // only on eviction and at a clean exit (A/B measurements).
    bool kv_write_behind = true;
    // Compute threads shared with the engines of other models in the
    // process (steps take turns on them). Null: the engine makes its own
    // pool of `threads`.
    std::shared_ptr<ComputeShare> compute;
    // Context window: prompt + generated tokens per sequence (0: the
    // model's trained context; larger is refused).
    int64_t max_context = 0;
};

struct EngineStats {
    int32_t running = 0, waiting = 0;
    int32_t blocks_total = 0, blocks_free = 0;
    uint64_t preemptions = 0;
    PrefixCacheStats prefix;
    uint64_t steps = 0;
    double busy_seconds = 0;
    int32_t last_batch_tokens = 0;
    // Additive: blocks referenced by sequences, blocks holding a published hash.
    int32_t blocks_used = 0, blocks_cached = 0;
    double last_step_seconds = 0;  // additive: duration of the last step that ran a batch
    // Additive (issue 9): one entry per KV tier below the pool, host then disk.
    std::vector<TierStats> tiers;
    // Additive (issue 24): active tenants' virtual token counter lags.
    std::vector<TenantLag> tenant_lags;
};

enum class SubmitError { QueueFull, Invalid, ShuttingDown };
SubmitError submit_error(const Error& e);

class Engine {
  public:
    static Expected<std::unique_ptr<Engine>> create(std::shared_ptr<LlamaModel> model,
                                                    std::shared_ptr<const Tokenizer> tokenizer,
                                                    EngineConfig cfg);
    ~Engine();  // stops the loop; pending requests finish with Cancelled
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // Validates (prompt + max_tokens within the context, ids in the vocabulary,
    // sampling.validate, ...); the error names the field. submit_error() tells
    // QueueFull / Invalid / ShuttingDown apart.
    Expected<std::shared_ptr<RequestStream>> submit(GenerationRequest req);
    void cancel(const std::string& request_id);  // blocks freed at the next step
    void shutdown(bool drain);  // drain: finish accepted requests first; else cancel all
    EngineStats stats() const;  // snapshot
    const ModelConfig& model_config() const { return model_->config(); }
    // Tokens a sequence may hold (prompt + output): EngineConfig::max_context.
    int64_t context_length() const { return n_ctx_; }
    const EngineConfig& config() const { return cfg_; }  // as resolved by create()

    // After shutdown(): the block pool's invariants hold and no block is referenced.
    Status check_idle() const;
    // Waits until the disk tier has written every queued block (tests, benchmarks).
    void flush_kv_tiers();
    // Waits until the disk tier's start-up scan has indexed the blocks already
    // on disk; false after `timeout` (tests, benchmarks: serving never waits).
    bool wait_kv_disk_scanned(std::chrono::milliseconds timeout = std::chrono::seconds(60));

  private:
    Engine() = default;
    void loop();
    void intake(std::unique_ptr<RequestState> r);
    void run_step();
    void fork_choices(Sequence& parent, const float* logits);
    void on_token(Sequence& s, SampledToken st);
    void finish_request(RequestState& r, FinishReason reason, const std::string& error);
    void finish_choice(Sequence& s, FinishReason reason, const std::string& error);
    // Masks the logits with the choice's grammar; false (and the choice
    // finished with an error) when no token may follow.
    bool constrain(Sequence& s, std::span<float> logits);
    void erase_if_done(RequestState& r);
    void publish_stats(double busy, int64_t batch_tokens);

    EngineConfig cfg_;
    std::shared_ptr<LlamaModel> model_;
    std::shared_ptr<const Tokenizer> tokenizer_;
    std::string fingerprint_;
    int64_t n_vocab_ = 0, n_ctx_ = 0;

    std::shared_ptr<ComputeShare> compute_;
    std::optional<KvArena> arena_;
    std::unique_ptr<KvTiers> tiers_;  // null: no tier below the pool
    std::unique_ptr<BlockPool> blocks_;
    std::unique_ptr<KvCacheManager> kv_;
    KvCacheView view_;
    std::unique_ptr<Scheduler> sched_;
    std::unique_ptr<GrammarAutomata> grammars_;  // null without a tokenizer

    // Engine thread only.
    std::unordered_map<std::string, std::unique_ptr<RequestState>> requests_;
    uint64_t next_arrival_ = 0;
    ForwardBatch batch_;
    std::vector<float> logits_, fork_logits_;
    uint64_t steps_ = 0;
    double busy_seconds_ = 0;
    double last_step_seconds_ = 0;
    bool published_scanning_ = false;  // the last published stats show a disk scan running

    // Shared with API callers, under mu_.
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::unique_ptr<RequestState>> incoming_;
    std::vector<std::string> cancels_;
    std::unordered_set<std::string> live_ids_;
    bool stopping_ = false, drain_ = false;
    uint64_t id_counter_ = 0;
    std::mt19937_64 seed_rng_;
    std::atomic<int64_t> waiting_count_{0};

    mutable std::mutex stats_mu_;
    EngineStats stats_;

    mutable std::mutex join_mu_;
    std::thread thread_;
};

}  // namespace ig
