// The planner's SQL face (install/20_partition_common.sql): a partition config checked against
// the pure planner's rules (planner.hpp) and a table's time zone against
// guc::partition_zone_problem, the plan of a maintenance run, and the cells of a span.
#include "guc.hpp"
#include "partition/planner.hpp"
#include "pg/args.hpp"
#include "pg/guard.hpp"
#include "pg/postgres.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
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
