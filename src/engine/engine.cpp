#include "engine/engine.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include <fmt/format.h>

#include "engine/model_fingerprint.h"
#include "engine/token_output.h"
#include "kvcache/block_hash.h"

namespace ig {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int32_t kMaxChoices = 128;
constexpr int32_t kMaxBlockTokens = 256;

}  // namespace

SubmitError submit_error(const Error& e) {
    switch (e.code) {
        case ErrorCode::QueueFull:
            return SubmitError::QueueFull;
        case ErrorCode::Unavailable:
            return SubmitError::ShuttingDown;
        default:
            return SubmitError::Invalid;
    }
}

Expected<std::unique_ptr<Engine>> Engine::create(std::shared_ptr<LlamaModel> model,
                                                 std::shared_ptr<const Tokenizer> tokenizer,
                                                 EngineConfig cfg) {
    if (!model) return make_error("engine: no model");
    const ModelConfig& mc = model->config();
    if (tokenizer && tokenizer->n_vocab() != mc.n_vocab)
        return make_error("engine: tokenizer has {} tokens, model has {}", tokenizer->n_vocab(),
                          mc.n_vocab);
    if (cfg.block_tokens < 1 || cfg.block_tokens > kMaxBlockTokens)
        return make_error("engine: block_tokens {} not in [1, {}]", cfg.block_tokens,
                          kMaxBlockTokens);
    if (cfg.kv_type != DType::F16 && cfg.kv_type != DType::F32)
        return make_error("engine: KV type {} is not supported (f16, f32)",
                          dtype_name(cfg.kv_type));
    if (cfg.max_num_seqs < 1) return make_error("engine: max_num_seqs must be >= 1");
    if (cfg.max_num_batched_tokens < 1)
        return make_error("engine: max_num_batched_tokens must be >= 1");
    if (cfg.max_num_partial_prefills < 0 || cfg.long_prefill_tokens < 0)
        return make_error("engine: max_num_partial_prefills and long_prefill_tokens must be >= 0");
    if (cfg.max_waiting < 1) return make_error("engine: max_waiting must be >= 1");
    if (!(cfg.priority_aging_seconds >= 0))
        return make_error("engine: priority_aging_seconds must be >= 0");
    if (cfg.kv_bytes < 0) return make_error("engine: kv_bytes must be >= 0");
    if (cfg.max_context < 0 || cfg.max_context > mc.n_ctx_train)
        return make_error("engine: context {} is not in [1, {}] (the model's trained context)",
                          cfg.max_context, mc.n_ctx_train);

    std::unique_ptr<Engine> e(new Engine());
    const KvLayout layout = model->kv_layout(cfg.block_tokens, cfg.kv_type);
    if (cfg.kv_bytes == 0) cfg.kv_bytes = default_kv_budget_bytes(0);
    auto arena = KvArena::for_budget(cfg.kv_bytes, layout.block_bytes());
    if (!arena.ok()) return make_error("engine: KV cache: {}", arena.error().message);
    e->arena_.emplace(std::move(arena).value());
    if (cfg.model_fingerprint.empty()) cfg.model_fingerprint = model_fingerprint(model->gguf());

    e->cfg_ = cfg;
    e->model_ = std::move(model);
    e->tokenizer_ = std::move(tokenizer);
    if (e->tokenizer_) e->grammars_ = std::make_unique<GrammarAutomata>(e->tokenizer_);
    e->fingerprint_ = cfg.model_fingerprint;
    e->n_vocab_ = mc.n_vocab;
    e->n_ctx_ = cfg.max_context > 0 ? cfg.max_context : mc.n_ctx_train;
    e->compute_ = cfg.compute ? cfg.compute : std::make_shared<ComputeShare>(cfg.threads);
    e->blocks_ = std::make_unique<BlockPool>(static_cast<int32_t>(e->arena_->num_blocks()));
    e->kv_ =
        std::make_unique<KvCacheManager>(*e->blocks_, cfg.block_tokens, cfg.enable_prefix_cache);
    if (cfg.enable_prefix_cache) {
        KvTiersConfig tc;
        tc.host_bytes = cfg.kv_host_bytes;
        tc.host_q8 = cfg.kv_host_q8;
        tc.elem_bytes = cfg.kv_type == DType::F32 ? 4 : 2;
        tc.disk_dir = cfg.kv_disk_dir;
        tc.disk_bytes = cfg.kv_disk_bytes;
        tc.disk_io_threads = cfg.kv_disk_io_threads;
        tc.disk_load_timeout = cfg.kv_disk_load_timeout;
        tc.disk_read_at = cfg.kv_disk_read_at;
        tc.disk_sync = cfg.kv_disk_sync;
        tc.write_behind = cfg.kv_write_behind;
        // Blocks are only interchangeable between engines of the same model and KV layout.
        tc.layout_key =
            fmt::format("{}|kv={}|block_tokens={}|block_bytes={}", cfg.model_fingerprint,
                        dtype_name(cfg.kv_type), cfg.block_tokens, layout.block_bytes());
        tc.block_tokens = cfg.block_tokens;
        auto tiers = KvTiers::create(tc, *e->arena_);
        if (!tiers.ok()) return make_error("engine: KV tiers: {}", tiers.error().message);
        e->tiers_ = std::move(tiers).value();
        if (e->tiers_) {
            e->blocks_->set_evict_hook(
                [t = e->tiers_.get()](BlockId id, const BlockHash& h) { t->on_evict(id, h); });
            e->kv_->set_tiers(e->tiers_.get());
        }
    }
    e->view_ = KvCacheView{layout, e->arena_->base(), e->arena_->num_blocks()};
    e->sched_ = std::make_unique<Scheduler>(
        SchedulerConfig{cfg.max_num_seqs, cfg.max_num_batched_tokens, cfg.chunked_prefill,
                        cfg.max_num_partial_prefills, cfg.long_prefill_tokens,
                        cfg.priority_aging_seconds, cfg.tenant_fair_share},
        *e->kv_);
    e->seed_rng_.seed(std::random_device{}());
    e->publish_stats(0, 0);
    e->thread_ = std::thread([p = e.get()] { p->loop(); });
    return e;
}

