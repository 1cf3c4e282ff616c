#include "bench/load_generator.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <list>
#include <mutex>
#include <ostream>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "bench/sse_client.h"

namespace ig {
namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

// Conversation so far, rendered for either API.
struct Conversation {
    std::string system;
    std::vector<std::pair<std::string, std::string>> turns;  // (user, assistant)
    // Multi-turn sessions frame every turn the same way from the first one on,
    // so that each prompt extends the previous one token for token.
    bool framed = false;

    nlohmann::json messages(const std::string& user) const {
        nlohmann::json m = nlohmann::json::array();
        if (!system.empty()) m.push_back({{"role", "system"}, {"content", system}});
        for (const auto& [u, a] : turns) {
            m.push_back({{"role", "user"}, {"content", u}});
            m.push_back({{"role", "assistant"}, {"content", a}});
        }
        m.push_back({{"role", "user"}, {"content", user}});
        return m;
    }
    std::string prompt(const std::string& user) const {
        std::string p = system.empty() ? "" : system + "\n\n";
        for (const auto& [u, a] : turns) p += "User: " + u + "\nAssistant:" + a + "\n";
        if (turns.empty() && system.empty() && !framed) return user;
        return p + "User: " + user + "\nAssistant:";
    }
};

class Runner {
  public:
    Runner(const BenchServeOptions& o, BaseUrl base)
        : o_(o), base_(std::move(base)), chat_(o.endpoint.ends_with("chat/completions")) {}

    std::string body(const Conversation& c, const Turn& t) const {
        nlohmann::json b = {{"model", o_.model},
                            {"max_tokens", t.output_len},
                            {"stream", true},
                            {"stream_options", {{"include_usage", true}}},
                            {"temperature", o_.temperature}};
        if (o_.ignore_eos) {
            b["ignore_eos"] = true;
            b["min_tokens"] = t.output_len;
        }
        if (chat_)
            b["messages"] = c.messages(t.user);
        else
            b["prompt"] = c.prompt(t.user);
        b.merge_patch(o_.extra_body);
        return b.dump();
    }

    RequestResult request(const Conversation& c, const Turn& t, Clock::time_point bench_t0) const {
        RequestResult r;
        r.requested_output = t.output_len;
        const std::string payload = body(c, t);
        int64_t content_chunks = 0;
        bool usage_seen = false, done = false;
        Clock::time_point last{};
        const auto t0 = Clock::now();
        r.start_s = std::chrono::duration<double>(t0 - bench_t0).count();
        auto on_data = [&](std::string_view data) {
            const auto now = Clock::now();
            if (data == "[DONE]") {
                done = true;
                return;
            }
            auto j = nlohmann::json::parse(data, nullptr, false);
            if (j.is_discarded() || !j.is_object()) {
                if (r.error.empty())
                    r.error = "unparsable event: " + std::string(data.substr(0, 200));
                return;
            }
            if (j.contains("error")) {
                r.error = j["error"].is_object() ? j["error"].value("message", j["error"].dump())
                                                 : j["error"].dump();
                return;
            }
            if (j.contains("usage") && j["usage"].is_object()) {
                const auto& u = j["usage"];
                usage_seen = true;
                r.prompt_tokens = u.value("prompt_tokens", int64_t{0});
                r.output_tokens = u.value("completion_tokens", int64_t{0});
                if (u.contains("prompt_tokens_details") && u["prompt_tokens_details"].is_object())
                    r.cached_tokens = u["prompt_tokens_details"].value("cached_tokens", int64_t{0});
            }
            if (!j.contains("choices") || !j["choices"].is_array() || j["choices"].empty()) return;
            const auto& ch = j["choices"][0];
            std::string text;
            if (chat_) {
                if (ch.contains("delta") && ch["delta"].is_object()) {
                    const auto& d = ch["delta"];
                    if (d.contains("content") && d["content"].is_string())
                        text = d["content"].get<std::string>();
                    else if (d.contains("reasoning_content") && d["reasoning_content"].is_string())
                        text = d["reasoning_content"].get<std::string>();
                }
            } else if (ch.contains("text") && ch["text"].is_string()) {
                text = ch["text"].get<std::string>();
            }
            if (text.empty()) return;
            if (content_chunks == 0)
                r.ttft_ms = ms_between(t0, now);
            else
                r.itl_ms.push_back(ms_between(last, now));
            last = now;
            ++content_chunks;
            r.text += text;
        };
        auto reply =
            post_streaming(base_, o_.endpoint, payload, on_data,
                           std::chrono::milliseconds(static_cast<int64_t>(o_.timeout_s * 1000)));
        r.e2e_ms = ms_between(t0, Clock::now());
        if (!reply.ok()) {
            r.error = reply.error().message;
        } else if (reply->status != 200) {
            r.error = fmt::format("HTTP {}: {}", reply->status, reply->body.substr(0, 300));
        } else if (r.error.empty() && content_chunks == 0) {
            r.error = "no content streamed";
        } else if (r.error.empty() && !done) {
            r.error = "stream ended without [DONE]";
        }
        if (!usage_seen) r.output_tokens = content_chunks;
        r.ok = r.error.empty();
        return r;
    }

