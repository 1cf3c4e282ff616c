#include "tenants/usage_report.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace ig::tenants {

namespace {

using nlohmann::json;

// Reads exactly `n` digits at `pos`.
std::optional<int> digits(std::string_view s, size_t pos, size_t n) {
    if (pos + n > s.size()) return std::nullopt;
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return std::nullopt;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

// "YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|±HH:MM]" in unix ms; nullopt if malformed.
std::optional<int64_t> parse_iso(std::string_view s) {
    using namespace std::chrono;
    auto y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2);
    if (!y || !mo || !d || s[4] != '-' || s[7] != '-') return std::nullopt;
    const year_month_day ymd{year(*y), month(static_cast<unsigned>(*mo)),
                             day(static_cast<unsigned>(*d))};
    if (!ymd.ok()) return std::nullopt;
    int64_t ms = duration_cast<milliseconds>(sys_days(ymd).time_since_epoch()).count();
    size_t pos = 10;
    if (pos == s.size()) return ms;
    if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return std::nullopt;
    auto h = digits(s, pos + 1, 2), mi = digits(s, pos + 4, 2);
    if (!h || !mi || s[pos + 3] != ':' || *h > 23 || *mi > 59) return std::nullopt;
    ms += (*h * 3600LL + *mi * 60LL) * 1000;
    pos += 6;
    if (pos < s.size() && s[pos] == ':') {
        auto sec = digits(s, pos + 1, 2);
        if (!sec || *sec > 59) return std::nullopt;  // no leap seconds in unix time
        ms += *sec * 1000LL;
        pos += 3;
        if (pos < s.size() && s[pos] == '.') {
            size_t end = pos + 1;
            int64_t frac = 0, scale = 1000;
            while (end < s.size() && s[end] >= '0' && s[end] <= '9') {
                if (scale > 1) frac = frac * 10 + (s[end] - '0');
                scale = scale > 1 ? scale / 10 : 1;
                ++end;
            }
            if (end == pos + 1) return std::nullopt;
            ms += frac * scale;
            pos = end;
        }
    }
    if (pos == s.size()) return ms;  // no zone: UTC
    if ((s[pos] == 'Z' || s[pos] == 'z') && pos + 1 == s.size()) return ms;
    if (s[pos] == '+' || s[pos] == '-') {
        auto oh = digits(s, pos + 1, 2), om = digits(s, pos + 4, 2);
        if (!oh || !om || s[pos + 3] != ':' || pos + 6 != s.size() || *oh > 23 || *om > 59)
            return std::nullopt;
        const int64_t off = (*oh * 3600LL + *om * 60LL) * 1000;
        return s[pos] == '+' ? ms - off : ms + off;
    }
    return std::nullopt;
}

const char* group_column(UsageGroup g) {
    switch (g) {
        case UsageGroup::Hour:
            return "hour";
        case UsageGroup::Day:
            return "day";
        case UsageGroup::Model:
            return "model";
        case UsageGroup::None:
            break;
    }
    return "";
}

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

struct Line {
    std::string tenant, bucket;
    int64_t requests = 0, prompt = 0, cached = 0, completion = 0;
    std::optional<double> cost;  // unset: no prices for this tenant
};

}  // namespace

Expected<int64_t> parse_report_time(std::string_view s) {
    if (!s.empty() &&
        std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        int64_t secs = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), secs);
        // Up to the year 9999, so that ms cannot overflow.
        if (ec == std::errc() && p == s.data() + s.size() && secs <= 253402300799)
            return secs * 1000;
    } else if (auto ms = parse_iso(s)) {
        return *ms;
    }
    return make_error(
        "'{}' is not a time: use unix seconds (1796655600) or ISO 8601 (2026-12-07, "
        "2026-12-07T15:00:00Z, 2026-12-07T16:00:00+01:00)",
        std::string(s));
}

Expected<UsageGroup> parse_usage_group(std::string_view s) {
    if (s == "hour") return UsageGroup::Hour;
    if (s == "day") return UsageGroup::Day;
    if (s == "model") return UsageGroup::Model;
    return make_error("--by must be hour, day or model, not '{}'", std::string(s));
}

double cost_usd(const UsageTotals& t, const TokenPrices& p) {
    const int64_t uncached = std::max<int64_t>(0, t.prompt_tokens - t.cached_tokens);
    return (static_cast<double>(uncached) * p.prompt +
            static_cast<double>(t.cached_tokens) * p.cached +
            static_cast<double>(t.completion_tokens) * p.completion) /
           1e6;
}