Engine::~Engine() {
    shutdown(false);
}

Expected<std::shared_ptr<RequestStream>> Engine::submit(GenerationRequest req) {
    const StopParams& sp = req.stop;
    if (req.prompt.empty()) return make_error("prompt: must not be empty");
    for (size_t i = 0; i < req.prompt.size(); ++i)
        if (req.prompt[i] < 0 || req.prompt[i] >= n_vocab_)
            return make_error("prompt: token {} (at {}) is outside the vocabulary [0, {})",
                              req.prompt[i], i, n_vocab_);
    if (req.n < 1 || req.n > std::min(kMaxChoices, cfg_.max_num_seqs))
        return make_error("n: {} not in [1, {}]", req.n, std::min(kMaxChoices, cfg_.max_num_seqs));
    if (sp.max_tokens < 1) return make_error("max_tokens: {} must be >= 1", sp.max_tokens);
    if (sp.min_tokens < 0) return make_error("min_tokens: {} must be >= 0", sp.min_tokens);
    const auto n_prompt = static_cast<int64_t>(req.prompt.size());
    if (n_prompt > n_ctx_ || sp.max_tokens > n_ctx_ - n_prompt)
        return make_error(
            "prompt ({} tokens) + max_tokens ({}) exceeds the model's context length {}", n_prompt,
            sp.max_tokens, n_ctx_);
    for (int32_t id : sp.stop_token_ids)
        if (id < 0 || id >= n_vocab_)
            return make_error("stop_token_ids: {} is outside the vocabulary [0, {})", id, n_vocab_);
    for (const std::string& s : sp.stop)
        if (s.empty()) return make_error("stop: stop strings must not be empty");
    if (!sp.stop.empty() && !tokenizer_)
        return make_error("stop: stop strings need a tokenizer, the engine has none");
    if (req.grammar && !tokenizer_)
        return make_error("constrained decoding needs a tokenizer, the engine has none");
    IG_TRY(req.sampling.validate(static_cast<int32_t>(n_vocab_)));
    if (!(req.tenant_weight > 0) || req.tenant_weight > 1e6)
        return make_error("tenant_weight: {} not in (0, 1e6]", req.tenant_weight);
    const int64_t bt = cfg_.block_tokens;
    const int64_t prompt_blocks = (n_prompt + bt) / bt;  // + the first generated token
    if (prompt_blocks > blocks_->num_blocks())
        return make_error("prompt: {} tokens need {} KV blocks, the KV cache holds {}", n_prompt,
                          prompt_blocks, blocks_->num_blocks());

    auto r = std::make_unique<RequestState>();
    std::shared_ptr<RequestStream> stream;
    {
        std::lock_guard lk(mu_);
        if (stopping_) return make_error(ErrorCode::Unavailable, "the engine is shutting down");
        if (static_cast<int64_t>(incoming_.size()) + waiting_count_.load() >= cfg_.max_waiting)
            return make_error(ErrorCode::QueueFull, "the waiting queue is full ({} requests)",
                              cfg_.max_waiting);
        if (req.id.empty()) req.id = "req-" + std::to_string(++id_counter_);
        if (live_ids_.count(req.id))
            return make_error("id: request '{}' is already running", req.id);
        r->seed = req.sampling.seed ? *req.sampling.seed : seed_rng_();
        live_ids_.insert(req.id);
        stream = std::make_shared<RequestStream>(req.id, req.n);
        r->stream = stream;
        r->done.assign(static_cast<size_t>(req.n), false);
        r->req = std::move(req);
        incoming_.push_back(std::move(r));
    }
    cv_.notify_one();
    return stream;
}

