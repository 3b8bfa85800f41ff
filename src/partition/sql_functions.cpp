// The SQL-callable internals behind install/2*_partition_*.sql: config checks and plans from the
// pure planner, partition bounds read from the catalog (pg_class.relpartbound), never from
// partition names, and the catalog reads and locks the PL/pgSQL needs as of now rather than as
// of its snapshot (the default partition, pending detaches, pg_class, the locks taken before a
// drop and on a config's table), with the maintenance counters of the stats view. The
// maintenance procedures themselves are PL/pgSQL (the DDL executor).
#include "guc.hpp"
#include "partition/foreign_keys.hpp"
#include "partition/owner_code.hpp"
#include "partition/planner.hpp"
#include "partition/table_word.hpp"
#include "pg/args.hpp"
#include "pg/guard.hpp"
#include "pg/kept_heap.hpp"
#include "pg/postgres.hpp"
#include "stats/shared_stats.hpp"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "nodes/parsenodes.h"
#include "partitioning/partdesc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "partitioning/partbounds.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/date.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "pgtime.h"
#include "access/table.h"
}

#include <optional>
#include <vector>

using namespace ai_scale;
namespace part = ai_scale::partition;

namespace {

part::interval to_interval(const Interval* i)
{
    return {i->month, i->day, i->time};
}

// A partition interval the planner accepts, or 22023. Checked alone (premake 0): the default
// premake of 7 refused any interval over 625 years here, where a table managed with fewer
// partitions made ahead had one, and its rows could never leave the default partition.
part::interval valid_step(const Interval* i)
{
    part::config c;
    c.step = to_interval(i);
    c.premake = 0;
    try {
        part::validate(c);
    } catch (const part::invalid_config& e) {
        throw pg::error(ERRCODE_INVALID_PARAMETER_VALUE, e.what());
    }
    return c.step;
}

std::optional<part::interval> optional_interval(FunctionCallInfo fcinfo, int arg)
{
    if (PG_ARGISNULL(arg))
        return std::nullopt;
    return to_interval(PG_GETARG_INTERVAL_P(arg));
}

// (partition_interval, premake, retention, retention_mode, cold_after) from the first five args.
part::config config_from_args(FunctionCallInfo fcinfo)
{
    if (PG_ARGISNULL(0))
        throw pg::error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "partition_interval must not be null");
    part::config c;
    c.step = to_interval(PG_GETARG_INTERVAL_P(0));
    c.premake = PG_ARGISNULL(1) ? 7 : PG_GETARG_INT32(1);
    c.retention = optional_interval(fcinfo, 2);
    const char* mode = PG_ARGISNULL(3) ? "drop" : text_to_cstring(PG_GETARG_TEXT_PP(3));
    if (strcmp(mode, "drop") == 0)
        c.mode = part::retention_mode::drop;
    else if (strcmp(mode, "detach") == 0)
        c.mode = part::retention_mode::detach;
    else if (strcmp(mode, "tier") == 0)
        c.mode = part::retention_mode::tier;
    else
        throw pg::error(ERRCODE_INVALID_PARAMETER_VALUE,
                        std::string("invalid retention_mode \"") + mode + "\"", {},
                        "Use drop, detach or tier.");
    c.cold_after = optional_interval(fcinfo, 4);
    try {
        part::validate(c);
    } catch (const part::invalid_config& e) {
        throw pg::error(ERRCODE_INVALID_PARAMETER_VALUE, e.what());
    }
    return c;
}

// A timestamp[] argument as local times; NULL elements stand for null_value (an open end).
std::vector<part::local_time> times_from_array(ArrayType* array, part::local_time null_value)
{
    Datum* values;
    bool* nulls;
    int n;
    pg::call([&] {
        deconstruct_array(array, TIMESTAMPOID, sizeof(Timestamp), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
                          &values, &nulls, &n);
    });
    std::vector<part::local_time> out(n);
    for (int i = 0; i < n; i++)
        out[i] = nulls[i] ? null_value : DatumGetTimestamp(values[i]);
    return out;
}

Datum time_datum(part::local_time t, bool& null)
{
    null = false;
    return TimestampGetDatum(t);
}

const char* action_name(part::action_kind k)
{
    switch (k) {
    case part::action_kind::create:
        return "create";
    case part::action_kind::drop:
        return "drop";
    case part::action_kind::detach:
        return "detach";
    case part::action_kind::tier:
        return "tier";
    }
    return "?";
}

} // namespace

