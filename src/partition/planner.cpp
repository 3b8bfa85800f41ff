#include "partition/planner.hpp"

#include <algorithm>
#include <cstdio>

namespace ai_scale::partition {

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant's algorithms).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct civil {
    int64_t year;
    unsigned month;
    unsigned day;
};

civil civil_from_days(int64_t z)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t y = static_cast<int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {y + (m <= 2), m, d};
}

const int64_t pg_epoch_days = days_from_civil(2000, 1, 1);

int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        --q;
    return q;
}

unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned table[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : table[m - 1];
}

// Day number (since 2000-01-01) and time of day of a local_time.
void split(local_time t, int64_t& day, int64_t& time_of_day)
{
    day = floor_div(t, usecs_per_day);
    time_of_day = t - day * usecs_per_day;
}

bool finite(local_time t)
{
    return t != minus_infinity && t != plus_infinity;
}

// Rough length, with Postgres's 30-day month, for comparing intervals.
double approx_micros(const interval& i)
{
    return (double(i.months) * 30 + i.days) * double(usecs_per_day) + double(i.micros);
}

// "must be positive" for an interval that is not (as Postgres compares them, a month as 30 days),
// "must not have negative parts" for one that is but has a part below zero ('1 day -1 hour',
// '1 mon -29 days'), which was refused as not positive. Each part is a step of its own on the
// calendar (a day is 23 or 25 hours across a DST change, a month 28 to 31 days), so such an
// interval has no one length.
void require_positive(const interval& i, const std::string& name)
{
    if (approx_micros(i) <= 0)
        throw invalid_config(name + " must be positive");
    if (i.months < 0 || i.days < 0 || i.micros < 0)
        throw invalid_config(name + " must not have negative parts");
}

} // namespace

local_time make_time(int year, int month, int day, int hour, int minute)
{
    const int64_t days = days_from_civil(year, month, day) - pg_epoch_days;
    return days * usecs_per_day + (int64_t(hour) * 60 + minute) * usecs_per_minute;
}

void validate(const config& c)
{
    const interval& s = c.step;
    require_positive(s, "partition_interval");
    if (s.months != 0 && (s.days != 0 || s.micros != 0))
        throw invalid_config("partition_interval must not mix months with days or hours");
    if (s.months == 0 && approx_micros(s) < double(usecs_per_minute))
        throw invalid_config("partition_interval must be at least 1 minute");
    // (A day is whole minutes: its microseconds decide. Summed with the days', they overflowed
    // from 106,751,992 days on, and such an interval was refused as not whole minutes.)
    if (s.months == 0 && s.micros % usecs_per_minute != 0)
        throw invalid_config("partition_interval must be a whole number of minutes");
    if (c.premake < 0)
        throw invalid_config("premake must not be negative");
    if (c.premake > 10000)
        throw invalid_config("premake must be at most 10000");
    // Timestamps begin in 4713 BC: the cutoff of a longer span is not a timestamp. Ahead, a
    // run makes partitions for premake + 1 intervals from now; much more than this would
    // reach the last timestamp (294276 AD) and fail with "timestamp out of range".
    const double longest_span = approx_micros(interval{5000 * 12, 0, 0});
    if (approx_micros(s) * (double(c.premake) + 1) > longest_span)
        throw invalid_config("partitions made ahead must span at most 5000 years "
                             "(partition_interval times premake + 1)");
    if (c.retention) {
        require_positive(*c.retention, "retention");
        if (approx_micros(*c.retention) > longest_span)
            throw invalid_config("retention must be at most 5000 years");
        if (approx_micros(*c.retention) < approx_micros(s))
            throw invalid_config("retention must not be shorter than partition_interval");
    }
    if (c.cold_after) {
        require_positive(*c.cold_after, "cold_after");
        if (approx_micros(*c.cold_after) > longest_span)
            throw invalid_config("cold_after must be at most 5000 years");
        if (c.retention && c.mode != retention_mode::tier &&
            approx_micros(*c.cold_after) >= approx_micros(*c.retention))
            throw invalid_config("cold_after must be shorter than retention");
    }
}

local_time add(local_time t, const interval& i, int times)
{
    if (!finite(t))
        return t;
    int64_t day, tod;
    split(t, day, tod);
    if (i.months != 0) {
        civil cv = civil_from_days(day + pg_epoch_days);
        const int64_t month_index = cv.year * 12 + (cv.month - 1) + int64_t(i.months) * times;
        const int64_t y = floor_div(month_index, 12);
        const unsigned m = static_cast<unsigned>(month_index - y * 12) + 1;
        const unsigned d = std::min(cv.day, days_in_month(y, m));
        day = days_from_civil(y, m, d) - pg_epoch_days;
    }
    day += int64_t(i.days) * times;
    // Past either end of the timestamp range the result is that open end: computed on, it
    // overflowed int64 near 292,277 AD and wrapped, and cells() walked a million cells.
    // (day is within a few times 10^13 here, each product well within 128 bits.)
    const __int128 at = __int128(day) * usecs_per_day + tod + __int128(i.micros) * times;
    if (at >= end_of_time)
        return plus_infinity;
    if (at < start_of_time)
        return minus_infinity;
    return local_time(at);
}