void Engine::cancel(const std::string& request_id) {
    {
        std::lock_guard lk(mu_);
        cancels_.push_back(request_id);
    }
    cv_.notify_one();
}

void Engine::shutdown(bool drain) {
    {
        std::lock_guard lk(mu_);
        if (!stopping_)
            drain_ = drain;
        else
            drain_ = drain_ && drain;  // a later hard shutdown overrides a drain
        stopping_ = true;
    }
    cv_.notify_one();
    std::lock_guard lk(join_mu_);
    if (thread_.joinable()) thread_.join();
}

EngineStats Engine::stats() const {
    std::lock_guard lk(stats_mu_);
    return stats_;
}

Status Engine::check_idle() const {
    {
        std::lock_guard lk(join_mu_);
        if (thread_.joinable()) return make_error("check_idle: the engine is still running");
    }
    IG_TRY(blocks_->check());
    if (blocks_->num_used() != 0)
        return make_error("check_idle: {} blocks are still referenced", blocks_->num_used());
    if (sched_->num_running() != 0 || sched_->num_waiting() != 0)
        return make_error("check_idle: {} running, {} waiting sequences left",
                          sched_->num_running(), sched_->num_waiting());
    if (!requests_.empty()) return make_error("check_idle: {} requests left", requests_.size());
    return {};
}

void Engine::flush_kv_tiers() {
    if (tiers_) tiers_->flush();
}

bool Engine::wait_kv_disk_scanned(std::chrono::milliseconds timeout) {
    return !tiers_ || !tiers_->disk() || tiers_->disk()->wait_scanned(timeout);
}

