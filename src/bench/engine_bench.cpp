#include "bench/engine_bench.h"

#include <algorithm>
#include <deque>
#include <fstream>
#include <ostream>
#include <random>

#include <fmt/format.h>

#include "bench/model_bench.h"
#include "bench/stream_set.h"
#include "engine/engine.h"
#include "model/llama_model.h"

namespace ig {
namespace {

using namespace std::chrono_literals;

struct Bench {
    const BenchEngineOptions& o;
    std::ostream& out;
    std::unique_ptr<Engine> engine;
    int32_t n_vocab = 0;
    std::mt19937_64 rng;

    std::vector<int32_t> tokens(int64_t n) {
        std::vector<int32_t> v(static_cast<size_t>(n));
        for (auto& t : v) t = static_cast<int32_t>(rng() % static_cast<uint64_t>(n_vocab));
        return v;
    }
    int64_t uniform(int64_t lo, int64_t hi) {
        return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
    }
    // Drives `set` until every stream has finished.
    Status wait_all(StreamSet& set) {
        while (!set.all_finished()) set.poll(100ms);
        for (const RequestTrace& t : set.traces())
            if (t.finish == FinishReason::Error) return make_error("request failed: {}", t.error);
        return {};
    }
};

int32_t or_default(int32_t v, int32_t d) {
    return v > 0 ? v : d;
}

std::vector<const RequestTrace*> all_of(const StreamSet& s) {
    std::vector<const RequestTrace*> v;
    for (const RequestTrace& t : s.traces()) v.push_back(&t);
    return v;
}

double seconds(BenchClock::time_point a, BenchClock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

void add_summary(nlohmann::json& j, const LatencySummary& s, double wall_s) {
    s.put_distributions(j);  // the same flat names as `bench serve`
    j["mean_ttft_ms"] = s.mean_ttft_ms;
    j["p99_ttft_ms"] = s.p99_ttft_ms;
    j["mean_itl_ms"] = s.mean_itl_ms;
    j["p99_itl_ms"] = s.p99_itl_ms;
    j["output_tokens_per_s"] = wall_s > 0 ? static_cast<double>(s.output_tokens) / wall_s : 0.0;
    j["prefix_hit_rate"] = s.prefix_hit_rate();
}

// Aggregate decode rate at 1/4/16/64 concurrent sequences: tokens produced
// while all of them decode (after the last first token, before the first
// finish), over that window.
Expected<nlohmann::json> decode_scaling(Bench& b) {
    const int32_t out_len = or_default(b.o.output_len, 32);
    const int32_t prompt_len = or_default(b.o.prompt_len, 16);
    nlohmann::json rates = nlohmann::json::object(), levels = nlohmann::json::object();
    std::vector<RequestTrace> everything;
    const auto t_all = BenchClock::now();
    double single = 0;
    for (int conc : {1, 4, 16, 64}) {
        StreamSet set;
        for (int i = 0; i < conc; ++i) {
            auto r =
                set.submit(*b.engine, GenerationRequest::greedy(b.tokens(prompt_len), out_len));
            if (!r.ok()) return r.error();
        }
        IG_TRY(b.wait_all(set));
        BenchClock::time_point start{}, end = BenchClock::time_point::max();
        for (const RequestTrace& t : set.traces()) {
            start = std::max(start, t.token_times.front());
            end = std::min(end, t.token_times.back());
        }
        int64_t n = 0;
        for (const RequestTrace& t : set.traces())
            for (auto tt : t.token_times) n += tt > start && tt <= end;
        const double rate = end > start ? n / seconds(start, end) : 0.0;
        if (conc == 1) single = rate;
        const LatencySummary s = summarize(all_of(set));
        rates[std::to_string(conc)] = rate;
        nlohmann::json lj = s.to_json();
        lj["decode_tokens_per_s"] = rate;
        levels[std::to_string(conc)] = lj;
        b.out << fmt::format(
            "concurrency {:>3}: decode {:8.2f} tokens/s ({:5.2f}x single)  "
            "mean TTFT {:8.1f} ms  p99 ITL {:8.1f} ms\n",
            conc, rate, single > 0 ? rate / single : 0.0, s.mean_ttft_ms, s.p99_itl_ms);
        everything.insert(everything.end(), set.traces().begin(), set.traces().end());
    }
    std::vector<const RequestTrace*> all;
    for (const auto& t : everything) all.push_back(&t);
    nlohmann::json j{{"decode_tokens_per_s", rates},
                     {"levels", levels},
                     {"prompt_len", prompt_len},
                     {"output_len", out_len}};
    add_summary(j, summarize(all), seconds(t_all, BenchClock::now()));
    return j;
}

// A long system prompt shared by every request, then a 40-50-token question;
// one at a time, then 4 at a time. The system prompt is sent once first
// (not measured) so that the cache is warm, as in a running server.
Expected<nlohmann::json> shared_prefix(Bench& b) {
    const int32_t sys_len = or_default(b.o.prompt_len, 1600);
    const int32_t n_req = or_default(b.o.num_requests, 100);
    const int32_t out_len = or_default(b.o.output_len, 8);
    const std::vector<int32_t> system = b.tokens(sys_len);
    auto prompt = [&] {
        std::vector<int32_t> p = system;
        auto q = b.tokens(b.uniform(40, 50));
        p.insert(p.end(), q.begin(), q.end());
        return p;
    };
    {
        StreamSet warm;
        auto r = warm.submit(*b.engine, GenerationRequest::greedy(prompt(), 1));
        if (!r.ok()) return r.error();
        IG_TRY(b.wait_all(warm));
    }
    nlohmann::json j{{"system_prompt_len", sys_len},
                     {"num_requests", n_req},
                     {"output_len", out_len},
                     {"question_len", "40-50"}};
    std::vector<RequestTrace> everything;
    const auto t_all = BenchClock::now();
    for (int conc : {1, 4}) {
        StreamSet set;
        int submitted = 0;
        const auto t0 = BenchClock::now();
        while (submitted < n_req || !set.all_finished()) {
            while (submitted < n_req && static_cast<int>(set.active()) < conc) {
                auto r = set.submit(*b.engine, GenerationRequest::greedy(prompt(), out_len));
                if (!r.ok()) return r.error();
                ++submitted;
            }
            set.poll(100ms);
        }
        IG_TRY(b.wait_all(set));
        const LatencySummary s = summarize(all_of(set));
        nlohmann::json m = s.to_json();
        m["output_tokens_per_s"] = s.output_tokens / seconds(t0, BenchClock::now());
        j[conc == 1 ? "one_at_a_time" : "four_at_a_time"] = m;
        b.out << fmt::format(
            "{} at a time: mean TTFT {:9.1f} ms  p99 TTFT {:9.1f} ms  prefix hit "
            "rate {:5.1f} %\n",
            conc, s.mean_ttft_ms, s.p99_ttft_ms, 100 * s.prefix_hit_rate());
        everything.insert(everything.end(), set.traces().begin(), set.traces().end());
    }
    std::vector<const RequestTrace*> all;
    for (const auto& t : everything) all.push_back(&t);
    add_summary(j, summarize(all), seconds(t_all, BenchClock::now()));
    return j;
}

// Conversations of 4 (--turns) turns, each re-sending the whole conversation
// plus ~150 new tokens; `concurrency` conversations at a time. A slot keeps
// its conversation to the end; with KV tiers on, the conversations take
// turns in rotation instead (every first turn, then every second turn, ...),
// so each one's KV has to outlive all the others' turns: the working set is
// all conversations, not the slots'.
Expected<nlohmann::json> multi_turn(Bench& b) {
    const int32_t n_conv = or_default(b.o.num_requests, 8);
    const int32_t conc = or_default(b.o.concurrency, 4);
    const int32_t out_len = or_default(b.o.output_len, 16);
    const int32_t new_len = or_default(b.o.prompt_len, 150);
    const int kTurns = or_default(b.o.turns, 4);
    const bool rotate = b.o.rotate_turns;
    std::deque<int> ready;  // rotation: conversations whose next turn may start
    struct Conv {
        std::vector<int32_t> history;
        int turn = 0;
        std::optional<size_t> trace;
    };
    std::vector<Conv> convs(static_cast<size_t>(n_conv));
    StreamSet set;
    const auto t0 = BenchClock::now();
    int next_conv = 0;
    std::vector<int> slot_conv(static_cast<size_t>(conc), -1);
    auto start_turn = [&](int ci) -> Status {
        Conv& c = convs[static_cast<size_t>(ci)];
        const int32_t len = c.turn == 0 && b.o.first_turn_len > 0 ? b.o.first_turn_len : new_len;
        auto add = b.tokens(b.uniform(len - 10, len + 10));
        c.history.insert(c.history.end(), add.begin(), add.end());
        auto r = set.submit(*b.engine, GenerationRequest::greedy(c.history, out_len), c.turn);
        if (!r.ok()) return r.error();
        c.trace = *r;
        return {};
    };
    for (;;) {
        bool busy = false;
        for (int s = 0; s < conc; ++s) {
            int& ci = slot_conv[static_cast<size_t>(s)];
            if (ci >= 0) {
                Conv& c = convs[static_cast<size_t>(ci)];
                if (!set.finished(*c.trace)) {
                    busy = true;
                    continue;
                }
                const RequestTrace& t = set.trace(*c.trace);
                if (t.finish == FinishReason::Error) return make_error("turn failed: {}", t.error);
                c.history.insert(c.history.end(), t.tokens.begin(), t.tokens.end());
                if (++c.turn < kTurns) {
                    if (rotate) {
                        ready.push_back(ci);
                    } else {
                        IG_TRY(start_turn(ci));
                        busy = true;
                        continue;
                    }
                }
                ci = -1;
            }
            if (next_conv < n_conv) {
                ci = next_conv++;
                IG_TRY(start_turn(ci));
                busy = true;
            } else if (!ready.empty()) {
                ci = ready.front();
                ready.pop_front();
                IG_TRY(start_turn(ci));
                busy = true;
            }
        }
        if (!busy) break;
        set.poll(100ms);
    }
    const double wall = seconds(t0, BenchClock::now());
    nlohmann::json turns = nlohmann::json::array();
    std::vector<double> mean_ttft(static_cast<size_t>(kTurns));
    for (int turn = 0; turn < kTurns; ++turn) {
        std::vector<const RequestTrace*> v;
        for (const RequestTrace& t : set.traces())
            if (t.tag == turn) v.push_back(&t);
        const LatencySummary s = summarize(v);
        mean_ttft[static_cast<size_t>(turn)] = s.mean_ttft_ms;
        nlohmann::json tj = s.to_json();
        tj["turn"] = turn + 1;
        tj["mean_prompt_tokens"] =
            v.empty() ? 0.0 : static_cast<double>(s.prompt_tokens) / v.size();
        turns.push_back(tj);
        b.out << fmt::format(
            "turn {}: prompt {:6.0f} tokens  mean TTFT {:9.1f} ms  prefix hit "
            "rate {:5.1f} %\n",
            turn + 1, tj["mean_prompt_tokens"].get<double>(), s.mean_ttft_ms,
            100 * s.prefix_hit_rate());
    }
    const double ratio = mean_ttft[0] > 0 ? mean_ttft[kTurns - 1] / mean_ttft[0] : 0.0;
    b.out << fmt::format("turn {} / turn 1 mean TTFT: {:.2f}x\n", kTurns, ratio);
    // Conversations past 2,000 tokens: the figure KV tiers are judged by.
    std::vector<const RequestTrace*> long_turns;
    for (const RequestTrace& t : set.traces())
        if (t.usage.prompt_tokens > 2000) long_turns.push_back(&t);
    const LatencySummary sl = summarize(long_turns);
    if (!long_turns.empty())
        b.out << fmt::format(
            "turns with prompts > 2000 tokens: {}  mean TTFT {:9.1f} ms  p99 TTFT "
            "{:9.1f} ms  prefix hit rate {:5.1f} %\n",
            long_turns.size(), sl.mean_ttft_ms, sl.p99_ttft_ms, 100 * sl.prefix_hit_rate());
    nlohmann::json j{{"conversations", n_conv},       {"turns", kTurns},
                     {"concurrency", conc},           {"new_tokens_per_turn", new_len},
                     {"output_len", out_len},         {"per_turn", turns},
                     {"turn4_over_turn1_ttft", ratio}};
    j["rotate_turns"] = rotate;
    j["first_turn_len"] = b.o.first_turn_len > 0 ? b.o.first_turn_len : new_len;
    j["long_prompt_turns"] = sl.to_json();
    j["long_prompt_turns"]["count"] = long_turns.size();
    add_summary(j, summarize(all_of(set)), wall);
    return j;
}

// Running decodes while long prompts arrive one after another: the
// inter-token latency of the running decodes shows whether an arrival stalls
// them (chunked prefill off) or costs one chunk per step (on).
Expected<nlohmann::json> long_prompt_arrivals(Bench& b) {
    const int32_t n_dec = or_default(b.o.concurrency, 4);
    const int32_t n_arr = or_default(b.o.num_requests, 2);
    const int32_t long_len = or_default(b.o.prompt_len, 2000);
    const int32_t out_len = or_default(b.o.output_len, 48);
    StreamSet set;
    const auto t0 = BenchClock::now();
    std::vector<size_t> decodes, arrivals;
    for (int i = 0; i < n_dec; ++i) {
        auto r = set.submit(*b.engine, GenerationRequest::greedy(b.tokens(16), out_len), 0);
        if (!r.ok()) return r.error();
        decodes.push_back(*r);
    }
    // The first arrival once every decode is running, each next one once the
    // previous has its first token.
    while (static_cast<int>(arrivals.size()) < n_arr) {
        bool ready = true;
        if (arrivals.empty()) {
            for (size_t d : decodes) ready = ready && set.trace(d).tokens.size() >= 4;
        } else {
            ready = !set.trace(arrivals.back()).tokens.empty();
        }
        if (ready) {
            auto r = set.submit(*b.engine, GenerationRequest::greedy(b.tokens(long_len), 4), 1);
            if (!r.ok()) return r.error();
            arrivals.push_back(*r);
        }
        set.poll(20ms);
    }
    IG_TRY(b.wait_all(set));
    std::vector<const RequestTrace*> dec, arr;
    for (size_t d : decodes) dec.push_back(&set.trace(d));
    for (size_t a : arrivals) arr.push_back(&set.trace(a));
    const LatencySummary sd = summarize(dec), sa = summarize(arr);
    b.out << fmt::format(
        "running decodes: p99 ITL {:9.1f} ms  max ITL {:9.1f} ms  mean ITL "
        "{:8.1f} ms\n",
        sd.p99_itl_ms, sd.max_itl_ms, sd.mean_itl_ms);
    b.out << fmt::format("arrivals ({} x {} tokens): mean TTFT {:9.1f} ms\n", n_arr, long_len,
                         sa.mean_ttft_ms);
    nlohmann::json j{{"running_decodes", n_dec},       {"arrivals", n_arr},
                     {"arrival_prompt_len", long_len}, {"output_len", out_len},
                     {"decodes", sd.to_json()},        {"arrivals_summary", sa.to_json()}};
    add_summary(j, summarize(all_of(set)), seconds(t0, BenchClock::now()));
    j["p99_itl_ms"] = sd.p99_itl_ms;  // the figure this workload is about
    j["max_itl_ms"] = sd.max_itl_ms;
    return j;
}

}  // namespace

Expected<nlohmann::json> run_bench_engine(const BenchEngineOptions& o, std::ostream& out) {
    if (o.kv_type != "f16" && o.kv_type != "f32") return make_error("--kv-type must be f16 or f32");
    if (o.workload == "model") {
        nlohmann::json j;
        IG_ASSIGN_OR_RETURN(j, run_bench_model(o, out));
        return j;
    }
    using Fn = Expected<nlohmann::json> (*)(Bench&);
    Fn fn = nullptr;
    if (o.workload == "decode-scaling")
        fn = decode_scaling;
    else if (o.workload == "shared-prefix")
        fn = shared_prefix;
    else if (o.workload == "multi-turn")
        fn = multi_turn;
    else if (o.workload == "long-prompt-arrivals")
        fn = long_prompt_arrivals;
    else
        return make_error(
            "unknown workload '{}' (model, decode-scaling, shared-prefix, multi-turn, "
            "long-prompt-arrivals)",
            o.workload);

    auto loaded = LlamaModel::load(o.model);
    if (!loaded.ok()) return make_error("{}: {}", o.model, loaded.error().message);
    std::shared_ptr<LlamaModel> model(std::move(loaded).value());
    EngineConfig cfg;
    cfg.kv_bytes = o.kv_bytes > 0 ? o.kv_bytes : (int64_t{1} << 30);
    cfg.kv_type = o.kv_type == "f32" ? DType::F32 : DType::F16;
    cfg.threads = o.threads;
    cfg.enable_prefix_cache = o.prefix_cache;
    cfg.chunked_prefill = o.chunked_prefill;
    cfg.max_num_batched_tokens = o.max_num_batched_tokens;
    cfg.max_num_partial_prefills = o.max_num_partial_prefills;
    cfg.long_prefill_tokens = o.long_prefill_tokens;
    cfg.max_num_seqs = 64;
    cfg.kv_host_bytes = o.kv_host_bytes;
    cfg.kv_disk_dir = o.kv_disk_dir;
    cfg.kv_disk_bytes = o.kv_disk_bytes;
    cfg.kv_write_behind = o.kv_write_behind;
    IG_ASSIGN_OR_RETURN(cfg.kv_disk_sync, parse_disk_sync(o.kv_disk_sync));
    Bench b{o, out, nullptr, static_cast<int32_t>(model->config().n_vocab),
            std::mt19937_64(o.seed)};
    IG_ASSIGN_OR_RETURN(b.engine, Engine::create(model, nullptr, cfg));

    out << fmt::format(
        "bench engine: {} on {} (threads {}, prefix cache {}, chunked prefill {}, "
        "max_num_batched_tokens {}, max_num_partial_prefills {}, KV {} blocks)\n",
        o.workload, o.model, o.threads, o.prefix_cache ? "on" : "off",
        o.chunked_prefill ? "on" : "off", o.max_num_batched_tokens, o.max_num_partial_prefills,
        b.engine->stats().blocks_total);
    nlohmann::json j;
    IG_ASSIGN_OR_RETURN(j, fn(b));
    b.engine->flush_kv_tiers();
    const EngineStats st = b.engine->stats();
    b.engine->shutdown(true);
    nlohmann::json tiers = nlohmann::json::array();
    for (const TierStats& t : st.tiers) {
        const double wbw = t.write_seconds > 0 ? t.bytes_written / t.write_seconds : 0.0;
        const double rbw = t.read_seconds > 0 ? t.bytes_read / t.read_seconds : 0.0;
        const double mean_load_ms = t.load_count ? 1e3 * t.load_latency_sum_s / t.load_count : 0.0;
        out << fmt::format(
            "KV tier {}: hits {} blocks ({} tokens), misses {} blocks, written {:.1f} MiB, read "
            "{:.1f} MiB, mean load {:.3f} ms/block, {} blocks held, dropped {}, errors {}",
            t.name, t.hit_blocks, t.hit_tokens, t.miss_blocks, t.bytes_written / 1048576.0,
            t.bytes_read / 1048576.0, mean_load_ms, t.blocks, t.dropped, t.errors + t.corrupt);
        if (t.name == "disk")
            out << fmt::format(", write {:.0f} MiB/s, read {:.0f} MiB/s (per IO thread)",
                               wbw / 1048576.0, rbw / 1048576.0);
        out << "\n";
        tiers.push_back({{"name", t.name},
                         {"hit_blocks", t.hit_blocks},
                         {"hit_tokens", t.hit_tokens},
                         {"miss_blocks", t.miss_blocks},
                         {"bytes_written", t.bytes_written},
                         {"bytes_read", t.bytes_read},
                         {"write_bytes_per_s", wbw},
                         {"read_bytes_per_s", rbw},
                         {"mean_load_ms", mean_load_ms},
                         {"blocks", t.blocks},
                         {"dropped", t.dropped},
                         {"errors", t.errors},
                         {"corrupt", t.corrupt}});
    }
    j["workload"] = o.workload;
    j["model"] = o.model;
    j["threads"] = o.threads;
    j["prefix_cache"] = o.prefix_cache;
    j["chunked_prefill"] = o.chunked_prefill;
    j["max_num_batched_tokens"] = o.max_num_batched_tokens;
    j["max_num_partial_prefills"] = o.max_num_partial_prefills;
    j["long_prefill_tokens"] = o.long_prefill_tokens;
    j["kv_bytes"] = cfg.kv_bytes;
    j["kv_type"] = o.kv_type;
    j["kv_write_behind"] = o.kv_write_behind;
    j["engine"] = {{"steps", st.steps},
                   {"busy_seconds", st.busy_seconds},
                   {"preemptions", st.preemptions},
                   {"prefix_queries_tokens", st.prefix.queries_tokens},
                   {"prefix_hits_tokens", st.prefix.hits_tokens},
                   {"prefix_tier_hits_tokens", st.prefix.tier_hits_tokens},
                   {"kv_tiers", tiers}};
    out << fmt::format(
        "mean TTFT {:.1f} ms, p99 TTFT {:.1f} ms, p99 ITL {:.1f} ms, output {:.2f} "
        "tokens/s, prefix hit rate {:.1f} %\n",
        j["mean_ttft_ms"].get<double>(), j["p99_ttft_ms"].get<double>(),
        j["p99_itl_ms"].get<double>(), j["output_tokens_per_s"].get<double>(),
        100 * j["prefix_hit_rate"].get<double>());
    return j;
}

}  // namespace ig
