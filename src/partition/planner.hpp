// Which partitions to create, drop, detach or move to cold storage, given a table's config, its
// existing partition bounds and the current time. Pure C++: no Postgres headers, so GoogleTest
// reaches every rule. Times are *local* wall-clock timestamps in the table's stated time zone,
// as Postgres `timestamp` values (microseconds since 2000-01-01 00:00); the executor converts
// them to instants with `AT TIME ZONE`, which is what makes daily partitions run from local
// midnight to local midnight across DST changes (23 or 25 hours long).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ai_scale::partition {

using local_time = int64_t;
constexpr local_time minus_infinity = std::numeric_limits<int64_t>::min();
constexpr local_time plus_infinity = std::numeric_limits<int64_t>::max();
// Postgres's timestamp range: [4714-11-24 00:00 BC, 294277-01-01 00:00) (MIN_TIMESTAMP,
// END_TIMESTAMP).
constexpr local_time start_of_time = -211'813'488'000'000'000;
constexpr local_time end_of_time = 9'223'371'331'200'000'000;
constexpr int64_t usecs_per_minute = 60'000'000;
constexpr int64_t usecs_per_day = 86'400'000'000;

// A Postgres interval: calendar months, calendar days, then microseconds.
struct interval {
    int32_t months = 0;
    int32_t days = 0;
    int64_t micros = 0;
};

// Half-open [lower, upper); minus_infinity / plus_infinity stand for MINVALUE / MAXVALUE.
struct range {
    local_time lower;
    local_time upper;
    bool operator==(const range& o) const { return lower == o.lower && upper == o.upper; }
};

enum class retention_mode { drop, detach, tier };

struct config {
    interval step;
    int premake = 7;
    std::optional<interval> retention;
    retention_mode mode = retention_mode::drop;
    std::optional<interval> cold_after;
};

struct existing_partition {
    range bounds;
    bool cold = false; // already in the cold tablespace
};

enum class action_kind { create, drop, detach, tier };

struct action {
    action_kind kind;
    range bounds;
    int partition = -1; // index into the existing partitions for drop / detach / tier
};

// A rule a config breaks; the SQL layer reports it as 22023 with this text.
class invalid_config : public std::invalid_argument {
  public:
    using std::invalid_argument::invalid_argument;
};

// Throws invalid_config unless the step is a positive interval of at least a minute that is
// either whole months or days+time (never both), and premake / retention / cold_after make sense.
void validate(const config& c);

// Calendar arithmetic with Postgres's rules (months first, clamping the day; then days; then
// microseconds). A result outside the timestamp range is plus_infinity or minus_infinity.
local_time add(local_time t, const interval& i, int times = 1);

// Start of the partition cell containing t. Month steps align to January 2000 (so quarters and
// years start in January); day steps align to 2000-01-01, week steps to Monday 2000-01-03.
local_time align_down(const interval& step, local_time t);

// Cells [c, c+step) covering every time in [from, to], in order; at most max_cells + 1 of them
// (more than max_cells tells the caller the span has too many, before they are all made).
std::vector<range> cells(const interval& step, local_time from, local_time to,
                         std::size_t max_cells = SIZE_MAX);

// The retention and cold cutoffs when the caller computes them itself: a partition whose upper
// bound is at or before one is old enough. Unset, they are now minus retention (cold_after) in
// local wall-clock arithmetic, right for timestamp and date keys; for a timestamptz key the
// time part of an interval is elapsed time, which a DST change makes differ from the wall clock
// (24 hours back from 03:30 on a spring-forward day is 02:30 the day before, not 03:30), so the
// SQL layer computes those cutoffs as instants and gives them as local times.
struct cutoffs {
    std::optional<local_time> retain_before;
    std::optional<local_time> cold_before;
};

// Actions for one maintenance run, creates first (in time order), then retention and tiering.
std::vector<action> plan(const config& c, const std::vector<existing_partition>& existing,
                         local_time now, const cutoffs& given = {});

// How far past a limit of a maintenance run's window (a local time in the table's zone) the
// bounds of a timestamptz key, compared as instants, must be read so that none whose local time
// lies on the window's side of the limit is missed. `instant` is the limit as AT TIME ZONE
// reads it (in a gap of a spring-forward change, or a repeated fall-back hour, its local time
// is not limit itself); `offsets` are every UTC offset (local minus UTC, in microseconds) the
// zone has over the instants from instant - zone_span to instant (side::later) or from instant
// to instant + zone_span (side::not_later). A bound whose local time is later than limit lies
// after instant - margin; one whose local time is earlier than limit, or at it, lies before
// instant + margin, or at it. The margin is the largest offset change that can carry a bound
// across the limit: 0 in a zone of one offset, the size of a DST shift near one, a day where
// a zone moved across the date line (Pacific/Apia, 2011).
enum class limit_side { later, not_later };
constexpr int64_t zone_span = 15 * usecs_per_day; // beyond any difference of two UTC offsets
int64_t zone_margin(limit_side side, local_time limit, int64_t instant,
                    const std::vector<int64_t>& offsets);

// Name suffix of the partition starting at lower: YYYY, YYYYMM, YYYYMMDD or YYYYMMDD_HHMI,
// as fine as the step needs.
std::string name_suffix(const interval& step, local_time lower);

// Builds a local_time from a civil date and time (for tests and the fuzzer).
local_time make_time(int year, int month, int day, int hour = 0, int minute = 0);

} // namespace ai_scale::partition