void Engine::loop() {
    for (;;) {
        std::vector<std::unique_ptr<RequestState>> in;
        std::vector<std::string> cancels;
        bool stop = false, drain = false;
        {
            std::unique_lock lk(mu_);
            // requests_ is only touched by this thread: safe to read here.
            const auto work = [&] {
                return !incoming_.empty() || !cancels_.empty() || stopping_ || !requests_.empty();
            };
            // While the published stats show the disk tier's scan running,
            // wake now and then to publish them again (gauge, blocks found).
            if (published_scanning_)
                cv_.wait_for(lk, std::chrono::milliseconds(100), work);
            else
                cv_.wait(lk, work);
            in.swap(incoming_);
            cancels.swap(cancels_);
            stop = stopping_;
            drain = drain_;
        }
        for (auto& r : in) intake(std::move(r));
        for (const std::string& id : cancels) {
            auto it = requests_.find(id);
            if (it != requests_.end()) finish_request(*it->second, FinishReason::Cancelled, "");
        }
        if (stop && !drain) {
            std::vector<RequestState*> all;
            for (auto& [id, r] : requests_) all.push_back(r.get());
            for (RequestState* r : all)
                finish_request(*r, FinishReason::Cancelled, "the engine is shutting down");
        }
        const auto now = Clock::now();
        std::vector<RequestState*> late;
        for (auto& [id, r] : requests_)
            if (r->req.deadline && *r->req.deadline <= now) late.push_back(r.get());
        for (RequestState* r : late)
            finish_request(*r, FinishReason::Cancelled, "deadline exceeded");

        if (requests_.empty()) {
            kv_->poll_loads();  // prefetches of cancelled requests stay cached
            publish_stats(0, 0);
            if (stop) {
                kv_->wait_loads();
                // Write the pool's cached blocks down too, so that a restart
                // on the same disk directory finds them.
                if (tiers_)
                    blocks_->for_each_cached(
                        [&](BlockId id, const BlockHash& h) { tiers_->on_evict(id, h); });
                break;
            }
            continue;
        }
        run_step();
    }
}

void Engine::intake(std::unique_ptr<RequestState> r) {
    auto s = std::make_unique<Sequence>();
    const GenerationRequest& q = r->req;
    s->request = r.get();
    s->choice = 0;
    s->priority = q.priority;
    s->arrival_seq = next_arrival_++;
    s->group = std::hash<std::string>{}(q.group.empty() ? q.id : q.group);
    s->tenant = std::hash<std::string>{}(q.tenant);
    s->tenant_weight = q.tenant_weight;
    s->tenant_label = r->req.tenant;
    s->root = root_hash(fingerprint_, q.cache_salt);
    s->tokens = q.prompt;
    s->prompt_len = static_cast<int64_t>(q.prompt.size());
    s->pending_forks = q.n - 1;
    s->sampler.emplace(q.sampling, static_cast<int32_t>(n_vocab_), r->seed);
    s->sampler->add_prompt(q.prompt);
    s->stop.emplace(q.stop.stop, q.stop.include_stop_str_in_output);
    if (q.grammar) s->grammar.emplace(grammars_->get(q.grammar));
    if (tokenizer_) s->decoder = std::make_unique<IncrementalDecoder>(*tokenizer_, false);
    s->times.arrival = Clock::now();
    sched_->add_waiting(s.get());
    r->seqs.push_back(std::move(s));
    const std::string id = r->req.id;
    requests_.emplace(id, std::move(r));
}

