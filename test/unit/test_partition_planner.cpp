#include "partition/planner.hpp"

#include <algorithm>

#include <gtest/gtest.h>

using namespace ai_scale::partition;

namespace {
constexpr interval minutes(int n)
{
    return {0, 0, n * usecs_per_minute};
}
constexpr interval hours(int n)
{
    return {0, 0, n * 60 * usecs_per_minute};
}
constexpr interval days(int n)
{
    return {0, n, 0};
}
constexpr interval months(int n)
{
    return {n, 0, 0};
}

config daily(int premake = 3)
{
    config c;
    c.step = days(1);
    c.premake = premake;
    return c;
}

std::vector<range> creates(const std::vector<action>& actions)
{
    std::vector<range> out;
    for (const auto& a : actions)
        if (a.kind == action_kind::create)
            out.push_back(a.bounds);
    return out;
}
} // namespace

TEST(PartitionCalendar, AddClampsDayLikePostgres)
{
    EXPECT_EQ(add(make_time(2024, 1, 31), months(1)), make_time(2024, 2, 29));
    EXPECT_EQ(add(make_time(2023, 1, 31), months(1)), make_time(2023, 2, 28));
    EXPECT_EQ(add(make_time(2024, 3, 31), months(-1)), make_time(2024, 2, 29));
    EXPECT_EQ(add(make_time(2024, 12, 31, 23, 0), hours(2)), make_time(2025, 1, 1, 1, 0));
    EXPECT_EQ(add(make_time(1999, 12, 31), days(1)), make_time(2000, 1, 1));
    EXPECT_EQ(add(make_time(2026, 5, 1), days(1), -3), make_time(2026, 4, 28));
}

// Past an end of the timestamp range, add() gives that open end: near 292,277 AD a sum of
// microseconds overflowed int64 and wrapped negative, and cells() walked to its limit.
TEST(PartitionCalendar, AddPastTheTimestampRangeIsAnOpenEnd)
{
    const local_time late = make_time(290000, 1, 1);
    EXPECT_EQ(add(late, months(5000 * 12)), plus_infinity);
    EXPECT_EQ(add(late, days(365 * 5000)), plus_infinity);
    EXPECT_EQ(add(make_time(294276, 12, 31), days(1)), plus_infinity); // END_TIMESTAMP itself
    EXPECT_EQ(add(make_time(294276, 12, 30), days(1)), make_time(294276, 12, 31));
    EXPECT_EQ(add(make_time(-4713, 11, 24), days(-1)), minus_infinity); // 4714-11-23 BC
    EXPECT_EQ(add(make_time(-4713, 11, 25), days(-1)), start_of_time);
    EXPECT_EQ(add(make_time(2026, 1, 1), months(5000 * 12), -1000), minus_infinity);

    const auto span = cells(months(5000 * 12), late, make_time(294276, 12, 31), 1000000);
    ASSERT_EQ(span.size(), 2u);
    EXPECT_EQ(span.back().upper, plus_infinity);
}

TEST(PartitionCalendar, AlignDownEachGranularity)
{
    const local_time t = make_time(2026, 8, 19, 13, 47);
    EXPECT_EQ(align_down(minutes(15), t), make_time(2026, 8, 19, 13, 45));
    EXPECT_EQ(align_down(hours(1), t), make_time(2026, 8, 19, 13, 0));
    EXPECT_EQ(align_down(hours(6), t), make_time(2026, 8, 19, 12, 0));
    EXPECT_EQ(align_down(days(1), t), make_time(2026, 8, 19));
    EXPECT_EQ(align_down(days(7), t), make_time(2026, 8, 17)); // a Monday
    EXPECT_EQ(align_down(months(1), t), make_time(2026, 8, 1));
    EXPECT_EQ(align_down(months(3), t), make_time(2026, 7, 1));
    EXPECT_EQ(align_down(months(12), t), make_time(2026, 1, 1));
    // Before the 2000 anchor too.
    EXPECT_EQ(align_down(days(1), make_time(1999, 12, 31, 23, 59)), make_time(1999, 12, 31));
    EXPECT_EQ(align_down(months(3), make_time(1999, 12, 31)), make_time(1999, 10, 1));
}