    // Runs the turns of one session in order; a failed turn ends it.
    std::vector<RequestResult> session(const Session& s, int32_t index,
                                       Clock::time_point bench_t0) const {
        std::vector<RequestResult> out;
        Conversation c;
        c.framed = s.turns.size() > 1;
        for (size_t k = 0; k < s.turns.size(); ++k) {
            const Turn& t = s.turns[k];
            if (k == 0) c.system = t.system;
            // The user reads the answer and types: other conversations run
            // meanwhile, which is what pushes this one's KV out of the pool.
            if (k > 0 && o_.think_time_s > 0)
                std::this_thread::sleep_for(std::chrono::duration<double>(o_.think_time_s));
            RequestResult r = request(c, t, bench_t0);
            r.session = index;
            r.turn = static_cast<int32_t>(k);
            const bool ok = r.ok;
            c.turns.emplace_back(t.user, r.text);
            out.push_back(std::move(r));
            if (!ok) break;
        }
        return out;
    }

  private:
    const BenchServeOptions& o_;
    BaseUrl base_;
    bool chat_;
};

// Threads of finished sessions are joined as the run goes.
class Workers {
  public:
    template <class F>
    void spawn(F f) {
        reap(false);
        auto done = std::make_shared<std::atomic<bool>>(false);
        std::lock_guard lock(mu_);
        list_.push_back({std::thread([f = std::move(f), done]() mutable {
                             f();
                             done->store(true);
                         }),
                         done});
    }
    void reap(bool all) {
        std::list<Item> finished;
        {
            std::lock_guard lock(mu_);
            for (auto it = list_.begin(); it != list_.end();) {
                auto next = std::next(it);
                if (all || it->done->load()) finished.splice(finished.end(), list_, it);
                it = next;
            }
        }
        for (Item& i : finished) i.thread.join();
    }
    ~Workers() { reap(true); }

  private:
    struct Item {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> done;
    };
    std::mutex mu_;
    std::list<Item> list_;
};

class ProgressBar {
  public:
    ProgressBar(bool on, size_t total, std::string label)
        : on_(on && isatty(STDERR_FILENO)), total_(total), label_(std::move(label)) {
        if (on_) thread_ = std::thread([this] { loop(); });
    }
    ~ProgressBar() { finish(); }
    void finish() {
        if (!thread_.joinable()) return;
        {
            std::lock_guard lock(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        thread_.join();
        draw();
        std::fputc('\n', stderr);
    }
    std::atomic<int64_t> done{0}, failed{0};

  private:
    void loop() {
        std::unique_lock lock(mu_);
        while (!cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return stop_; })) draw();
    }
    void draw() {
        const double secs = std::chrono::duration<double>(Clock::now() - t0_).count();
        const int64_t d = done.load();
        const int width = 30;
        const int fill =
            total_ ? static_cast<int>(width * std::min<double>(1.0, d / double(total_))) : 0;
        std::fprintf(stderr, "\r%s [%s%s] %lld/%zu done, %lld failed, %.1f s", label_.c_str(),
                     std::string(static_cast<size_t>(fill), '#').c_str(),
                     std::string(static_cast<size_t>(width - fill), '.').c_str(),
                     static_cast<long long>(d), total_, static_cast<long long>(failed.load()),
                     secs);
        std::fflush(stderr);
    }
    bool on_;
    size_t total_;
    std::string label_;
    Clock::time_point t0_ = Clock::now();
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::thread thread_;
};

class Semaphore {
  public:
    explicit Semaphore(int64_t n) : n_(n) {}
    void acquire() {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return n_ > 0; });
        --n_;
    }
    void release() {
        {
            std::lock_guard lock(mu_);
            ++n_;
        }
        cv_.notify_one();
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    int64_t n_;
};

struct RunOutcome {
    std::vector<RequestResult> results;
    double duration_s = 0;
};