// _check_config(partition_interval, premake, retention, retention_mode, cold_after): raises 22023
// naming the first rule the config breaks. A null premake or retention_mode is refused here (the
// planner reads them as their defaults, but partition_config cannot store a null).
AI_SCALE_FUNCTION(ai_scale_partition_check_config)
{
    if (PG_ARGISNULL(1))
        throw pg::error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "premake must not be null");
    if (PG_ARGISNULL(3))
        throw pg::error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "retention_mode must not be null", {},
                        "Use drop, detach or tier.");
    config_from_args(fcinfo);
    PG_RETURN_VOID();
}

// _check_time_zone(zone text): raises 22023 when zone cannot be the zone a table's partitions
// are aligned in (guc::partition_zone_problem: unknown, or an abbreviation).
AI_SCALE_FUNCTION(ai_scale_partition_check_time_zone)
{
    const char* zone = pg::call([&] { return text_to_cstring(PG_GETARG_TEXT_PP(0)); });
    const char* hint = nullptr;
    const char* problem = pg::call([&] { return guc::partition_zone_problem(zone, &hint); });
    if (problem != nullptr)
        throw pg::error(ERRCODE_INVALID_PARAMETER_VALUE, problem, {}, hint);
    PG_RETURN_VOID();
}

// _plan(partition_interval, premake, retention, retention_mode, cold_after, now timestamp,
//       lowers timestamp[], uppers timestamp[], cold bool[],
//       retain_before timestamp, cold_before timestamp)
//   -> setof (action text, idx int, lower timestamp, upper timestamp, suffix text)
// idx is the 1-based position in the arrays of the partition a drop/detach/tier acts on.
// retain_before and cold_before, when not NULL, are the cutoffs the caller computed (see
// part::cutoffs); NULL leaves them to the planner's local arithmetic.
AI_SCALE_FUNCTION(ai_scale_partition_plan)
{
    const part::config c = config_from_args(fcinfo);
    if (PG_ARGISNULL(5) || PG_ARGISNULL(6) || PG_ARGISNULL(7) || PG_ARGISNULL(8))
        throw pg::error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "now and bounds must not be null");
    const part::local_time now = PG_GETARG_TIMESTAMP(5);
    const auto lowers = times_from_array(pg::array_arg(fcinfo, 6), part::minus_infinity);
    const auto uppers = times_from_array(pg::array_arg(fcinfo, 7), part::plus_infinity);
    Datum* cold_values;
    bool* cold_nulls;
    int ncold;
    ArrayType* cold_array = pg::array_arg(fcinfo, 8);
    pg::call([&] {
        deconstruct_array(cold_array, BOOLOID, 1, true, TYPALIGN_CHAR, &cold_values, &cold_nulls,
                          &ncold);
    });
    if (lowers.size() != uppers.size() || int(lowers.size()) != ncold)
        throw pg::error(ERRCODE_ARRAY_SUBSCRIPT_ERROR, "bound arrays differ in length");
    std::vector<part::existing_partition> existing(lowers.size());
    for (size_t i = 0; i < lowers.size(); i++)
        existing[i] = {{lowers[i], uppers[i]}, !cold_nulls[i] && DatumGetBool(cold_values[i])};

    part::cutoffs given;
    if (PG_NARGS() > 9 && !PG_ARGISNULL(9))
        given.retain_before = PG_GETARG_TIMESTAMP(9);
    if (PG_NARGS() > 10 && !PG_ARGISNULL(10))
        given.cold_before = PG_GETARG_TIMESTAMP(10);
    const std::vector<part::action> actions = part::plan(c, existing, now, given);
    pg::call([&] { InitMaterializedSRF(fcinfo, 0); });
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (const part::action& a : actions) {
        const std::string suffix = part::name_suffix(c.step, a.bounds.lower);
        Datum values[5];
        bool nulls[5] = {false, false, false, false, false};
        values[0] = CStringGetTextDatum(action_name(a.kind));
        values[1] = Int32GetDatum(a.partition + 1);
        nulls[1] = a.partition < 0;
        values[2] = time_datum(a.bounds.lower, nulls[2]);
        values[3] = time_datum(a.bounds.upper, nulls[3]);
        values[4] = CStringGetTextDatum(suffix.c_str());
        pg::call([&] { tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls); });
    }
    return Datum(0);
}