TEST(PartitionCalendar, CellsAreContiguousAndCoverTheSpan)
{
    const auto cs = cells(months(1), make_time(2024, 1, 15), make_time(2024, 4, 1));
    ASSERT_EQ(cs.size(), 4u);
    EXPECT_EQ(cs.front().lower, make_time(2024, 1, 1));
    EXPECT_EQ(cs.back().upper, make_time(2024, 5, 1));
    for (size_t i = 1; i < cs.size(); ++i)
        EXPECT_EQ(cs[i - 1].upper, cs[i].lower);
    EXPECT_TRUE(cells(days(1), 10, 5).empty());
}

// A span of too many cells is cut short as the cells are made: _cells (which any role may call)
// made every 1-minute cell of the span before refusing more than a million, 11 MB of memory
// per year of the span (294,000 years asked for a terabyte).
TEST(PartitionCalendar, CellsStopPastTheLimit)
{
    const auto cs = cells(minutes(1), make_time(2000, 1, 1), make_time(290000, 1, 1), 1000);
    ASSERT_EQ(cs.size(), 1001u);
    EXPECT_EQ(cs.back().upper, make_time(2000, 1, 1, 16, 41));
    EXPECT_EQ(cells(minutes(1), make_time(2000, 1, 1), make_time(2000, 1, 1, 0, 9), 10).size(),
              10u);
}

// Local wall-clock cells are what make DST work: the day of a spring-forward change is still
// one cell from local midnight to local midnight; the executor maps both ends to instants.
TEST(PartitionCalendar, DaysAreLocalMidnightsAcrossDst)
{
    const auto cs = cells(days(1), make_time(2026, 3, 7, 12, 0), make_time(2026, 3, 9, 12, 0));
    ASSERT_EQ(cs.size(), 3u);
    EXPECT_EQ(cs[1].lower, make_time(2026, 3, 8));
    EXPECT_EQ(cs[1].upper, make_time(2026, 3, 9));
}

TEST(PartitionPlanner, PremakesFromTheCurrentCell)
{
    const auto actions = plan(daily(3), {}, make_time(2026, 8, 19, 10, 0));
    const auto cs = creates(actions);
    ASSERT_EQ(cs.size(), 4u);
    EXPECT_EQ(cs[0], (range{make_time(2026, 8, 19), make_time(2026, 8, 20)}));
    EXPECT_EQ(cs[3], (range{make_time(2026, 8, 22), make_time(2026, 8, 23)}));
}

TEST(PartitionPlanner, NoOpWhenEverythingExists)
{
    std::vector<existing_partition> have;
    for (int d = 15; d < 30; ++d)
        have.push_back({{make_time(2026, 8, d), make_time(2026, 8, d + 1)}});
    EXPECT_TRUE(plan(daily(7), have, make_time(2026, 8, 19, 10, 0)).empty());
}

TEST(PartitionPlanner, FillsOnlyGapsAroundForeignBounds)
{
    // An adopted table whose partition covers noon to noon: only the uncovered parts are made.
    std::vector<existing_partition> have = {
        {{make_time(2026, 8, 19, 12, 0), make_time(2026, 8, 20, 12, 0)}}};
    const auto cs = creates(plan(daily(1), have, make_time(2026, 8, 19, 10, 0)));
    ASSERT_EQ(cs.size(), 2u);
    EXPECT_EQ(cs[0], (range{make_time(2026, 8, 19), make_time(2026, 8, 19, 12, 0)}));
    EXPECT_EQ(cs[1], (range{make_time(2026, 8, 20, 12, 0), make_time(2026, 8, 21)}));
}

