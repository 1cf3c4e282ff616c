// The figures of `bench serve`: what one run's requests add up to, the
// table, the sweep plot, and the parsing of SLOs and rates.
#include <algorithm>
#include <cmath>
#include <ostream>

#include <fmt/format.h>

#include "bench/latency_stats.h"
#include "bench/load_generator.h"
#include "bench/svg_plot.h"

namespace ig {
namespace {

Expected<double> parse_number(const std::string& s, const std::string& what) {
    try {
        size_t used = 0;
        const double v = std::stod(s, &used);
        if (used != s.size()) throw std::invalid_argument(s);
        return v;
    } catch (const std::exception&) {
        return make_error("{}: '{}' is not a number", what, s);
    }
}

}  // namespace

Expected<Slo> parse_slo(const std::string& s) {
    Slo slo;
    if (s.empty()) return slo;
    size_t pos = 0;
    while (pos <= s.size()) {
        const size_t comma = std::min(s.find(',', pos), s.size());
        const std::string item = s.substr(pos, comma - pos);
        const size_t eq = item.find('=');
        if (eq == std::string::npos)
            return make_error("--slo: '{}' is not NAME=MS (names: ttft, tpot, e2e)", item);
        const std::string name = item.substr(0, eq);
        double v = 0;
        IG_ASSIGN_OR_RETURN(v, parse_number(item.substr(eq + 1), "--slo " + name));
        if (!(v > 0) || std::isinf(v))
            return make_error("--slo {}: must be > 0 ms (got {})", name, v);
        if (name == "ttft")
            slo.ttft_ms = v;
        else if (name == "tpot")
            slo.tpot_ms = v;
        else if (name == "e2e" || name == "e2el")
            slo.e2e_ms = v;
        else
            return make_error("--slo: unknown name '{}' (ttft, tpot, e2e)", name);
        pos = comma + 1;
    }
    return slo;
}

Expected<std::vector<double>> parse_rates(const std::string& s) {
    std::vector<double> rates;
    size_t pos = 0;
    while (pos <= s.size()) {
        const size_t comma = std::min(s.find(',', pos), s.size());
        const std::string item = s.substr(pos, comma - pos);
        double v = 0;
        if (item == "inf") {
            v = std::numeric_limits<double>::infinity();
        } else {
            IG_ASSIGN_OR_RETURN(v, parse_number(item, "--sweep"));
            if (!(v > 0) || std::isinf(v))
                return make_error("--sweep: rate must be > 0 (got {})", item);
        }
        rates.push_back(v);
        pos = comma + 1;
    }
    if (rates.empty()) return make_error("--sweep: no rates");
    return rates;
}

nlohmann::json summarize_results(const std::vector<RequestResult>& results, double duration_s,
                                 const Slo& slo, int64_t long_context_tokens) {
    std::vector<double> ttft, tpot, itl, e2e;
    int64_t completed = 0, failed = 0, in_tok = 0, out_tok = 0, cached = 0, good = 0;
    nlohmann::json errors = nlohmann::json::array();
    for (const RequestResult& r : results) {
        if (!r.ok) {
            ++failed;
            if (errors.size() < 10) errors.push_back(r.error);
            continue;
        }
        ++completed;
        in_tok += r.prompt_tokens;
        out_tok += r.output_tokens;
        cached += r.cached_tokens;
        ttft.push_back(r.ttft_ms);
        e2e.push_back(r.e2e_ms);
        if (r.output_tokens > 1) tpot.push_back(r.tpot_ms());
        itl.insert(itl.end(), r.itl_ms.begin(), r.itl_ms.end());
        const bool meets = (!slo.ttft_ms || r.ttft_ms <= *slo.ttft_ms) &&
                           (!slo.tpot_ms || r.tpot_ms() <= *slo.tpot_ms) &&
                           (!slo.e2e_ms || r.e2e_ms <= *slo.e2e_ms);
        good += meets;
    }
    const double d = duration_s > 0 ? duration_s : 1e-9;
    nlohmann::json j = {{"duration_s", duration_s},
                        {"completed", completed},
                        {"failed", failed},
                        {"total_input_tokens", in_tok},
                        {"total_output_tokens", out_tok},
                        {"cached_tokens", cached},
                        {"request_throughput", completed / d},
                        {"input_throughput", in_tok / d},
                        {"output_throughput", out_tok / d},
                        {"total_token_throughput", (in_tok + out_tok) / d},
                        {"output_tokens_per_s", out_tok / d},
                        {"prefix_hit_rate", in_tok ? static_cast<double>(cached) / in_tok : 0.0}};
    if (slo.any()) {
        j["good_requests"] = good;
        j["request_goodput"] = good / d;
    }
    put_distribution(j, "ttft", describe(ttft));
    put_distribution(j, "tpot", describe(tpot));
    put_distribution(j, "itl", describe(itl));
    put_distribution(j, "e2el", describe(e2e));
    if (!errors.empty()) j["errors"] = errors;
    // TTFT and cache hits of the successful requests `pick` selects.
    auto ttft_of = [&](auto pick) {
        std::vector<double> t;
        int64_t p = 0, c = 0;
        for (const auto& r : results)
            if (r.ok && pick(r)) {
                t.push_back(r.ttft_ms);
                p += r.prompt_tokens;
                c += r.cached_tokens;
            }
        const Distribution dt = describe(t);
        return nlohmann::json{{"requests", dt.count},
                              {"mean_ttft_ms", dt.mean},
                              {"median_ttft_ms", dt.median},
                              {"p99_ttft_ms", dt.p99},
                              {"mean_prompt_tokens", dt.count ? double(p) / dt.count : 0.0},
                              {"prefix_hit_rate", p ? double(c) / p : 0.0}};
    };
    // Per-turn view of multi-turn runs: how TTFT and cache hits evolve.
    int32_t max_turn = 0;
    for (const auto& r : results) max_turn = std::max(max_turn, r.turn);
    if (max_turn > 0) {
        nlohmann::json turns = nlohmann::json::array();
        for (int32_t k = 0; k <= max_turn; ++k) {
            nlohmann::json t = ttft_of([k](const RequestResult& r) { return r.turn == k; });
            t["turn"] = k + 1;
            turns.push_back(std::move(t));
        }
        j["per_turn"] = turns;
    }
    if (long_context_tokens > 0) {
        j["long_context"] =
            ttft_of([&](const RequestResult& r) { return r.prompt_tokens > long_context_tokens; });
        j["long_context"]["min_prompt_tokens"] = long_context_tokens;
    }
    nlohmann::json per = nlohmann::json::array();
    for (const auto& r : results) {
        nlohmann::json x = {{"session", r.session},
                            {"turn", r.turn},
                            {"ok", r.ok},
                            {"start_s", r.start_s},
                            {"ttft_ms", r.ttft_ms},
                            {"e2el_ms", r.e2e_ms},
                            {"prompt_tokens", r.prompt_tokens},
                            {"output_tokens", r.output_tokens},
                            {"cached_tokens", r.cached_tokens}};
        if (!r.ok) x["error"] = r.error;
        per.push_back(x);
    }
    j["requests"] = per;
    return j;
}

void print_serve_table(const nlohmann::json& j, std::ostream& out) {
    auto num = [&](const char* k) { return j.value(k, 0.0); };
    out << fmt::format("{:=^60}\n", " Serving Benchmark Result ");
    out << fmt::format("{:<40}{:>20}\n", "Successful requests:", j.value("completed", 0));
    out << fmt::format("{:<40}{:>20}\n", "Failed requests:", j.value("failed", 0));
    out << fmt::format("{:<40}{:>20.2f}\n", "Benchmark duration (s):", num("duration_s"));
    out << fmt::format("{:<40}{:>20}\n", "Total input tokens:", j.value("total_input_tokens", 0));
    out << fmt::format("{:<40}{:>20}\n",
                       "Total generated tokens:", j.value("total_output_tokens", 0));
    out << fmt::format("{:<40}{:>20}\n", "Cached prompt tokens:", j.value("cached_tokens", 0));
    out << fmt::format("{:<40}{:>20.2f}\n",
                       "Request throughput (req/s):", num("request_throughput"));
    if (j.contains("request_goodput"))
        out << fmt::format("{:<40}{:>20.2f}\n", "Request goodput (req/s):", num("request_goodput"));
    out << fmt::format("{:<40}{:>20.2f}\n",
                       "Output token throughput (tok/s):", num("output_throughput"));
    out << fmt::format("{:<40}{:>20.2f}\n",
                       "Total token throughput (tok/s):", num("total_token_throughput"));
    struct Row {
        const char *key, *label, *title;
    };
    const Row rows[] = {{"ttft", "TTFT", "Time to First Token"},
                        {"tpot", "TPOT", "Time per Output Token (excl. 1st token)"},
                        {"itl", "ITL", "Inter-token Latency"},
                        {"e2el", "E2EL", "End-to-end Latency"}};
    for (const Row& r : rows) {
        out << fmt::format("{:-^60}\n", fmt::format(" {} ", r.title));
        for (const char* stat : {"mean", "median", "p90", "p95", "p99", "max"}) {
            const std::string k = fmt::format("{}_{}_ms", stat, r.key);
            out << fmt::format("{:<40}{:>20.2f}\n", fmt::format("{} {} (ms):", stat, r.label),
                               num(k.c_str()));
        }
    }
    if (j.contains("per_turn")) {
        out << fmt::format("{:-^60}\n", " Per turn ");
        for (const auto& t : j["per_turn"])
            out << fmt::format(
                "turn {:>2}: prompt {:8.0f} tok  mean TTFT {:9.1f} ms  cached {:5.1f} %\n",
                t["turn"].get<int>(), t["mean_prompt_tokens"].get<double>(),
                t["mean_ttft_ms"].get<double>(), 100 * t["prefix_hit_rate"].get<double>());
    }
    if (j.contains("long_context") && j["long_context"].value("requests", 0) > 0) {
        const auto& l = j["long_context"];
        out << fmt::format("{:-^60}\n", fmt::format(" Prompts over {} tokens ",
                                                    l["min_prompt_tokens"].get<int64_t>()));
        out << fmt::format("{:<40}{:>20}\n", "Requests:", l["requests"].get<int64_t>());
        out << fmt::format("{:<40}{:>20.2f}\n", "Mean TTFT (ms):", l["mean_ttft_ms"].get<double>());
        out << fmt::format("{:<40}{:>20.2f}\n", "P99 TTFT (ms):", l["p99_ttft_ms"].get<double>());
        out << fmt::format("{:<40}{:>20.1f}\n",
                           "Cached prompt tokens (%):", 100 * l["prefix_hit_rate"].get<double>());
    }
    if (j.contains("errors") && !j["errors"].empty())
        out << "first error: " << j["errors"][0].get<std::string>() << "\n";
    out << std::string(60, '=') << "\n";
}

std::string sweep_svg(const nlohmann::json& sweep_result) {
    std::vector<SvgPanel> panels;
    for (const auto& [key, label] : {std::pair{"ttft", "TTFT (ms)"}, std::pair{"tpot", "TPOT (ms)"},
                                     std::pair{"e2el", "E2E latency (ms)"}}) {
        SvgPanel p{label, {}};
        for (const char* stat : {"median", "p90", "p99"}) {
            SvgSeries s{fmt::format("{} {}", stat, key), {}};
            for (const auto& run : sweep_result.value("sweep", nlohmann::json::array()))
                s.points.emplace_back(run.value("output_throughput", 0.0),
                                      run.value(fmt::format("{}_{}_ms", stat, key), 0.0));
            p.series.push_back(std::move(s));
        }
        panels.push_back(std::move(p));
    }
    return render_svg_chart("Latency vs throughput (one point per request rate)", "output tokens/s",
                            panels);
}

}  // namespace ig