// _cell_lower(partition_interval, t timestamp) -> the start of the cell holding t, NULL for
// +-infinity (no finite partition holds those). Called once per row when rescue_default groups
// the default partition's rows by cell.
AI_SCALE_FUNCTION(ai_scale_partition_cell_lower)
{
    const part::interval step = valid_step(PG_GETARG_INTERVAL_P(0));
    const Timestamp t = PG_GETARG_TIMESTAMP(1);
    if (TIMESTAMP_NOT_FINITE(t))
        PG_RETURN_NULL();
    PG_RETURN_TIMESTAMP(part::align_down(step, t));
}

// _cells(partition_interval, from timestamp, to timestamp)
//   -> setof (lower timestamp, upper timestamp, suffix text): the cells covering [from, to].
AI_SCALE_FUNCTION(ai_scale_partition_cells)
{
    const part::interval step = valid_step(PG_GETARG_INTERVAL_P(0));
    // Counted as they are made: made first, the cells of a long span (any role may call this)
    // took 11 MB of memory per year of 1-minute cells before the count was refused.
    constexpr std::size_t max_cells = 1000000;
    const auto cs = part::cells(step, PG_GETARG_TIMESTAMP(1), PG_GETARG_TIMESTAMP(2), max_cells);
    if (cs.size() > max_cells)
        throw pg::error(ERRCODE_PROGRAM_LIMIT_EXCEEDED, "too many partitions in the span");
    pg::call([&] { InitMaterializedSRF(fcinfo, 0); });
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (const part::range& r : cs) {
        const std::string suffix = part::name_suffix(step, r.lower);
        Datum values[3] = {TimestampGetDatum(r.lower), TimestampGetDatum(r.upper),
                           CStringGetTextDatum(suffix.c_str())};
        bool nulls[3] = {false, false, false};
        pg::call([&] { tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls); });
    }
    return Datum(0);
}

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

// A table opened to read its partitions, and closed keeping the lock taken to the end of the
// transaction, as a query of it does; but only for a role that could query it or lock it: its
// owner (a member of), or one with a privilege on it or on one of its columns (or when this
// transaction held the lock already). For another role the lock lasts the call.
// Kept, any role could hold ACCESS SHARE on any table for as long as it kept a transaction
// open, which LOCK TABLE refuses it: an ALTER TABLE then waited, and every query behind that.
class partitions_reader {
  public:
    explicit partitions_reader(Oid table)
    {
        LOCKTAG tag;
        SET_LOCKTAG_RELATION(tag, MyDatabaseId, table);
        const Oid user = GetUserId();
        keep_lock_ = LockHeldByMe(&tag, AccessShareLock) || pg_class_ownercheck(table, user) ||
                     pg_class_aclmask(table, user, ACL_ALL_RIGHTS_RELATION, ACLMASK_ANY) != 0 ||
                     pg_attribute_aclcheck_all(table, user, ACL_ALL_RIGHTS_COLUMN, ACLMASK_ANY) ==
                         ACLCHECK_OK;
        rel_ = try_table_open(table, AccessShareLock);
    }
    Relation rel() const { return rel_; }
    void close() { table_close(rel_, keep_lock_ ? NoLock : AccessShareLock); }

  private:
    Relation rel_ = nullptr;
    bool keep_lock_ = false;
};

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

// _default_partition(parent regclass) -> the default partition of parent, or NULL when it has
// none (or does not exist). Read from the catalog as it is now, not under the transaction's
// snapshot: in REPEATABLE READ, a default another session had detached since the snapshot was
// still read as the default there, and rescue_default moved the rows of the detached table into
// the table. A DROP or DETACH of the default under way is waited for, as a query of it would,
// and the catalog read again after it; the lock is not kept: kept, it waited on the table's
// maintenance lock while a rescue holding that lock waited for it to attach its partitions
// (which locks the default fully), until one of them gave up (TAP 014).
AI_SCALE_FUNCTION(ai_scale_partition_default_partition)
{
    const Oid parent = PG_GETARG_OID(0);
    Oid dflt = pg::call([&] {
        for (;;) {
            Oid found = get_default_partition_oid(parent);
            if (!OidIsValid(found))
                return InvalidOid;
            // A lock this transaction did not hold yet waits for the DDL under way and then
            // reads the invalidations it sent. Released at once (a mode held before stays).
            LockRelationOid(found, AccessShareLock);
            bool still = get_default_partition_oid(parent) == found;
            UnlockRelationOid(found, AccessShareLock);
            if (still)
                return found;
        }
    });
    if (!OidIsValid(dflt))
        PG_RETURN_NULL();
    PG_RETURN_OID(dflt);
}