// The gaps plan() fills, against a plain walk of every existing range for every cell (the
// planner passes over ranges that end before the current cell once, not once per cell), on
// random bounds: adjacent, with gaps, overlapping (only a hand-made call to _plan gives
// those), unbounded.
TEST(PartitionPlanner, GapsMatchAWalkOfEveryRangeForEachCell)
{
    auto naive = [](const config& c, std::vector<range> have, local_time now) {
        std::sort(have.begin(), have.end(),
                  [](const range& a, const range& b) { return a.lower < b.lower; });
        std::vector<range> out;
        local_time cell = align_down(c.step, now);
        for (int k = 0; k <= c.premake; ++k) {
            const local_time next = add(cell, c.step);
            local_time cursor = cell;
            for (const range& h : have) {
                if (h.upper <= cursor)
                    continue;
                if (h.lower >= next)
                    break;
                if (h.lower > cursor)
                    out.push_back({cursor, h.lower});
                cursor = std::max(cursor, h.upper);
            }
            if (cursor < next)
                out.push_back({cursor, next});
            cell = next;
        }
        return out;
    };
    const local_time base = make_time(2026, 8, 1);
    const int64_t hour = 60 * usecs_per_minute;
    uint64_t seed = 12345;
    auto next_random = [&](int64_t bound) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        return int64_t((seed >> 33) % uint64_t(bound));
    };
    for (int round = 0; round < 500; round++) {
        std::vector<existing_partition> have;
        std::vector<range> bounds;
        const int n = int(next_random(40));
        local_time at = base + next_random(48) * hour;
        for (int i = 0; i < n; i++) {
            const local_time lower = at - (next_random(4) == 0 ? next_random(30) * hour : 0);
            const local_time upper = lower + (1 + next_random(40)) * hour;
            range r{lower, upper};
            if (next_random(50) == 0)
                r.lower = minus_infinity;
            if (next_random(80) == 0)
                r.upper = plus_infinity;
            bounds.push_back(r);
            have.push_back({r});
            at = upper + next_random(3) * hour;
        }
        config c = daily(int(next_random(10)));
        if (round % 2)
            c.step = hours(int(1 + next_random(12)));
        const local_time now = base + next_random(24 * 20) * hour;
        EXPECT_EQ(creates(plan(c, have, now)), naive(c, bounds, now)) << "round " << round;
    }
}

TEST(PartitionPlanner, UnboundedPartitionCoversEverything)
{
    std::vector<existing_partition> have = {{{minus_infinity, plus_infinity}}};
    config c = daily(3);
    c.retention = days(2);
    EXPECT_TRUE(plan(c, have, make_time(2026, 8, 19)).empty());
}

TEST(PartitionPlanner, RetentionDropsOrDetachesOnlyWhollyExpired)
{
    std::vector<existing_partition> have;
    for (int d = 1; d <= 20; ++d)
        have.push_back({{make_time(2026, 8, d), make_time(2026, 8, d + 1)}});
    config c = daily(0);
    c.retention = days(7);
    const local_time now = make_time(2026, 8, 19, 10, 0); // cutoff 2026-08-12 10:00
    auto actions = plan(c, have, now);
    int dropped = 0;
    for (const auto& a : actions) {
        ASSERT_EQ(a.kind, action_kind::drop);
        EXPECT_LE(a.bounds.upper, make_time(2026, 8, 12, 10, 0));
        ++dropped;
    }
    EXPECT_EQ(dropped, 11); // Aug 1..11 end by Aug 12 00:00
    c.mode = retention_mode::detach;
    actions = plan(c, have, now);
    ASSERT_EQ(actions.size(), 11u);
    EXPECT_EQ(actions[0].kind, action_kind::detach);
    EXPECT_EQ(actions[0].partition, 0);
}

TEST(PartitionPlanner, TiersColdPartitionsOnce)
{
    std::vector<existing_partition> have;
    for (int m = 1; m <= 8; ++m)
        have.push_back({{make_time(2026, m, 1), make_time(2026, m + 1, 1)}, m <= 2});
    config c;
    c.step = months(1);
    c.premake = 0;
    c.cold_after = months(3);
    c.retention = months(12);
    const auto actions = plan(c, have, make_time(2026, 8, 15));
    std::vector<int> tiered;
    for (const auto& a : actions) {
        EXPECT_EQ(a.kind, action_kind::tier);
        tiered.push_back(a.partition);
    }
    // Cutoff 2026-05-15: March and April end before it; January and February are already cold.
    EXPECT_EQ(tiered, (std::vector<int>{2, 3}));
}

TEST(PartitionPlanner, TierModeMovesAtRetention)
{
    std::vector<existing_partition> have = {{{make_time(2026, 1, 1), make_time(2026, 2, 1)}}};
    config c;
    c.step = months(1);
    c.premake = 0;
    c.retention = months(2);
    c.mode = retention_mode::tier;
    have.push_back({{make_time(2026, 4, 1), make_time(2026, 5, 1)}});
    const auto actions = plan(c, have, make_time(2026, 4, 10));
    ASSERT_EQ(actions.size(), 1u);
    EXPECT_EQ(actions[0].kind, action_kind::tier);
    EXPECT_EQ(actions[0].partition, 0);
}