// Starts sessions at the arrival times (or as slots free up) and waits for all.
RunOutcome drive(const Runner& runner, const std::vector<Session>& sessions, double rate,
                 const BenchServeOptions& o, const std::string& label) {
    const bool cycle = o.duration_s > 0;
    const size_t n_total = sessions.size();
    size_t n_requests = 0;
    for (const Session& s : sessions) n_requests += s.turns.size();
    std::mt19937_64 rng(o.workload.seed + 1);  // arrivals: own stream, same seed
    // Gaps of vLLM's benchmark: gamma(shape = burstiness, scale = 1 / (rate x burstiness)),
    // mean 1/rate; unused (but must be well-formed) when the rate is infinite.
    std::gamma_distribution<double> gap(o.burstiness,
                                        std::isinf(rate) ? 1.0 : 1.0 / (rate * o.burstiness));
    // With --duration the workload repeats; each repetition is generated
    // afresh (next seed) so that repeats are not prefix-cache hits.
    std::deque<std::vector<Session>> repeats;
    const std::vector<Session>* current = &sessions;
    Semaphore slots(o.max_concurrency > 0 ? o.max_concurrency
                                          : std::numeric_limits<int64_t>::max());
    ProgressBar bar(o.progress, cycle ? 0 : n_requests, label);
    std::mutex mu;
    RunOutcome out;
    Workers workers;
    const auto t0 = Clock::now();
    double next_arrival = 0;
    for (size_t i = 0; cycle || i < n_total; ++i) {
        if (!std::isinf(rate)) {
            std::this_thread::sleep_until(t0 + std::chrono::duration<double>(next_arrival));
            next_arrival += gap(rng);
        }
        slots.acquire();
        if (cycle && std::chrono::duration<double>(Clock::now() - t0).count() >= o.duration_s) {
            slots.release();
            break;
        }
        if (cycle && i > 0 && i % n_total == 0 && o.workload.kind != "dataset") {
            WorkloadOptions w = o.workload;
            w.seed += i / n_total;
            auto next = make_workload(w);
            if (next.ok()) {
                repeats.push_back(std::move(next).value());
                current = &repeats.back();
            }
        }
        const Session* s = &(*current)[i % n_total];
        workers.spawn([&, s, i] {
            auto r = runner.session(*s, static_cast<int32_t>(i), t0);
            slots.release();
            int64_t fails = 0;
            for (const auto& x : r) fails += !x.ok;
            bar.done += static_cast<int64_t>(r.size());
            bar.failed += fails;
            std::lock_guard lock(mu);
            for (auto& x : r) out.results.push_back(std::move(x));
        });
    }
    workers.reap(true);
    out.duration_s = std::chrono::duration<double>(Clock::now() - t0).count();
    bar.finish();
    std::sort(out.results.begin(), out.results.end(), [](const auto& a, const auto& b) {
        return std::tie(a.session, a.turn) < std::tie(b.session, b.turn);
    });
    return out;
}

nlohmann::json params_json(const BenchServeOptions& o, double rate) {
    const WorkloadOptions& w = o.workload;
    nlohmann::json p = {
        {"base_url", o.base_url},
        {"model", o.model},
        {"endpoint", o.endpoint},
        {"workload", w.kind},
        {"request_rate", std::isinf(rate) ? nlohmann::json("inf") : nlohmann::json(rate)},
        {"burstiness", o.burstiness},
        {"max_concurrency", o.max_concurrency},
        {"duration_s", o.duration_s},
        {"warmup", o.warmup},
        {"seed", w.seed},
        {"ignore_eos", o.ignore_eos},
        {"temperature", o.temperature},
        {"output_len", w.output_len},
        {"range_ratio", w.range_ratio}};
    if (w.kind == "random") {
        p["num_prompts"] = w.num_prompts;
        p["input_len"] = w.input_len;
    } else if (w.kind == "shared-prefix") {
        p["num_prefixes"] = w.num_prefixes;
        p["prefix_len"] = w.prefix_len;
        p["questions_per_prefix"] = w.questions_per_prefix;
        p["question_len"] = w.question_len;
    } else if (w.kind == "multi-turn") {
        p["num_sessions"] = w.num_sessions;
        p["turns"] = w.turns;
        p["input_len"] = w.input_len;
        p["first_turn_len"] = w.first_turn_words();
        p["think_time_s"] = o.think_time_s;
    } else {
        p["dataset"] = w.dataset;
        p["num_prompts"] = w.num_prompts;
    }
    if (!o.extra_body.empty()) p["extra_body"] = o.extra_body;
    nlohmann::json slo = nlohmann::json::object();
    if (o.slo.ttft_ms) slo["ttft_ms"] = *o.slo.ttft_ms;
    if (o.slo.tpot_ms) slo["tpot_ms"] = *o.slo.tpot_ms;
    if (o.slo.e2e_ms) slo["e2e_ms"] = *o.slo.e2e_ms;
    p["slo"] = slo;
    return p;
}

