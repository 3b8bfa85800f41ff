// _bounds: a partitioned table's partition bounds read from the relcache's partition descriptor
// (pg_class.relpartbound, never partition names), as local wall-clock times in the table's
// zone, and for a maintenance run only the partitions a decision can concern.
#include "guc.hpp"
#include "partition/partitions_reader.hpp"
#include "partition/planner.hpp"
#include "pg/guard.hpp"
#include "pg/kept_heap.hpp"
#include "pg/postgres.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "partitioning/partdesc.h"
#include "utils/builtins.h"
#include "partitioning/partbounds.h"
#include "utils/date.h"
#include "utils/inval.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "pgtime.h"
}

#include <optional>
#include <vector>

using namespace ai_scale;
namespace part = ai_scale::partition;
using part::partitions_reader;

namespace {

static_assert(part::start_of_time == MIN_TIMESTAMP && part::end_of_time == END_TIMESTAMP);

// The first and last local times: where an instant near an end of the range reads as one.
constexpr Timestamp first_local_time = MIN_TIMESTAMP;
constexpr Timestamp last_local_time = END_TIMESTAMP - 1;

// Whether a finite date lies past the last timestamp (date_timestamp raises 22008 there).
bool past_timestamps(DateADT d)
{
    return !DATE_NOT_FINITE(d) && d >= TIMESTAMP_END_JULIAN - POSTGRES_EPOCH_JDATE;
}

// An instant as local wall-clock time in zone. One within two days of an end of the timestamp
// range may have none (4714-11-24 00:00 BC UTC is the evening before in New York, a day that
// is not a timestamp): it reads as the first or the last local time, past which no key lies.
// A partition bounded there stopped every run of its table with "timestamp out of range".
Datum local_time_of(Datum instant, text* zone)
{
    const TimestampTz t = DatumGetTimestampTz(instant);
    constexpr int64 margin = 2 * USECS_PER_DAY;
    if (t >= MIN_TIMESTAMP + margin && t < END_TIMESTAMP - margin)
        return DirectFunctionCall2(timestamptz_zone, PointerGetDatum(zone), instant);
    try {
        return pg::call(
            [&] { return DirectFunctionCall2(timestamptz_zone, PointerGetDatum(zone), instant); });
    } catch (const pg::postgres_error& e) {
        if (e.sqlstate() != ERRCODE_DATETIME_VALUE_OUT_OF_RANGE)
            throw;
        return TimestampGetDatum(t < 0 ? first_local_time : last_local_time);
    }
}

// A range bound datum of the key type as local wall-clock time in zone; MINVALUE/MAXVALUE
// become NULL.
void local_bound(Datum value, PartitionRangeDatumKind kind, Oid key_type, text* zone, Datum& out,
                 bool& null)
{
    if (kind != PARTITION_RANGE_DATUM_VALUE) {
        null = true;
        return;
    }
    null = false;
    switch (key_type) {
    case TIMESTAMPTZOID:
        out = local_time_of(value, zone);
        break;
    case TIMESTAMPOID:
        out = value;
        break;
    case DATEOID:
        // Dates go on to 5874897 AD, timestamps end in 294276 AD: a later bound reads as the last
        // local time, as an instant past the range does (it stopped every run, rescue and
        // partitions() of the table with 22008).
        out = past_timestamps(DatumGetDateADT(value)) ? TimestampGetDatum(last_local_time)
                                                      : DirectFunctionCall1(date_timestamp, value);
        break;
    default:
        ereport(ERROR,
                (errcode(ERRCODE_DATATYPE_MISMATCH),
                 errmsg("partition key type %s is not supported", format_type_be(key_type))));
    }
}

// Which partitions put_bounds returns: all, or (for a maintenance run) only those that end after
// `after` and start before `before` (the cells premake fills), or end at or before `until` (the
// retention and tiering cutoff), all local times. The test runs on the key's own values, with no
// time zone conversion per partition, against limits widened by a margin each (zone_margin):
// none for timestamp and date keys, whose values are the local times; for a timestamptz key the
// largest change of the zone's UTC offset near the limit that can carry a bound across it, most
// often none, an hour near a DST change. A partition kept needlessly costs the caller's exact
// filter nothing, one left out could be a wrong plan; but at 1-minute partitions a margin of
// two days, which would cover any zone, reads up to 5,760 partitions more at every run.
struct bounds_window {
    bool on = false;
    int64 after = 0;
    int64 before = 0;
    bool has_until = false;
    int64 until = 0;
    int64 after_margin = 0;
    int64 before_margin = 0;
    int64 until_margin = 0;
    int64 retain_until_margin = 0;
    // Tiering: a partition there only as ending by `until` that is cold already (in
    // tablespace cold_oid, or foreign) is left out, unless it ends by `retain_until` (when
    // has_retain_until), where retention may still drop or detach it.
    std::optional<Oid> cold_oid;
    bool has_retain_until = false;
    int64 retain_until = 0;
};

// A local time as a value of the key's domain: an instant for timestamptz, itself otherwise.
int64 key_domain(Timestamp local, Oid key_type, text* zone)
{
    if (key_type == TIMESTAMPTZOID)
        return DatumGetTimestampTz(
            DirectFunctionCall2(timestamp_zone, PointerGetDatum(zone), TimestampGetDatum(local)));
    return local;
}

// A bound as a value of the key's domain (dates at midnight); MINVALUE / MAXVALUE and infinite
// dates as the int64 extremes.
int64 bound_value(Datum value, PartitionRangeDatumKind kind, Oid key_type)
{
    if (kind == PARTITION_RANGE_DATUM_MINVALUE)
        return PG_INT64_MIN;
    if (kind == PARTITION_RANGE_DATUM_MAXVALUE)
        return PG_INT64_MAX;
    if (key_type != DATEOID)
        return DatumGetInt64(value);
    const DateADT d = DatumGetDateADT(value);
    if (DATE_NOT_FINITE(d))
        return DATE_IS_NOBEGIN(d) ? PG_INT64_MIN : PG_INT64_MAX;
    // Past the last timestamp, days in microseconds overflow int64 (from about 294,000 AD on).
    if (past_timestamps(d))
        return PG_INT64_MAX;
    return int64(d) * USECS_PER_DAY;
}

// Whether the partition is one a run reads as cold (_maintain_read_bounds): in the tablespace
// cold_oid (0 for the database's default) or foreign, which has no storage here to move. One
// whose pg_class row is gone is not.
bool cold_partition(Oid relid, Oid cold_oid)
{
    HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
    if (!HeapTupleIsValid(tuple))
        return false;
    const auto* form = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
    const bool cold = form->reltablespace == cold_oid || form->relkind == RELKIND_FOREIGN_TABLE;
    ReleaseSysCache(tuple);
    return cold;
}

// limit - margin and limit + margin, held to the int64 range: an infinite limit (DT_NOBEGIN,
// DT_NOEND) stays the extreme it is (limit + margin would wrap around, and 'infinity' as
// lower_before read no partition at all).
int64 minus_margin(int64 limit, int64 margin)
{
    return limit < PG_INT64_MIN + margin ? PG_INT64_MIN : limit - margin;
}
int64 plus_margin(int64 limit, int64 margin)
{
    return limit > PG_INT64_MAX - margin ? PG_INT64_MAX : limit + margin;
}

bool in_window(const bounds_window& w, int64 lower, int64 upper, Oid relid)
{
    if (!w.on)
        return true;
    if (upper > minus_margin(w.after, w.after_margin) &&
        lower < plus_margin(w.before, w.before_margin))
        return true;
    if (!w.has_until || upper > plus_margin(w.until, w.until_margin))
        return false;
    // Past the tiering cutoff only: a cold partition has no step to take, and read at every
    // run, all the partitions moved to cold_tablespace over the months made a no-op run cost
    // what their number did (29-64 ms at 8,700 five-minute partitions, 2.6-15 ms at 1,000).
    if (w.cold_oid &&
        !(w.has_retain_until && upper <= plus_margin(w.retain_until, w.retain_until_margin)))
        return !cold_partition(relid, *w.cold_oid);
    return true;
}

// The table parent, opened, when it is a table range-partitioned on one column. A table dropped
// while this waited for its lock (partitions() of a table a DROP TABLE held) is one that does
// not exist, not an internal error (XX000, "could not open relation").
partitions_reader open_range_partitioned(Oid parent)
{
    partitions_reader reader(parent);
    Relation rel = reader.rel();
    if (rel == nullptr)
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                        errmsg("relation with OID %u does not exist", parent)));
    if (rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
        ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                        errmsg("\"%s\" is not a partitioned table", RelationGetRelationName(rel))));
    PartitionKey key = RelationGetPartitionKey(rel);
    if (key->strategy != PARTITION_STRATEGY_RANGE || key->partnatts != 1)
        ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                        errmsg("\"%s\" is not range-partitioned on one column",
                               RelationGetRelationName(rel))));
    return reader;
}