void Engine::run_step() {
    const auto t0 = Clock::now();
    SchedulerOutput out = sched_->step();
    if (!out.failed.empty()) {
        // A failed choice ends its whole request: drop its siblings' chunks
        // before the request (and its sequences) is destroyed.
        std::vector<std::pair<std::string, std::string>> failed;
        for (const FailedSeq& f : out.failed) failed.emplace_back(f.seq->request->req.id, f.error);
        std::erase_if(out.chunks, [&](const ScheduledChunk& c) {
            for (const auto& f : failed)
                if (c.seq->request->req.id == f.first) return true;
            return false;
        });
        out.n_tokens = 0;
        for (const ScheduledChunk& c : out.chunks) out.n_tokens += c.n;
        for (const auto& [id, error] : failed) {
            auto it = requests_.find(id);
            if (it != requests_.end()) finish_request(*it->second, FinishReason::Error, error);
        }
    }
    waiting_count_.store(static_cast<int64_t>(sched_->num_waiting()));
    if (out.chunks.empty()) {
        publish_stats(0, 0);
        // Nothing to compute now (every request waits for its tier loads, or
        // nothing fits): don't spin.
        std::unique_lock lk(mu_);
        cv_.wait_for(lk, std::chrono::milliseconds(1));
        return;
    }

    batch_.seqs.clear();
    int64_t rows = 0;
    for (const ScheduledChunk& c : out.chunks) {
        Sequence& s = *c.seq;
        batch_.seqs.push_back({std::span<const int32_t>(s.tokens).subspan(
                                   static_cast<size_t>(c.start), static_cast<size_t>(c.n)),
                               c.start, std::span<const int32_t>(s.blocks.table),
                               c.logits ? 1 : 0});
        rows += c.logits ? 1 : 0;
    }
    if (logits_.size() < static_cast<size_t>(rows * n_vocab_))
        logits_.resize(static_cast<size_t>(rows * n_vocab_));
    Status st;
    {
        ComputeShare::Turn turn(*compute_);
        st = model_->forward(batch_, view_, turn.pool(), logits_);
    }
    if (!st.ok()) {
        std::vector<std::string> ids;
        for (const ScheduledChunk& c : out.chunks) ids.push_back(c.seq->request->req.id);
        for (const std::string& id : ids) {
            auto it = requests_.find(id);
            if (it != requests_.end())
                finish_request(*it->second, FinishReason::Error,
                               "forward pass failed: " + st.error().message);
        }
        publish_stats(std::chrono::duration<double>(Clock::now() - t0).count(), out.n_tokens);
        return;
    }

    int64_t row = 0;
    for (const ScheduledChunk& c : out.chunks) {
        Sequence& s = *c.seq;
        s.num_computed += c.n;
        kv_->publish_full(s.blocks, s.root, s.tokens, s.num_computed);
        if (!c.logits) continue;
        float* lg = logits_.data() + row++ * n_vocab_;
        if (s.pending_forks > 0) fork_choices(s, lg);
        const std::span<float> row_logits(lg, static_cast<size_t>(n_vocab_));
        if (!constrain(s, row_logits)) continue;
        SampledToken tok = s.sampler->sample(row_logits);
        on_token(s, std::move(tok));
    }
    ++steps_;
    publish_stats(std::chrono::duration<double>(Clock::now() - t0).count(), out.n_tokens);
}

void Engine::fork_choices(Sequence& parent, const float* logits) {
    RequestState& r = *parent.request;
    const int32_t n = r.req.n;
    parent.pending_forks = 0;
    for (int32_t c = 1; c < n; ++c) {
        auto child = std::make_unique<Sequence>();
        Sequence& s = *child;
        s.request = &r;
        s.choice = c;
        s.priority = parent.priority;
        s.arrival_seq = parent.arrival_seq;
        s.group = parent.group;
        s.tenant = parent.tenant;
        s.tenant_weight = parent.tenant_weight;
        s.tenant_label = parent.tenant_label;
        s.root = parent.root;
        s.tokens = parent.tokens;
        s.prompt_len = parent.prompt_len;
        s.cached_at_admission = parent.cached_at_admission;
        s.sampler.emplace(parent.sampler->fork(r.seed + static_cast<uint64_t>(c)));
        s.stop.emplace(r.req.stop.stop, r.req.stop.include_stop_str_in_output);
        s.grammar = parent.grammar;
        if (tokenizer_) s.decoder = std::make_unique<IncrementalDecoder>(*tokenizer_, false);
        s.times = parent.times;
        auto f = kv_->fork(parent.blocks, s.blocks, parent.num_computed);
        if (f.ok()) {
            if (f.value()) arena_->copy_block(f.value()->second, f.value()->first);
            s.num_computed = parent.num_computed;
            sched_->add_running(&s);
        } else {
            // No blocks for the copy now: recompute later (the prefix cache
            // usually still holds the prompt's full blocks).
            kv_->free(s.blocks);
            s.num_computed = 0;
            sched_->add_preempted(&s);
        }
        r.seqs.push_back(std::move(child));
        fork_logits_.assign(logits, logits + n_vocab_);
        if (!constrain(s, fork_logits_)) continue;
        SampledToken tok = s.sampler->sample(fork_logits_);
        on_token(s, std::move(tok));
    }
}