// _detach_pending(parent regclass) -> whether a partition of parent is pending detach (an
// interrupted DETACH ... CONCURRENTLY): the relcache's partition descriptors with and without
// such partitions differ in size, so the answer costs no catalog scan.
AI_SCALE_FUNCTION(ai_scale_partition_detach_pending)
{
    const Oid parent = PG_GETARG_OID(0);
    bool pending = pg::call([&] {
        // As in put_bounds: a table that does not exist (any role may call this) is 42P01, not
        // the internal error (XX000) table_open raises.
        partitions_reader reader(parent);
        Relation rel = reader.rel();
        if (rel == nullptr)
            ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                            errmsg("relation with OID %u does not exist", parent)));
        bool differ = rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE &&
                      RelationGetPartitionDesc(rel, false)->nparts !=
                          RelationGetPartitionDesc(rel, true)->nparts;
        reader.close();
        return differ;
    });
    PG_RETURN_BOOL(pending);
}

// _pending_detach_now(parent regclass, child regclass) -> whether child is a partition of
// parent pending detach in pg_inherits as it is now, not as the transaction's snapshot shows
// it: in REPEATABLE READ, that snapshot misses a DETACH ... CONCURRENTLY begun, or a FINALIZE
// committed, since it was taken. (A catalog scan without a snapshot of its own reads through a
// fresh catalog snapshot; pg_inherits has no syscache to keep an older one.)
AI_SCALE_FUNCTION(ai_scale_partition_pending_detach_now)
{
    const Oid parent = PG_GETARG_OID(0);
    const Oid child = PG_GETARG_OID(1);
    bool pending = pg::call([&] {
        Relation inherits = table_open(InheritsRelationId, AccessShareLock);
        ScanKeyData key;
        ScanKeyInit(&key, Anum_pg_inherits_inhrelid, BTEqualStrategyNumber, F_OIDEQ,
                    ObjectIdGetDatum(child));
        SysScanDesc scan =
            systable_beginscan(inherits, InheritsRelidSeqnoIndexId, true, nullptr, 1, &key);
        bool found = false;
        for (HeapTuple tuple; HeapTupleIsValid(tuple = systable_getnext(scan));) {
            const auto* row = reinterpret_cast<Form_pg_inherits>(GETSTRUCT(tuple));
            found = found || (row->inhparent == parent && row->inhdetachpending);
        }
        systable_endscan(scan);
        table_close(inherits, AccessShareLock);
        return found;
    });
    PG_RETURN_BOOL(pending);
}

// _pg_class_now(rel regclass, OUT relkind "char", OUT reltuples real, OUT reltablespace oid,
// OUT relowner oid, OUT relreplident "char", OUT relacl aclitem[]) -> those columns of rel's
// pg_class row from the syscache, as it is now (NULL when rel is gone): partitions() shows them
// beside the bounds _bounds reads from the relcache. Joined with pg_class under the statement's
// snapshot (taken before the call waited for the table's lock, in any isolation level), a
// partition made or attached by the DDL it waited for had bounds but no row, and was left out.
// A partition made is given its parent's tablespace, replica identity and grants as they are
// now: read under a REPEATABLE READ snapshot, a REVOKE committed since was granted again.
AI_SCALE_FUNCTION(ai_scale_partition_pg_class_now)
{
    const Oid rel = PG_GETARG_OID(0);
    TupleDesc tupdesc;
    if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
        throw pg::error(ERRCODE_FEATURE_NOT_SUPPORTED,
                        "_pg_class_now must be called in a context that accepts a record");
    bool found = false;
    Datum row = pg::call([&] {
        HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(rel));
        if (!HeapTupleIsValid(tuple))
            return Datum(0);
        found = true;
        const auto* form = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
        bool acl_null = false;
        const Datum acl = SysCacheGetAttr(RELOID, tuple, Anum_pg_class_relacl, &acl_null);
        Datum values[6] = {CharGetDatum(form->relkind),           Float4GetDatum(form->reltuples),
                           ObjectIdGetDatum(form->reltablespace), ObjectIdGetDatum(form->relowner),
                           CharGetDatum(form->relreplident),      acl};
        bool nulls[6] = {false, false, false, false, false, acl_null};
        // (Formed before the release: the acl points into the cached row.)
        HeapTuple row = heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls);
        ReleaseSysCache(tuple);
        return HeapTupleGetDatum(row);
    });
    if (!found)
        PG_RETURN_NULL();
    PG_RETURN_DATUM(row);
}