// The zone as AT TIME ZONE reads it, whose changes of UTC offset pg_next_dst_boundary lists; or
// NULL for one it may read otherwise (an abbreviation: see partition_zone_problem), which
// _bounds is given only when called by hand.
const pg_tz* zone_of_offsets(text* zone)
{
    const char* name = text_to_cstring(zone);
    const char* hint = nullptr;
    return guc::partition_zone_problem(name, &hint) == nullptr ? pg_tzset(name) : nullptr;
}

// Every UTC offset (local minus UTC, microseconds) zone has over the instants [from, to], as
// AT TIME ZONE reads it (local_time_of) at from, at to and at each change of offset between
// them; none when they cannot be listed (tz NULL, a span within two days of an end of the
// timestamp range, where local_time_of reads the first or last local time, or an absurd number
// of changes).
std::vector<int64> zone_offsets(text* zone, const pg_tz* tz, TimestampTz from, TimestampTz to)
{
    if (tz == nullptr || from < MIN_TIMESTAMP + 2 * USECS_PER_DAY ||
        to >= END_TIMESTAMP - 2 * USECS_PER_DAY)
        return {};
    const auto offset_at = [&](TimestampTz t) {
        return pg::call(
                   [&] { return DatumGetTimestamp(local_time_of(TimestampTzGetDatum(t), zone)); }) -
               t;
    };
    constexpr pg_time_t unix_shift =
        pg_time_t(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
    std::vector<int64> offsets{offset_at(from), offset_at(to)};
    // Seconds since 1970, rounded down as timestamp2tm rounds them.
    pg_time_t at = from / USECS_PER_SEC - (from % USECS_PER_SEC < 0 ? 1 : 0) + unix_shift;
    for (int changes = 0;; changes++) {
        long before_offset, after_offset;
        int before_dst, after_dst;
        pg_time_t boundary;
        const int found = pg_next_dst_boundary(&at, &before_offset, &before_dst, &boundary,
                                               &after_offset, &after_dst, tz);
        if (found < 0 || changes == 1000)
            return {};
        if (found == 0)
            break;
        const TimestampTz change = TimestampTz(boundary - unix_shift) * USECS_PER_SEC;
        if (change > to)
            break;
        offsets.push_back(offset_at(change));
        at = boundary;
    }
    return offsets;
}

// The margin of a timestamptz key's limit (the local time limit, read as the instant instant)
// on its side (part::zone_margin); zone_span, beyond any offset change, when the zone's offsets
// cannot be listed. None for an infinite limit, which no bound passes.
int64 limit_margin(part::limit_side side, Timestamp limit, TimestampTz instant, text* zone,
                   const pg_tz* tz)
{
    if (TIMESTAMP_NOT_FINITE(limit) || TIMESTAMP_NOT_FINITE(instant))
        return 0;
    const std::vector<int64> offsets =
        side == part::limit_side::later
            ? zone_offsets(zone, tz, instant - part::zone_span, instant)
            : zone_offsets(zone, tz, instant, instant + part::zone_span);
    if (offsets.empty())
        return part::zone_span;
    return part::zone_margin(side, limit, instant, offsets);
}

// The window of after, before and until (local times in zone) in the key's domain, with their
// margins; off unless after and before are both given.
bounds_window window_of(Oid key_type, text* zone, std::optional<Timestamp> after,
                        std::optional<Timestamp> before, std::optional<Timestamp> until,
                        std::optional<Oid> cold_oid, std::optional<Timestamp> retain_until)
{
    bounds_window window;
    if (after && before) {
        window.on = true;
        window.after = key_domain(*after, key_type, zone);
        window.before = key_domain(*before, key_type, zone);
        window.has_until = until.has_value();
        if (until)
            window.until = key_domain(*until, key_type, zone);
        window.cold_oid = cold_oid;
        window.has_retain_until = retain_until.has_value();
        if (retain_until)
            window.retain_until = key_domain(*retain_until, key_type, zone);
        // A timestamp or date key's values are the local times the caller compares: no margin.
        if (key_type == TIMESTAMPTZOID) {
            const pg_tz* tz = zone_of_offsets(zone);
            using part::limit_side;
            window.after_margin = limit_margin(limit_side::later, *after, window.after, zone, tz);
            window.before_margin =
                limit_margin(limit_side::not_later, *before, window.before, zone, tz);
            if (until)
                window.until_margin =
                    limit_margin(limit_side::not_later, *until, window.until, zone, tz);
            if (retain_until)
                window.retain_until_margin = limit_margin(limit_side::not_later, *retain_until,
                                                          window.retain_until, zone, tz);
        }
    }
    return window;
}

// The row of the partition holding [datums[i-1], datums[i]) of bounds, with its bounds as
// local times in zone.
void put_range_row(ReturnSetInfo* rsinfo, PartitionDesc desc, int i, Oid key_type, text* zone)
{
    PartitionBoundInfo bounds = desc->boundinfo;
    Datum values[5] = {ObjectIdGetDatum(desc->oids[bounds->indexes[i]]), 0, 0, BoolGetDatum(false),
                       BoolGetDatum(false)};
    bool nulls[5] = {false, false, false, false, false};
    local_bound(bounds->datums[i - 1][0], bounds->kind[i - 1][0], key_type, zone, values[1],
                nulls[1]);
    local_bound(bounds->datums[i][0], bounds->kind[i][0], key_type, zone, values[2], nulls[2]);
    // An upper instant in the first pass of a local time that a fall-back change repeats:
    // its local time reads back as the second pass, later than the partition ends. (Not one
    // read as the first or last local time, whose instant is not the bound's.)
    if (key_type == TIMESTAMPTZOID && !nulls[2] &&
        DatumGetTimestamp(values[2]) != first_local_time &&
        DatumGetTimestamp(values[2]) != last_local_time)
        values[4] = BoolGetDatum(DatumGetTimestampTz(DirectFunctionCall2(
                                     timestamp_zone, PointerGetDatum(zone), values[2])) !=
                                 DatumGetTimestampTz(bounds->datums[i][0]));
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

// The row of the default partition: no bounds.
void put_default_row(ReturnSetInfo* rsinfo, PartitionDesc desc)
{
    Datum values[5] = {ObjectIdGetDatum(desc->oids[desc->boundinfo->default_index]), 0, 0,
                       BoolGetDatum(true), BoolGetDatum(false)};
    bool nulls[5] = {false, true, true, false, false};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

// The memory a partition descriptor's build takes per partition, with room to spare (measured:
// 1.7 kB a partition of a timestamptz range, freed at the end of the statement).
constexpr size_t descriptor_bytes_per_partition = 4096;

// The bounds come from the relcache's partition descriptor, which Postgres builds from
// pg_class.relpartbound and keeps parsed and sorted: reading it costs no parsing per partition,
// and with a window only the partitions in it are converted and returned, so a no-op
// maintenance run costs about the same at 10 or 10,000 partitions.
void put_bounds(FunctionCallInfo fcinfo, Oid parent, text* zone, std::optional<Timestamp> after,
                std::optional<Timestamp> before, std::optional<Timestamp> until,
                std::optional<Oid> cold_oid, std::optional<Timestamp> retain_until)
{
    InitMaterializedSRF(fcinfo, 0);
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    // A run that waited on the maintenance advisory lock must see the partitions the run before
    // it committed, even when this transaction already holds a lock on the table.
    AcceptInvalidationMessages();
    partitions_reader reader = open_range_partitioned(parent);
    Relation rel = reader.rel();
    const Oid key_type = get_partition_col_typid(RelationGetPartitionKey(rel), 0);
    const bounds_window window =
        window_of(key_type, zone, after, before, until, cold_oid, retain_until);
    // With the partitions pending detach: their ranges are taken until the detach is
    // finalized (a partition made over one would overlap it), and retention may still choose
    // them.
    PartitionDesc desc = RelationGetPartitionDesc(rel, false);
    // Kept for the next rebuild (after a partition is added or dropped), raised before this
    // statement frees the memory of that build.
    pg::keep_freed_heap(size_t(desc->nparts) * descriptor_bytes_per_partition);
    PartitionBoundInfo bounds = desc->boundinfo;
    if (bounds != nullptr) {
        // indexes[i] is the partition holding [datums[i-1], datums[i]), or -1 for a gap.
        for (int i = 1; i < bounds->ndatums; i++)
            if (bounds->indexes[i] >= 0 &&
                in_window(window,
                          bound_value(bounds->datums[i - 1][0], bounds->kind[i - 1][0], key_type),
                          bound_value(bounds->datums[i][0], bounds->kind[i][0], key_type),
                          desc->oids[bounds->indexes[i]]))
                put_range_row(rsinfo, desc, i, key_type, zone);
        if (bounds->default_index >= 0)
            put_default_row(rsinfo, desc);
    }
    reader.close();
}

} // namespace

// _bounds(parent regclass, zone text, upper_after, lower_before, upper_until timestamp)
//   -> setof (partition regclass, lower timestamp, upper timestamp, is_default bool,
//             upper_first_pass bool):
// each partition's bounds from pg_class.relpartbound, as local wall-clock times in zone
// (timestamptz keys), unchanged (timestamp) or at midnight (date); upper_first_pass says that
// the upper bound is an instant in the first pass of a local time that a fall-back change
// repeats, which its local time reads as the second pass, later. With upper_after and
// lower_before, only (at least) the partitions ending after upper_after and starting before
// lower_before, those ending at or before upper_until (when given), and the default; of the
// latter, with cold_oid, not those already cold (in that tablespace, or foreign) unless they
// end at or before retain_until (when given).
AI_SCALE_FUNCTION(ai_scale_partition_bounds)
{
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
        throw pg::error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "parent and zone must not be null");
    const Oid parent = PG_GETARG_OID(0);
    text* zone = PG_GETARG_TEXT_PP(1);
    std::optional<Timestamp> after, before, until;
    if (!PG_ARGISNULL(2))
        after = PG_GETARG_TIMESTAMP(2);
    if (!PG_ARGISNULL(3))
        before = PG_GETARG_TIMESTAMP(3);
    if (!PG_ARGISNULL(4))
        until = PG_GETARG_TIMESTAMP(4);
    std::optional<Oid> cold_oid;
    std::optional<Timestamp> retain_until;
    if (!PG_ARGISNULL(5))
        cold_oid = PG_GETARG_OID(5);
    if (!PG_ARGISNULL(6))
        retain_until = PG_GETARG_TIMESTAMP(6);
    pg::call(
        [&] { put_bounds(fcinfo, parent, zone, after, before, until, cold_oid, retain_until); });
    return Datum(0);
}
