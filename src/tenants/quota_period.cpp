#include "tenants/quota_period.h"

#include <chrono>

#include <fmt/format.h>

namespace ig::tenants {

namespace {

using namespace std::chrono;

int64_t ms_of(sys_days d) {
    return duration_cast<milliseconds>(d.time_since_epoch()).count();
}

sys_days day_of(int64_t unix_ms) {
    return floor<days>(sys_time<milliseconds>(milliseconds(unix_ms)));
}

}  // namespace

PeriodBounds quota_period_at(QuotaPeriod p, int64_t now_ms) {
    const sys_days today = day_of(now_ms);
    if (p == QuotaPeriod::Day) return {ms_of(today), ms_of(today + days(1))};
    const year_month_day ymd(today);
    const year_month first = ymd.year() / ymd.month();
    const year_month next = first + months(1);
    return {ms_of(sys_days(first / day(1))), ms_of(sys_days(next / day(1)))};
}

std::string utc_iso8601(int64_t unix_ms) {
    const sys_days d = day_of(unix_ms);
    const year_month_day ymd(d);
    const int64_t secs = (unix_ms - ms_of(d)) / 1000;
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()),
                       static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                       secs / 3600, secs / 60 % 60, secs % 60);
}

}  // namespace ig::tenants
