#include "bench/stream_set.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace ig {

double RequestTrace::ttft_ms() const {
    if (token_times.empty()) return 0;
    return std::chrono::duration<double, std::milli>(token_times.front() - submitted).count();
}

void RequestTrace::add_itls(std::vector<double>& out_ms) const {
    for (size_t i = 1; i < token_times.size(); ++i)
        out_ms.push_back(
            std::chrono::duration<double, std::milli>(token_times[i] - token_times[i - 1]).count());
}

Expected<size_t> StreamSet::submit(Engine& e, GenerationRequest req, int32_t tag) {
    RequestTrace t;
    t.tag = tag;
    t.submitted = BenchClock::now();
    auto s = e.submit(std::move(req));
    if (!s.ok()) return s.error();
    std::weak_ptr<Shared> w = shared_;
    (*s)->set_notify([w] {
        if (auto sh = w.lock()) {
            {
                std::lock_guard lk(sh->mu);
                sh->pending = true;
            }
            sh->cv.notify_one();
        }
    });
    streams_.push_back(*s);
    traces_.push_back(std::move(t));
    ++active_;
    return traces_.size() - 1;
}

void StreamSet::poll(std::chrono::milliseconds timeout) {
    {
        std::unique_lock lk(shared_->mu);
        shared_->cv.wait_for(lk, timeout, [&] { return shared_->pending; });
        shared_->pending = false;
    }
    for (size_t i = 0; i < streams_.size(); ++i) {
        RequestTrace& t = traces_[i];
        if (t.finish) continue;
        for (StreamEvent& ev : streams_[i]->drain()) {
            if (!ev.tokens.empty()) {
                t.token_times.push_back(ev.time);
                t.tokens.insert(t.tokens.end(), ev.tokens.begin(), ev.tokens.end());
            }
            if (ev.finish) {
                t.finish = ev.finish;
                t.error = ev.error;
                t.usage = ev.usage;
                --active_;
            }
        }
    }
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
    return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

LatencySummary summarize(const std::vector<const RequestTrace*>& traces) {
    LatencySummary s;
    std::vector<double> ttft, itl, tpot, e2el;
    for (const RequestTrace* t : traces) {
        ++s.n_requests;
        if (!t->token_times.empty()) {
            ttft.push_back(t->ttft_ms());
            const double e2e =
                std::chrono::duration<double, std::milli>(t->token_times.back() - t->submitted)
                    .count();
            e2el.push_back(e2e);
            if (t->tokens.size() > 1)
                tpot.push_back((e2e - t->ttft_ms()) / static_cast<double>(t->tokens.size() - 1));
        }
        t->add_itls(itl);
        s.prompt_tokens += t->usage.prompt_tokens;
        s.cached_tokens += t->usage.cached_tokens;
        s.output_tokens += static_cast<int64_t>(t->tokens.size());
    }
    if (!ttft.empty())
        s.mean_ttft_ms = std::accumulate(ttft.begin(), ttft.end(), 0.0) / ttft.size();
    if (!itl.empty()) {
        s.mean_itl_ms = std::accumulate(itl.begin(), itl.end(), 0.0) / itl.size();
        s.max_itl_ms = *std::max_element(itl.begin(), itl.end());
    }
    s.ttft = describe(ttft);
    s.tpot = describe(tpot);
    s.itl = describe(itl);
    s.e2el = describe(e2el);
    s.p50_ttft_ms = s.ttft.median;
    s.p99_ttft_ms = s.ttft.p99;
    s.p99_itl_ms = s.itl.p99;
    return s;
}

void LatencySummary::put_distributions(nlohmann::json& j) const {
    put_distribution(j, "ttft", ttft);
    put_distribution(j, "tpot", tpot);
    put_distribution(j, "itl", itl);
    put_distribution(j, "e2el", e2el);
}

nlohmann::json LatencySummary::to_json() const {
    nlohmann::json j = {{"requests", n_requests},
                        {"mean_ttft_ms", mean_ttft_ms},
                        {"p50_ttft_ms", p50_ttft_ms},
                        {"p99_ttft_ms", p99_ttft_ms},
                        {"mean_itl_ms", mean_itl_ms},
                        {"p99_itl_ms", p99_itl_ms},
                        {"max_itl_ms", max_itl_ms},
                        {"prompt_tokens", prompt_tokens},
                        {"cached_tokens", cached_tokens},
                        {"output_tokens", output_tokens},
                        {"prefix_hit_rate", prefix_hit_rate()}};
    put_distributions(j);
    return j;
}

}  // namespace ig