std::string render_report(const std::vector<UsageTotals>& rows, const ReportOptions& opt) {
    const bool priced = !opt.prices.empty();
    const bool grouped = opt.group != UsageGroup::None;
    std::vector<Line> lines;
    Line total;
    total.tenant = "TOTAL";
    if (priced) total.cost = 0.0;
    for (const UsageTotals& r : rows) {
        Line l{r.tenant,        r.bucket,        r.requests,
               r.prompt_tokens, r.cached_tokens, r.completion_tokens,
               std::nullopt};
        auto p = opt.prices.find(r.tenant);
        if (p != opt.prices.end()) {
            l.cost = cost_usd(r, p->second);
            *total.cost += *l.cost;
        }
        total.requests += l.requests;
        total.prompt += l.prompt;
        total.cached += l.cached;
        total.completion += l.completion;
        lines.push_back(std::move(l));
    }

    if (opt.format == ReportFormat::Json) {
        auto as_json = [&](const Line& l, bool row) {
            json j = json::object();
            if (row) j["tenant"] = l.tenant;
            if (row && grouped) j[group_column(opt.group)] = l.bucket;
            j["requests"] = l.requests;
            j["prompt_tokens"] = l.prompt;
            j["cached_tokens"] = l.cached;
            j["completion_tokens"] = l.completion;
            j["total_tokens"] = l.prompt + l.completion;
            if (priced) j["cost_usd"] = l.cost ? json(*l.cost) : json();
            return j;
        };
        json out = {{"rows", json::array()}, {"totals", as_json(total, false)}};
        for (const Line& l : lines) out["rows"].push_back(as_json(l, true));
        return out.dump(2) + "\n";
    }

    std::vector<std::string> header = {"tenant"};
    if (grouped) header.push_back(group_column(opt.group));
    for (const char* c :
         {"requests", "prompt_tokens", "cached_tokens", "completion_tokens", "total_tokens"})
        header.push_back(c);
    if (priced) header.push_back("cost_usd");
    auto cells = [&](const Line& l) {
        std::vector<std::string> c = {l.tenant};
        if (grouped) c.push_back(l.bucket);
        for (int64_t v : {l.requests, l.prompt, l.cached, l.completion, l.prompt + l.completion})
            c.push_back(std::to_string(v));
        if (priced) c.push_back(l.cost ? fmt::format("{:.6f}", *l.cost) : std::string());
        return c;
    };

    std::string out;
    if (opt.format == ReportFormat::Csv) {
        auto put = [&](const std::vector<std::string>& c) {
            for (size_t i = 0; i < c.size(); ++i) {
                if (i) out += ',';
                out += csv_field(c[i]);
            }
            out += "\n";
        };
        put(header);
        for (const Line& l : lines) put(cells(l));
        return out;
    }

    // Text: names left-aligned, numbers right-aligned, a TOTAL line under a rule.
    std::vector<std::vector<std::string>> table = {header};
    for (const Line& l : lines) table.push_back(cells(l));
    table.push_back(cells(total));
    if (grouped) table.back()[1].clear();
    const size_t text_cols = grouped ? 2 : 1;
    std::vector<size_t> width(header.size(), 0);
    for (const auto& row : table)
        for (size_t i = 0; i < row.size(); ++i)
            width[i] = std::max(width[i], std::max<size_t>(row[i].size(), 1));
    auto put = [&](const std::vector<std::string>& row) {
        std::string line;
        for (size_t i = 0; i < row.size(); ++i) {
            if (i) line += "  ";
            line += i < text_cols ? fmt::format("{:<{}}", row[i], width[i])
                                  : fmt::format("{:>{}}", row[i].empty() ? "-" : row[i], width[i]);
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out += line + "\n";
    };
    for (size_t r = 0; r + 1 < table.size(); ++r) put(table[r]);
    size_t rule = 0;
    for (size_t w : width) rule += w + 2;
    out += std::string(rule - 2, '-') + "\n";
    put(table.back());
    return out;
}

Expected<std::string> usage_report(const UsageLedger& ledger, const ReportOptions& opt) {
    std::vector<UsageTotals> rows;
    IG_ASSIGN_OR_RETURN(rows, ledger.totals(opt.filter, opt.group));
    return render_report(rows, opt);
}

}  // namespace ig::tenants