// _table_word(rel regclass) -> the word DROP and COMMENT ON take for rel (table_word.hpp); NULL
// when rel does not exist.
AI_SCALE_FUNCTION(ai_scale_partition_table_word)
{
    const Oid rel = PG_GETARG_OID(0);
    const char* word = pg::call([&] { return part::table_word(rel); });
    if (word == nullptr)
        PG_RETURN_NULL();
    PG_RETURN_TEXT_P(pg::call([&] { return cstring_to_text(word); }));
}

// _detach_runs_owner_code(rel regclass) -> whether the concurrent detach of the partition rel
// would run code of its owner's (owner_code.hpp): the run then detaches or drops it itself, as
// the owner, rather than leave it to the worker. False when rel does not exist.
AI_SCALE_FUNCTION(ai_scale_partition_detach_runs_owner_code)
{
    const Oid rel = PG_GETARG_OID(0);
    PG_RETURN_BOOL(pg::call([&] { return part::detach_runs_owner_code(rel); }) !=
                   part::owner_code_in_detach::none);
}

// _referencing_foreign_key(rel regclass) -> the oldest foreign key constraint that references
// rel (foreign_keys.hpp), NULL when none does.
AI_SCALE_FUNCTION(ai_scale_partition_referencing_foreign_key)
{
    const Oid rel = PG_GETARG_OID(0);
    const Oid key = pg::call([&] { return part::first_referencing_foreign_key(rel); });
    if (!OidIsValid(key))
        PG_RETURN_NULL();
    PG_RETURN_OID(key);
}

// _lock_to_drop(rel regclass) -> whether rel still exists once locked ACCESS EXCLUSIVE by its
// OID, as a DROP locks it (the parent first, when it is a partition), waiting at most
// lock_timeout. A DROP by the name the run read earlier looked the name up again after its
// wait: another session may have dropped the table meanwhile (42P01, the run's error), and
// made another of the same name, which the DROP then dropped. Locked only for a role that may
// drop it (a member of its owner's role), as a DROP would: for another, nothing is locked and
// the DROP refuses it.
AI_SCALE_FUNCTION(ai_scale_partition_lock_to_drop)
{
    const Oid rel = PG_GETARG_OID(0);
    const bool exists = pg::call([&] {
        HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(rel));
        if (!HeapTupleIsValid(tuple))
            return false;
        const auto* cls = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
        const Oid owner = cls->relowner;
        const bool partition = cls->relispartition;
        ReleaseSysCache(tuple);
        if (!has_privs_of_role(GetUserId(), owner))
            return true;
        if (partition) {
            const Oid parent = get_partition_parent(rel, true);
            if (OidIsValid(parent))
                LockRelationOid(parent, AccessExclusiveLock);
        }
        LockRelationOid(rel, AccessExclusiveLock);
        return SearchSysCacheExists1(RELOID, ObjectIdGetDatum(rel));
    });
    PG_RETURN_BOOL(exists);
}

// _lock_config_parent(rel regclass) -> rel's relpersistence, NULL when rel does not exist; for
// the trigger on partition_config, before a row names rel. For a role with the rights of rel's
// owner (the only one the trigger lets write the row) rel is also locked ACCESS SHARE until the
// transaction ends: a DROP that commits before the row does would forget no row (its event
// trigger cannot see it), and leave one for whatever table gets rel's OID next.
AI_SCALE_FUNCTION(ai_scale_partition_lock_config_parent)
{
    const Oid rel = PG_GETARG_OID(0);
    const char persistence = pg::call([&] {
        HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(rel));
        if (!HeapTupleIsValid(tuple))
            return '\0';
        const auto* cls = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
        const Oid owner = cls->relowner;
        char found = cls->relpersistence;
        ReleaseSysCache(tuple);
        if (!has_privs_of_role(GetUserId(), owner))
            return found;
        LockRelationOid(rel, AccessShareLock);
        tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(rel));
        if (!HeapTupleIsValid(tuple)) { // dropped while the lock was awaited
            UnlockRelationOid(rel, AccessShareLock);
            return '\0';
        }
        found = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relpersistence;
        ReleaseSysCache(tuple);
        return found;
    });
    if (persistence == '\0')
        PG_RETURN_NULL();
    PG_RETURN_CHAR(persistence);
}