local_time align_down(const interval& step, local_time t)
{
    if (!finite(t))
        return t;
    if (step.months != 0) {
        int64_t day, tod;
        split(t, day, tod);
        const civil cv = civil_from_days(day + pg_epoch_days);
        const int64_t since_2000 = (cv.year - 2000) * 12 + (cv.month - 1);
        const int64_t aligned = floor_div(since_2000, step.months) * step.months;
        const int64_t y = 2000 + floor_div(aligned, 12);
        const unsigned m = static_cast<unsigned>(aligned - (y - 2000) * 12) + 1;
        return (days_from_civil(y, m, 1) - pg_epoch_days) * usecs_per_day;
    }
    const int64_t length = int64_t(step.days) * usecs_per_day + step.micros;
    const bool weekly = step.micros == 0 && step.days % 7 == 0;
    const int64_t anchor = weekly ? 2 * usecs_per_day : 0; // Monday 2000-01-03
    return anchor + floor_div(t - anchor, length) * length;
}

std::vector<range> cells(const interval& step, local_time from, local_time to,
                         std::size_t max_cells)
{
    std::vector<range> out;
    if (!finite(from) || !finite(to) || from > to)
        return out;
    for (local_time c = align_down(step, from); c <= to && out.size() <= max_cells;) {
        const local_time next = add(c, step);
        out.push_back({c, next});
        c = next;
    }
    return out;
}

namespace {

// Parts of want not covered by any of the ranges in have from first on (sorted by lower).
void uncovered(range want, const std::vector<range>& have, size_t first, std::vector<range>& out)
{
    local_time cursor = want.lower;
    for (size_t i = first; i < have.size(); i++) {
        const range& h = have[i];
        if (h.upper <= cursor)
            continue;
        if (h.lower >= want.upper)
            break;
        if (h.lower > cursor)
            out.push_back({cursor, h.lower});
        cursor = std::max(cursor, h.upper);
        if (cursor >= want.upper)
            return;
    }
    if (cursor < want.upper)
        out.push_back({cursor, want.upper});
}

} // namespace

std::vector<action> plan(const config& c, const std::vector<existing_partition>& existing,
                         local_time now, const cutoffs& given)
{
    std::vector<action> out;
    std::vector<range> have;
    have.reserve(existing.size());
    for (const auto& e : existing)
        have.push_back(e.bounds);
    std::sort(have.begin(), have.end(),
              [](const range& a, const range& b) { return a.lower < b.lower; });

    // The cells only move on: ranges ending before one end before every later one, and are
    // passed over once, not again for each cell (premake 10,000 over 2M partitions: 12 s).
    local_time cell = align_down(c.step, now);
    size_t first = 0;
    for (int k = 0; k <= c.premake; ++k) {
        const local_time next = add(cell, c.step);
        while (first < have.size() && have[first].upper <= cell)
            first++;
        std::vector<range> gaps;
        uncovered({cell, next}, have, first, gaps);
        for (const range& g : gaps)
            out.push_back({action_kind::create, g, -1});
        cell = next;
    }

    std::optional<local_time> retain_from;
    if (c.retention)
        retain_from = given.retain_before ? *given.retain_before : add(now, *c.retention, -1);
    std::optional<local_time> cold_from;
    if (c.cold_after)
        cold_from = given.cold_before ? *given.cold_before : add(now, *c.cold_after, -1);
    // In tier mode, retention is an age to move at too: a partition older than either moves
    // (with cold_after the longer of the two, retention was left unused).
    if (c.mode == retention_mode::tier && retain_from)
        cold_from = cold_from ? std::max(*cold_from, *retain_from) : *retain_from;
    for (int i = 0; i < int(existing.size()); ++i) {
        const existing_partition& e = existing[i];
        if (!finite(e.bounds.upper))
            continue; // an unbounded partition never ages out
        if (retain_from && c.mode != retention_mode::tier && e.bounds.upper <= *retain_from) {
            out.push_back({c.mode == retention_mode::drop ? action_kind::drop : action_kind::detach,
                           e.bounds, i});
            continue;
        }
        if (cold_from && !e.cold && e.bounds.upper <= *cold_from)
            out.push_back({action_kind::tier, e.bounds, i});
    }
    return out;
}

int64_t zone_margin(limit_side side, local_time limit, int64_t instant,
                    const std::vector<int64_t>& offsets)
{
    // Past limit (side::later): a bound u with local time u + off(u) > limit, and
    // limit = instant + (limit - instant), lies after instant - (off(u) - (limit - instant)).
    // Before it: u + off(u) <= limit puts u at or before instant + ((limit - instant) - off(u)).
    const int64_t at_limit = limit - instant;
    int64_t margin = 0;
    for (const int64_t off : offsets)
        margin = std::max(margin, side == limit_side::later ? off - at_limit : at_limit - off);
    return margin;
}

std::string name_suffix(const interval& step, local_time lower)
{
    if (!finite(lower))
        return lower == minus_infinity ? "min" : "max";
    int64_t day, tod;
    split(lower, day, tod);
    const civil cv = civil_from_days(day + pg_epoch_days);
    const int64_t minutes = tod / usecs_per_minute;
    char buf[48];
    if (step.months != 0 && step.months % 12 == 0 && cv.month == 1)
        std::snprintf(buf, sizeof buf, "%04lld", (long long)cv.year);
    else if (step.months != 0)
        std::snprintf(buf, sizeof buf, "%04lld%02u", (long long)cv.year, cv.month);
    else if (step.micros == 0 && tod == 0)
        std::snprintf(buf, sizeof buf, "%04lld%02u%02u", (long long)cv.year, cv.month, cv.day);
    else
        std::snprintf(buf, sizeof buf, "%04lld%02u%02u_%02lld%02lld", (long long)cv.year, cv.month,
                      cv.day, (long long)(minutes / 60), (long long)(minutes % 60));
    return buf;
}

} // namespace ai_scale::partition