void Engine::on_token(Sequence& s, SampledToken st) {
    RequestState& r = *s.request;
    // A choice also ends ("length") where its KV would outgrow the whole cache.
    const int64_t kv_tokens = int64_t{blocks_->num_blocks()} * cfg_.block_tokens;
    StreamEvent ev =
        append_token(s, r, std::move(st), tokenizer_.get(), std::min(n_ctx_, kv_tokens));
    const bool finished = ev.finish.has_value();
    if (finished) {
        sched_->remove(&s);
        r.done[static_cast<size_t>(s.choice)] = true;
    }
    r.stream->push(std::move(ev));
    if (finished) erase_if_done(r);
}

bool Engine::constrain(Sequence& s, std::span<float> logits) {
    if (!s.grammar || s.grammar->apply(logits)) return true;
    finish_choice(s, FinishReason::Error,
                  s.grammar->overflowed()
                      ? "grammar: too complex to follow (the matcher outgrew its limits)"
                      : "grammar: no token of the vocabulary can continue the output");
    return false;
}

void Engine::finish_choice(Sequence& s, FinishReason reason, const std::string& error) {
    RequestState& r = *s.request;
    sched_->remove(&s);
    r.done[static_cast<size_t>(s.choice)] = true;
    r.stream->push(final_event(r, s.choice, reason, error));
    erase_if_done(r);
}

void Engine::finish_request(RequestState& r, FinishReason reason, const std::string& error) {
    std::vector<StreamEvent> evs;
    for (auto& s : r.seqs)
        if (s->status != SeqStatus::Finished) sched_->remove(s.get());
    for (int32_t c = 0; c < r.req.n; ++c) {
        if (r.done[static_cast<size_t>(c)]) continue;
        r.done[static_cast<size_t>(c)] = true;
        evs.push_back(final_event(r, c, reason, error));
    }
    r.stream->push(std::move(evs));
    erase_if_done(r);
}

void Engine::erase_if_done(RequestState& r) {
    if (!r.all_done()) return;
    for (auto& s : r.seqs)
        if (s->status != SeqStatus::Finished) sched_->remove(s.get());
    const std::string id = r.req.id;
    {
        std::lock_guard lk(mu_);
        live_ids_.erase(id);
    }
    requests_.erase(id);  // destroys r
}

void Engine::publish_stats(double busy, int64_t batch_tokens) {
    busy_seconds_ += busy;
    if (busy > 0) last_step_seconds_ = busy;
    EngineStats s;
    s.running = static_cast<int32_t>(sched_->num_running());
    s.waiting = static_cast<int32_t>(sched_->num_waiting());
    s.blocks_total = blocks_->num_blocks();
    s.blocks_free = blocks_->num_free();
    s.blocks_used = blocks_->num_used();
    s.blocks_cached = blocks_->num_cached();
    s.preemptions = sched_->preemptions();
    s.prefix = kv_->stats();
    s.steps = steps_;
    s.busy_seconds = busy_seconds_;
    s.last_batch_tokens = static_cast<int32_t>(batch_tokens);
    s.last_step_seconds = last_step_seconds_;
    if (busy > 0 && cfg_.step_observer)
        cfg_.step_observer({busy, static_cast<int32_t>(batch_tokens), s.running});
    if (tiers_) s.tiers = tiers_->stats();
    if (sched_->token_counters().active() > 0) sched_->token_counters().lags(s.tenant_lags);
    published_scanning_ =
        std::any_of(s.tiers.begin(), s.tiers.end(), [](const TierStats& t) { return t.scanning; });
    std::lock_guard lk(stats_mu_);
    stats_ = s;
}

}  // namespace ig