// _count_maintenance(runs, actions, errors): adds to the maintenance counters of the stats view.
// Every role may call it (run_maintenance calls it as its caller); a negative count, which no
// run makes, wrapped the cluster's shared counters to about 1.8e19.
AI_SCALE_FUNCTION(ai_scale_partition_count_maintenance)
{
    if (PG_GETARG_INT32(0) < 0 || PG_GETARG_INT32(1) < 0 || PG_GETARG_INT32(2) < 0)
        throw pg::error(ERRCODE_INVALID_PARAMETER_VALUE, "maintenance counts must not be negative");
    stats::add(stats::counter::maintenance_runs, uint64_t(PG_GETARG_INT32(0)));
    stats::add(stats::counter::maintenance_actions, uint64_t(PG_GETARG_INT32(1)));
    stats::add(stats::counter::maintenance_errors, uint64_t(PG_GETARG_INT32(2)));
    PG_RETURN_VOID();
}

namespace {

// query (of $1 parent and $2 dflt, one row of one column) run with the latest snapshot, not the
// statement's or the transaction's; read-only. What read makes of its value (isnull, datum),
// before SPI_finish frees SPI's memory.
template <typename Read>
auto with_latest_snapshot(const char* query, const char* what, Oid parent, Oid dflt, Read read)
{
    return pg::call([&] {
        SPI_connect();
        Oid types[2] = {REGCLASSOID, REGCLASSOID};
        Datum values[2] = {ObjectIdGetDatum(parent), ObjectIdGetDatum(dflt)};
        SPIPlanPtr plan = SPI_prepare(query, 2, types);
        if (plan == nullptr)
            elog(ERROR, "ai_scale: cannot prepare the read of %s: %s", what,
                 SPI_result_code_string(SPI_result));
        const int rc = SPI_execute_snapshot(plan, values, nullptr, GetLatestSnapshot(),
                                            InvalidSnapshot, true, false, 1);
        if (rc != SPI_OK_SELECT || SPI_processed != 1)
            elog(ERROR, "ai_scale: reading %s failed: %s", what, SPI_result_code_string(rc));
        bool isnull = false;
        const Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
        auto result = read(isnull, d);
        SPI_finish();
        return result;
    });
}

} // namespace

// _path_through_parent_now(parent regclass, dflt regclass) -> boolean: _path_through_parent
// asked with the latest snapshot, not the statement's or the transaction's: the publications as
// logical decoding applies them to the rows a move writes now (its refusal, 0A000, raised as
// there). Read-only.
AI_SCALE_FUNCTION(ai_scale_partition_path_through_parent_now)
{
    const bool through = with_latest_snapshot(
        "SELECT ai_scale._path_through_parent($1, $2)", "the publications", PG_GETARG_OID(0),
        PG_GETARG_OID(1), [](bool isnull, Datum d) { return !isnull && DatumGetBool(d); });
    PG_RETURN_BOOL(through);
}

// _move_catalog_now(parent regclass, dflt regclass) -> text: _move_catalog asked with the
// latest snapshot: the rules, triggers and columns as the rewriter and the executor apply them
// to a move's statements once its locks are taken. Read-only.
AI_SCALE_FUNCTION(ai_scale_partition_move_catalog_now)
{
    // Copied out of SPI's memory, which SPI_finish frees, into the caller's; NULL stays NULL.
    const Datum shape = with_latest_snapshot(
        "SELECT ai_scale._move_catalog($1, $2)", "the rules, triggers and columns",
        PG_GETARG_OID(0), PG_GETARG_OID(1), [](bool isnull, Datum d) {
            return isnull ? PointerGetDatum(nullptr) : SPI_datumTransfer(d, false, -1);
        });
    if (DatumGetPointer(shape) == nullptr)
        PG_RETURN_NULL();
    PG_RETURN_DATUM(shape);
}