TEST(PartitionPlanner, TierModeMovesAtTheShorterOfRetentionAndColdAfter)
{
    std::vector<existing_partition> have;
    for (int m = 1; m <= 8; ++m)
        have.push_back({{make_time(2026, m, 1), make_time(2026, m + 1, 1)}});
    config c;
    c.step = months(1);
    c.premake = 0;
    c.mode = retention_mode::tier;
    auto tiered = [&] {
        std::vector<int> out;
        for (const auto& a : plan(c, have, make_time(2026, 8, 15)))
            if (a.kind == action_kind::tier)
                out.push_back(a.partition);
        return out;
    };
    // Cutoffs 2026-06-15 (2 months) and 2026-03-15 (5 months): January to May end by the first.
    c.retention = months(2);
    c.cold_after = months(5);
    EXPECT_EQ(tiered(), (std::vector<int>{0, 1, 2, 3, 4}));
    c.retention = months(5);
    c.cold_after = months(2);
    EXPECT_EQ(tiered(), (std::vector<int>{0, 1, 2, 3, 4}));
    c.cold_after.reset();
    EXPECT_EQ(tiered(), (std::vector<int>{0, 1}));
}

TEST(PartitionPlanner, ValidationRejectsBadConfigs)
{
    auto bad = [](config c) { EXPECT_THROW(validate(c), invalid_config); };
    config c = daily();
    EXPECT_NO_THROW(validate(c));
    c.step = {0, 0, 0};
    bad(c);
    c.step = {0, -1, 0};
    bad(c);
    c.step = {1, 1, 0};
    bad(c); // months mixed with days
    c.step = {0, 0, 30'000'000};
    bad(c); // under a minute
    c.step = {0, 0, 90'000'000};
    bad(c); // not whole minutes
    c = daily();
    c.premake = -1;
    bad(c);
    c = daily();
    c.retention = hours(12);
    bad(c);
    c = daily();
    c.retention = days(7);
    c.cold_after = days(8);
    bad(c);
    c.cold_after = days(3);
    EXPECT_NO_THROW(validate(c));
    c = daily();
    c.step = months(12);
    EXPECT_NO_THROW(validate(c));
    c.step = minutes(1);
    EXPECT_NO_THROW(validate(c));
    // Spans back beyond 4713 BC have no cutoff; 5000 years is the longest taken.
    c = daily();
    c.retention = months(5000 * 12);
    c.cold_after = months(5000 * 12 - 1);
    c.mode = retention_mode::detach;
    EXPECT_NO_THROW(validate(c));
    c.retention = interval{5000 * 12, 1, 0};
    bad(c);
    c.retention = std::nullopt;
    c.cold_after = interval{5000 * 12, 1, 0};
    bad(c);
    // Ahead, premake + 1 intervals from now, up to 5000 years (the last timestamp is 294276 AD).
    c = daily();
    c.step = months(1000 * 12);
    c.premake = 4;
    EXPECT_NO_THROW(validate(c));
    c.premake = 5;
    bad(c);
    c.step = months(12);
    c.premake = 4999;
    EXPECT_NO_THROW(validate(c));
    c.premake = 5000;
    bad(c);
}

// An interval of more days than microseconds fit in 64 bits is refused for its span, the
// reason that holds, not as "not a whole number of minutes" (its days times a day's
// microseconds overflowed).
TEST(PartitionPlanner, ValidationOfHugeDayCountsNamesTheSpan)
{
    config c = daily();
    c.step = interval{0, 2147483647, 0};
    c.premake = 0;
    try {
        validate(c);
        ADD_FAILURE() << "accepted";
    } catch (const invalid_config& e) {
        EXPECT_STREQ(e.what(), "partitions made ahead must span at most 5000 years "
                               "(partition_interval times premake + 1)");
    }
}