Expected<nlohmann::json> run_once(const BenchServeOptions& o, const Runner& runner,
                                  const std::vector<Session>& sessions, double rate,
                                  std::ostream& out) {
    std::string label = std::isinf(rate) ? "" : fmt::format("rate {:g}/s", rate);
    if (o.max_concurrency > 0)
        label += fmt::format("{}concurrency {}", label.empty() ? "" : ", ", o.max_concurrency);
    RunOutcome r = drive(runner, sessions, rate, o, label.empty() ? "all at once" : label);
    nlohmann::json j = summarize_results(r.results, r.duration_s, o.slo, o.long_context_tokens);
    j["params"] = params_json(o, rate);
    print_serve_table(j, out);
    if (j["completed"].get<int64_t>() == 0) {
        std::string first_error;
        for (const auto& x : r.results)
            if (!x.ok) {
                first_error = x.error;
                break;
            }
        return make_error("every request failed (first error: {})", first_error);
    }
    return j;
}

}  // namespace

double RequestResult::tpot_ms() const {
    return output_tokens > 1 ? (e2e_ms - ttft_ms) / static_cast<double>(output_tokens - 1) : 0.0;
}

Status validate(const BenchServeOptions& o) {
    if (auto b = parse_base_url(o.base_url); !b.ok()) return b.error();
    if (o.model.empty()) return make_error("--model is required (the served model name)");
    if (!o.endpoint.ends_with("/completions"))
        return make_error("--endpoint {}: expected /v1/completions or /v1/chat/completions",
                          o.endpoint);
    if (!(o.request_rate > 0))
        return make_error("--request-rate must be > 0 (got {})", o.request_rate);
    if (!(o.burstiness > 0) || std::isinf(o.burstiness))
        return make_error("--burstiness must be > 0 (got {})", o.burstiness);
    if (o.max_concurrency < 0) return make_error("--max-concurrency must be >= 0");
    if (!(o.duration_s >= 0) || std::isinf(o.duration_s))
        return make_error("--duration must be >= 0");
    if (o.warmup < 0) return make_error("--warmup must be >= 0");
    if (!(o.timeout_s > 0)) return make_error("--timeout must be > 0");
    if (o.long_context_tokens < 0) return make_error("--long-context-tokens must be >= 0");
    if (!(o.think_time_s >= 0) || std::isinf(o.think_time_s))
        return make_error("--think-time must be >= 0 seconds");
    if (!o.extra_body.is_object()) return make_error("--extra-body must be a JSON object");
    if (o.duration_s > 0 && std::isinf(o.request_rate) && o.max_concurrency == 0)
        return make_error(
            "--duration needs --request-rate or --max-concurrency (else it starts "
            "requests without bound)");
    return validate(o.workload);
}

Expected<nlohmann::json> run_bench_serve(const BenchServeOptions& o, std::ostream& out,
                                         const std::vector<double>& sweep) {
    IG_TRY(validate(o));
    BaseUrl base;
    IG_ASSIGN_OR_RETURN(base, parse_base_url(o.base_url));
    base.api_key = o.api_key;
    std::vector<Session> sessions;
    IG_ASSIGN_OR_RETURN(sessions, make_workload(o.workload));
    const Runner runner(o, base);
    if (o.warmup > 0) {
        // Fresh random prompts (their own seed), so they warm the server
        // without putting the measured prompts in its prefix cache.
        WorkloadOptions w = o.workload;
        w.kind = "random";
        w.num_prompts = o.warmup;
        w.seed = o.workload.seed ^ 0x9e3779b97f4a7c15ULL;
        std::vector<Session> warm;
        IG_ASSIGN_OR_RETURN(warm, make_workload(w));
        BenchServeOptions wo = o;
        wo.duration_s = 0;
        RunOutcome r = drive(runner, warm, std::numeric_limits<double>::infinity(), wo, "warm-up");
        for (const auto& x : r.results)
            if (!x.ok) return make_error("warm-up request failed: {}", x.error);
    }
    if (sweep.empty()) return run_once(o, runner, sessions, o.request_rate, out);
    nlohmann::json runs = nlohmann::json::array();
    for (double rate : sweep) {
        out << (std::isinf(rate) ? std::string("request rate: inf\n")
                                 : fmt::format("request rate: {:g} req/s\n", rate));
        nlohmann::json j;
        IG_ASSIGN_OR_RETURN(j, run_once(o, runner, sessions, rate, out));
        runs.push_back(std::move(j));
    }
    nlohmann::json all = {{"sweep", runs}, {"params", params_json(o, o.request_rate)}};
    all["params"].erase("request_rate");
    all["params"]["rates"] = nlohmann::json::array();
    for (double r : sweep)
        all["params"]["rates"].push_back(std::isinf(r) ? nlohmann::json("inf") : nlohmann::json(r));
    return all;
}

}  // namespace ig