// An interval with a negative part is refused as such, not as "not positive", which it is as
// Postgres compares intervals ('1 day -1 hour' > '0').
TEST(PartitionPlanner, ValidationNamesNegativeParts)
{
    auto message = [](const config& c) {
        try {
            validate(c);
        } catch (const invalid_config& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    config c = daily();
    c.step = {0, 1, -3'600'000'000};
    EXPECT_EQ(message(c), "partition_interval must not have negative parts");
    c.step = {0, -1, 0};
    EXPECT_EQ(message(c), "partition_interval must be positive");
    c = daily();
    c.retention = interval{1, -29, 0};
    EXPECT_EQ(message(c), "retention must not have negative parts");
    c.retention = interval{0, -7, 0};
    EXPECT_EQ(message(c), "retention must be positive");
    c = daily();
    c.cold_after = interval{0, 8, -1};
    c.retention = days(30);
    EXPECT_EQ(message(c), "cold_after must not have negative parts");
}

TEST(PartitionPlanner, NameSuffixMatchesGranularity)
{
    EXPECT_EQ(name_suffix(months(12), make_time(2026, 1, 1)), "2026");
    EXPECT_EQ(name_suffix(months(1), make_time(2026, 3, 1)), "202603");
    EXPECT_EQ(name_suffix(days(1), make_time(2026, 3, 8)), "20260308");
    EXPECT_EQ(name_suffix(hours(1), make_time(2026, 3, 8, 2, 0)), "20260308_0200");
    EXPECT_EQ(name_suffix(days(1), make_time(2026, 3, 8, 12, 0)), "20260308_1200");
}

// Cutoffs computed by the caller (the SQL layer, for timestamptz keys: now() minus retention
// in elapsed time across a DST change) replace the planner's wall-clock arithmetic.
TEST(PartitionPlanner, GivenCutoffsReplaceWallClockArithmetic)
{
    config c;
    c.step = hours(1);
    c.premake = 0;
    c.retention = hours(2);
    std::vector<existing_partition> have;
    for (int h = 0; h < 4; ++h)
        have.push_back({{make_time(2026, 3, 8, h), make_time(2026, 3, 8, h + 1)}});
    const local_time now = make_time(2026, 3, 8, 3, 30);
    auto dropped = [&](const cutoffs& given) {
        std::vector<int> out;
        for (const auto& a : plan(c, have, now, given))
            if (a.kind == action_kind::drop)
                out.push_back(a.partition);
        return out;
    };
    EXPECT_EQ(dropped({}), (std::vector<int>{0})); // wall clock: ends 01:00 <= 01:30
    EXPECT_TRUE(dropped({make_time(2026, 3, 8, 0, 30), std::nullopt}).empty());
    EXPECT_EQ(dropped({make_time(2026, 3, 8, 1, 0), std::nullopt}), (std::vector<int>{0}));

    // Tier mode without cold_after tiers at the retention cutoff given.
    c.mode = retention_mode::tier;
    const auto actions = plan(c, have, now, {make_time(2026, 3, 8, 0, 30), std::nullopt});
    EXPECT_TRUE(std::none_of(actions.begin(), actions.end(),
                             [](const action& a) { return a.kind == action_kind::tier; }));
    c.cold_after = hours(1);
    const auto tiered = plan(c, have, now, {std::nullopt, make_time(2026, 3, 8, 2, 0)});
    ASSERT_EQ(std::count_if(tiered.begin(), tiered.end(),
                            [](const action& a) { return a.kind == action_kind::tier; }),
              2); // those ending at 01:00 and 02:00
}

// zone_margin: how far past a window limit _bounds reads a timestamptz key's bounds. The
// margin is an offset change near the limit (0 in a zone of one offset, an hour near a DST
// change, a day where a zone crossed the date line), not a fixed two days. Each case
// checks the bound that needs the margin: its local time is on the window's side of the limit,
// and the instant lies beyond the limit's own instant.
namespace {
constexpr int64_t hour = 60 * usecs_per_minute;
}

TEST(ZoneMargin, OneOffsetNeedsNone)
{
    const local_time limit = make_time(2026, 6, 1, 12);
    const int64_t instant = limit - 1 * hour; // UTC+1 all year
    EXPECT_EQ(zone_margin(limit_side::later, limit, instant, {1 * hour}), 0);
    EXPECT_EQ(zone_margin(limit_side::not_later, limit, instant, {1 * hour}), 0);
    EXPECT_EQ(zone_margin(limit_side::later, limit, limit, {0}), 0); // UTC
}

TEST(ZoneMargin, FallBackRepeatedHour)
{
    // Europe/Berlin, 2026-10-25: 03:00 CEST (+2) is 02:00 CET (+1), at 01:00 UTC. 02:30 local
    // is read as the second pass, 01:30 UTC; a bound at 00:45 UTC (02:45 CEST, the first pass)
    // ends later than 02:30 local but lies 45 minutes before that instant.
    const local_time limit = make_time(2026, 10, 25, 2, 30);
    const int64_t instant = make_time(2026, 10, 25, 1, 30); // as UTC wall-clock time
    const int64_t margin = zone_margin(limit_side::later, limit, instant, {2 * hour, 1 * hour});
    EXPECT_EQ(margin, 1 * hour);
    const int64_t first_pass = make_time(2026, 10, 25, 0, 45);
    EXPECT_GT(first_pass + 2 * hour, limit); // its local time is past the limit
    EXPECT_GT(first_pass, instant - margin); // and the window reaches it
    // Before the limit: every instant after 01:30 UTC is later than 02:30 local.
    EXPECT_EQ(zone_margin(limit_side::not_later, limit, instant, {1 * hour}), 0);
    // A limit before the change, with the change ahead: 01:30 CEST is 23:30 UTC; the margin
    // (an hour) keeps every bound whose local time is at or before it, with room to spare.
    const local_time early = make_time(2026, 10, 25, 1, 30);
    EXPECT_EQ(zone_margin(limit_side::not_later, early, make_time(2026, 10, 24, 23, 30),
                          {2 * hour, 1 * hour}),
              1 * hour);
}

TEST(ZoneMargin, SpringForwardGap)
{
    // Europe/Berlin, 2026-03-29: 02:00 CET (+1) is 03:00 CEST (+2), at 01:00 UTC. 02:30 local
    // does not exist; Postgres reads it at the offset before the change, 01:30 UTC (03:30
    // CEST). A bound at 01:00 UTC (03:00 CEST) ends after 02:30 local, 30 minutes before it.
    const local_time limit = make_time(2026, 3, 29, 2, 30);
    const int64_t instant = make_time(2026, 3, 29, 1, 30);
    const int64_t margin = zone_margin(limit_side::later, limit, instant, {1 * hour, 2 * hour});
    EXPECT_EQ(margin, 1 * hour);
    EXPECT_GT(make_time(2026, 3, 29, 1, 0), instant - margin);
    EXPECT_EQ(zone_margin(limit_side::not_later, limit, instant, {2 * hour}), 0);
}

TEST(ZoneMargin, DateLineCrossings)
{
    // Pacific/Apia skipped 2011-12-30: 2011-12-29 24:00 (-10) was 2011-12-31 00:00 (+14), at
    // 10:00 UTC on the 30th. Noon on the 30th, read at -10, is 22:00 UTC; every bound from
    // 10:00 UTC on has a local time past it: the margin is the day the zone moved.
    const local_time noon = make_time(2011, 12, 30, 12);
    const int64_t instant = make_time(2011, 12, 30, 22);
    const int64_t margin = zone_margin(limit_side::later, noon, instant, {-10 * hour, 14 * hour});
    EXPECT_EQ(margin, 24 * hour);
    EXPECT_GT(make_time(2011, 12, 30, 10), instant - margin);
    // America/Juneau repeated a day in 1867 (+15:02:19 to -8:57:41): a bound of the first
    // pass ends a day of local time later than its instant says.
    const int64_t before_change = 15 * hour + 2 * usecs_per_minute + 19'000'000;
    const int64_t after_change = -(8 * hour + 57 * usecs_per_minute + 41'000'000);
    const local_time limit = make_time(1867, 10, 18, 12);
    const int64_t second_pass = limit - after_change;
    EXPECT_EQ(zone_margin(limit_side::later, limit, second_pass, {before_change, after_change}),
              before_change - after_change);
    // The same change seen from a limit before it, on the not_later side.
    const int64_t first_pass = limit - before_change;
    EXPECT_EQ(zone_margin(limit_side::not_later, limit, first_pass, {before_change, after_change}),
              before_change - after_change);
}

TEST(ZoneMargin, BoundedForMinutePartitions)
{
    // Two days past each limit would be 2,880 partitions at 1-minute partitions. An
    // hour's DST shift is 60; no zone's offset ever changed by more than about a day.
    for (const int64_t shift : {30 * usecs_per_minute, 1 * hour, 2 * hour}) {
        const local_time limit = make_time(2026, 10, 25, 2, 30);
        const int64_t instant = limit - 1 * hour;
        EXPECT_LE(zone_margin(limit_side::later, limit, instant, {1 * hour + shift, 1 * hour}),
                  2 * hour);
    }
    EXPECT_LT(zone_span, 16 * usecs_per_day);
    EXPECT_GT(zone_span, 2 * 167 * hour); // Postgres reads POSIX offsets of up to 167 hours
}
