#include "cache/l3_store.hpp"
#include "cache/key.hpp"
#include "cache/row_removal.hpp"
#include "guc.hpp"
#include "pg/guard.hpp"
#include "pg/relation_plan.hpp"
#include "pg/pinned_settings.hpp"

extern "C" {
#include "access/relation.h"
#include "access/transam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "partitioning/partdesc.h"
#include "storage/lmgr.h"
#include "storage/procarray.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/portal.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"
}

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

namespace ai_scale::cache {

namespace {

// The plans are kept per backend for the table they were made for.
pg::relation_plan plan;
pg::relation_plan plan_many;
pg::relation_plan plan_window;

// Only a table or a partitioned table is a store. A view (or a foreign table) would run code
// its owner chose, functions in its query or INSTEAD OF triggers, with the rights of whoever
// calls cache_get() or predict(), a superuser often, who never named that relation in a query.
bool is_table(Oid relid)
{
    const char kind = get_rel_relkind(relid); // '\0' for InvalidOid
    return kind == RELKIND_RELATION || kind == RELKIND_PARTITIONED_TABLE;
}

// Locks the store in mode, and says whether it still is a table. It was found without a lock
// (a store the user may not read is never locked); when it was dropped meanwhile, a query
// planned from its name waited for the DROP and then failed looking that name up (42P01)
// instead of missing. Held to the end of the transaction, as the query's own lock would be.
bool lock_if_table(Oid relid, LOCKMODE mode)
{
    LockRelationOid(relid, mode); // and takes in the invalidations of what the lock waited for
    if (is_table(relid))
        return true;
    UnlockRelationOid(relid, mode);
    return false;
}

// Whether the row (xmin at column col, xmax at col + 1; its tableoid and ctid at where_col and
// where_col + 1) may be gone from the store once the transactions at work on it end: this
// transaction or one of its subtransactions wrote it, or a transaction deleted or updated it
// and has not rolled back (row_removal.hpp; a row only locked stays). Such a row is answered,
// never cached: a snapshot taken before a committed DELETE still sees the row, and its fill,
// made after the cache_invalidate that followed the DELETE, served the deleted output for
// cache_ttl.
bool unsettled_row(HeapTuple row, TupleDesc desc, int col, int where_col)
{
    bool null_min = false, null_max = false, null_rel = false, null_tid = false;
    const Datum xmin = SPI_getbinval(row, desc, col, &null_min);
    if (!null_min && TransactionIdIsCurrentTransactionId(DatumGetTransactionId(xmin)))
        return true;
    const Datum xmax = SPI_getbinval(row, desc, col + 1, &null_max);
    if (null_max || !TransactionIdIsValid(DatumGetTransactionId(xmax)))
        return false;
    const Datum rel = SPI_getbinval(row, desc, where_col, &null_rel);
    const Datum tid = SPI_getbinval(row, desc, where_col + 1, &null_tid);
    return null_rel || null_tid ||
           row_may_be_removed(DatumGetObjectId(rel),
                              reinterpret_cast<ItemPointer>(DatumGetPointer(tid)));
}

// Whether the row is older than the TTL by the wall clock (the boolean at column col): the
// window is counted from now(), the start of the transaction, and a transaction that began
// long ago still finds rows that no new one would. Such a row is answered, never cached: copied
// to L1 and Redis for cache_ttl, an output written hours before served every session for
// another cache_ttl.
bool stale_row(HeapTuple row, TupleDesc desc, int col)
{
    bool null = false;
    const Datum stale = SPI_getbinval(row, desc, col, &null);
    return !null && DatumGetBool(stale);
}

// The schema of an unqualified store_table, as create_prediction_store() makes it. Not the
// search path: the lookups run under search_path = pg_catalog, pg_temp (pinned, so that no
// caller's path chooses the table predict() writes), which found an unqualified name only
// in pg_temp, so a store named without its schema was never read or written.
constexpr const char* unqualified_schema = "public";

// A temporary store is the reading session's own (pg_temp is each session's temporary
// schema): its rows, which the session's role wrote as it liked, are answers for that session
// only. They are answered, never cached, like an unsettled row. Copied to L1 and Redis they
// answered every role's cache_get and predict() in the database until keys had the store in
// them (store_scope.hpp); now they would answer this session alone, which finds them anyway.
bool session_private(Oid relid)
{
    return get_rel_persistence(relid) == RELPERSISTENCE_TEMP;
}

// Whether relid is an unlogged table; false for one dropped meanwhile (get_rel_persistence
// raises XX000 for it).
bool unlogged(Oid relid)
{
    HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
    if (!HeapTupleIsValid(tuple))
        return false;
    const bool found = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relpersistence ==
                       RELPERSISTENCE_UNLOGGED;
    ReleaseSysCache(tuple);
    return found;
}

// Whether, on a standby, the store (locked) or one of its partitions is unlogged: a standby may
// not read such a table (the lookup's planning raised 0A000, "cannot access temporary or
// unlogged relations during recovery", from predict() and every cache function on every miss),
// so there it is a miss, as a store the user may not read is. The partitions are read from the
// partition descriptor the relcache keeps (a store of a thousand is a thousand syscache looks
// per miss, on a standby only), a sub-partitioned one's from pg_inherits; none is locked.
bool unlogged_on_standby(Oid store)
{
    if (!RecoveryInProgress())
        return false;
    if (unlogged(store))
        return true;
    if (get_rel_relkind(store) != RELKIND_PARTITIONED_TABLE)
        return false;
    Relation rel = relation_open(store, NoLock);
    const PartitionDesc desc = RelationGetPartitionDesc(rel, true);
    bool found = false;
    for (int i = 0; i < desc->nparts && !found; i++) {
        const Oid part = desc->oids[i];
        if (get_rel_relkind(part) != RELKIND_PARTITIONED_TABLE) {
            found = unlogged(part);
            continue;
        }
        ListCell* lc;
        foreach (lc, find_all_inheritors(part, NoLock, nullptr))
            found = found || unlogged(lfirst_oid(lc));
    }
    relation_close(rel, NoLock);
    return found;
}

// Whether a lookup with latest would see the rows a lookup with the active snapshot saw: the
// same transactions running (xmin, xmax and the running ones, subtransactions included, none
// lost to an overflow) and the same command of this one. Then no transaction has ended since
// the active snapshot was taken, and this one has written nothing the active one cannot see.
// Compared, not counted: Postgres counts the transactions ended, and each snapshot it takes
// the count it was taken at, but the active snapshot is a copy, which never carries it (zero),
// so the lookup was made twice on every hit. Arrays in another order compare unequal: the
// lookup is then made again, as before.
bool sees_as_latest(Snapshot active, Snapshot latest)
{
    return active->snapshot_type == SNAPSHOT_MVCC && latest->snapshot_type == SNAPSHOT_MVCC &&
           active->xmin == latest->xmin && active->xmax == latest->xmax &&
           active->curcid == latest->curcid && !active->suboverflowed && !latest->suboverflowed &&
           active->takenDuringRecovery == latest->takenDuringRecovery &&
           active->xcnt == latest->xcnt && active->subxcnt == latest->subxcnt &&
           (active->xcnt == 0 ||
            memcmp(active->xip, latest->xip, active->xcnt * sizeof(TransactionId)) == 0) &&
           (active->subxcnt == 0 ||
            memcmp(active->subxip, latest->subxip, active->subxcnt * sizeof(TransactionId)) == 0);
}

// The snapshot to look a found row up again with before it is cached, or nullptr when the active
// snapshot is as new (*known true) or when it is not and no newer one can be taken (*known false:
// in parallel mode, where Postgres refuses to replace its latest snapshot; the row is then
// answered, not cached). An older snapshot (a REPEATABLE READ transaction's, or a statement's under
// way) does not see a newer row for the same input committed since; the older row it finds, cached,
// was served to every session until it expired, even after the writer's cache_invalidate. In
// parallel mode (cache_get above a Gather, or under force_parallel_mode a query calling no
// parallel-unsafe function) a snapshot of our own, taken only to be compared, still tells a hit as
// new as the latest: every hit there was answered uncached, the next run's too.
Snapshot snapshot_to_recheck(bool* known)
{
    *known = true;
    if (IsInParallelMode()) {
        static SnapshotData own = {SNAPSHOT_MVCC}; // its arrays allocated by its first taking
        *known = ActiveSnapshotSet() && sees_as_latest(GetActiveSnapshot(), GetSnapshotData(&own));
        return nullptr;
    }
    const Snapshot latest = GetLatestSnapshot();
    if (ActiveSnapshotSet() && sees_as_latest(GetActiveSnapshot(), latest))
        return nullptr;
    return latest;
}

// Runs a lookup's plan with the active snapshot, or with snap.
int run_lookup(SPIPlanPtr p, Datum* values, Snapshot snap, long count)
{
    if (snap == nullptr)
        return SPI_execute_plan(p, values, nullptr, true, count);
    return SPI_execute_snapshot(p, values, nullptr, snap, InvalidSnapshot, true, false, count);
}

// Whether the jsonb datum d is byte for byte the output already found.
bool same_output(Datum d, const Jsonb* found)
{
    const Jsonb* j = DatumGetJsonbP(d);
    return VARSIZE(j) == VARSIZE(found) && memcmp(j, found, VARSIZE(j)) == 0;
}

// Relation invalidations this backend has taken in, and their count when the last lookup began
// to resolve its store. A lookup reads with its statement's snapshot, taken before the lookup
// locked the store and planning locked its partitions: when one of those locks was waited for
// while a table-rewriting ALTER TABLE (a column's type, a volatile default, SET UNLOGGED of a
// partition) committed, the rows it copied carry its xid, which that snapshot does not see, and
// the lookup missed them (cache_get null, predict() scoring and storing the input again). Such
// a commit sends a relation invalidation, taken in with the lock: a miss after one is looked up
// again with the latest snapshot, as a plain SELECT that waited takes its snapshot after. Any
// relation's counts (another session's temporary table, an ANALYZE): such a miss is looked up
// twice, and may find a row committed since the statement began, which is answered, and cached
// only as any hit is (3-4% of misses with another session making 200 temporary tables a second).
uint64 relation_invals = 0;
uint64 invals_at_resolve = 0;
void count_relation_inval(Datum, Oid)
{
    relation_invals++;
}

// Whether a miss is to be looked up again with the latest snapshot (above). Not where the
// transaction's snapshot is the one to read with (REPEATABLE READ, SERIALIZABLE), nor in
// parallel mode, where no new snapshot may be taken.
bool retry_miss()
{
    return relation_invals != invals_at_resolve && !IsolationUsesXactSnapshot() &&
           !IsInParallelMode();
}

} // namespace

bool lock_store_for_insert(Oid relid)
{
    return pg::call([&] { return lock_if_table(relid, RowExclusiveLock); });
}

namespace {

// The relation of any kind that name (a value of ai_scale.store_table) names; *qualified says
// whether it named a schema. Resolved without RangeVarGetRelid, which checks USAGE on the
// schema and raises 42501 even with missing_ok: a store in a schema the user may not use is a
// miss like any other store the user may not read, and predict()'s insert there fails with the
// hint that says what to grant (store.cpp). Inside pg::call, under the pinned search path.
Oid named_relation(const char* name, bool* qualified)
{
    List* names = stringToQualifiedNameList(name);
    Oid relid = InvalidOid;
    *qualified = list_length(names) == 2;
    if (list_length(names) >= 1 && list_length(names) <= 2) {
        const char* nsp = *qualified ? strVal(linitial(names)) : unqualified_schema;
        // pg_temp is the session's own temporary schema (pg_temp_N), as RangeVarGetRelid reads
        // it for predict()'s insert; LookupExplicitNamespace checks no USAGE there.
        Oid schema = strcmp(nsp, "pg_temp") == 0 ? LookupExplicitNamespace(nsp, true)
                                                 : get_namespace_oid(nsp, true);
        if (schema != InvalidOid)
            relid = get_relname_relid(strVal(llast(names)), schema);
    }
    return relid;
}

// The table name names, InvalidOid when it names none (or a relation that is no table).
// Inside pg::call, under the pinned search path.
Oid named_table(const char* name)
{
    bool qualified;
    const Oid relid = named_relation(name, &qualified);
    return is_table(relid) ? relid : InvalidOid;
}

} // namespace

Oid store_table_relid()
{
    if (guc::store_table == nullptr || guc::store_table[0] == '\0')
        return InvalidOid;
    return store_named(guc::store_table);
}

Oid store_named(const char* name)
{
    pg::pinned_settings pinned;
    return pg::call([&] { return named_table(name); });
}

std::string store_table_not_table_detail()
{
    if (guc::store_table == nullptr || guc::store_table[0] == '\0')
        return {};
    // The relkind of a relation named that is no table, or unqualified, or nothing to add.
    constexpr int unqualified = -1;
    pg::pinned_settings pinned;
    const int why = pg::call([] {
        bool qualified;
        const Oid relid = named_relation(guc::store_table, &qualified);
        if (relid != InvalidOid && !is_table(relid))
            return int(get_rel_relkind(relid));
        return relid == InvalidOid && !qualified ? unqualified : 0;
    });
    if (why == unqualified)
        return std::string("A name without a schema is looked up in schema \"") +
               unqualified_schema + "\", whatever the search_path.";
    if (why == 0)
        return {};
    const char* kind = why == RELKIND_VIEW            ? "a view"
                       : why == RELKIND_MATVIEW       ? "a materialized view"
                       : why == RELKIND_FOREIGN_TABLE ? "a foreign table"
                       : why == RELKIND_SEQUENCE      ? "a sequence"
                                                      : "a relation that is not a table";
    return std::string("It names ") + kind + ": the store is a table or a partitioned table.";
}

namespace {

// The store whose columns were last found all there (check_store_columns), and the relation
// invalidations counted then: until another comes in, none can have been dropped or renamed.
Oid columns_checked_for = InvalidOid;
uint64 columns_checked_at = 0;

// Raises 42703 naming the store and the column when the store lacks one the lookups read.
// Without this check, a store whose owner dropped or renamed input_hash (a migration step)
// failed each lookup with Postgres's parse error of the lookup's own text: "column
// s.input_hash does not exist", an alias the user never wrote, with a hint to use input_data,
// and only for the calls that reached L3 (those answered from L1 or Redis went on). Inside
// pg::call, with the store locked (l3_readable_store: its invalidations taken in).
void check_store_columns(Oid relid)
{
    if (relid == columns_checked_for && relation_invals == columns_checked_at)
        return;
    for (const char* column :
         {"model_name", "model_version", "input_hash", "input_data", "output_data", "created_at"})
        if (get_attnum(relid, column) == InvalidAttrNumber)
            ereport(ERROR,
                    (errcode(ERRCODE_UNDEFINED_COLUMN),
                     errmsg("ai_scale.store_table \"%s\" has no column \"%s\"", guc::store_table,
                            column),
                     errdetail("The cache looks predictions up in the store by model_name, "
                               "model_version, input_hash, input_data and created_at, and "
                               "answers with output_data."),
                     errhint("Add the column back (or rename it back), or set ai_scale.store_table "
                             "to a store made by ai_scale.create_prediction_store().")));
    columns_checked_for = relid;
    columns_checked_at = relation_invals;
}

} // namespace

Oid l3_readable_store()
{
    if (guc::store_table == nullptr || guc::store_table[0] == '\0')
        return InvalidOid;
    pg::pinned_settings pinned;
    return pg::call([] {
        static bool registered = false;
        if (!registered) {
            CacheRegisterRelcacheCallback(count_relation_inval, 0);
            registered = true;
        }
        invals_at_resolve = relation_invals;
        const Oid relid = named_table(guc::store_table);
        if (relid == InvalidOid)
            return InvalidOid;
        if (pg_namespace_aclcheck(get_rel_namespace(relid), GetUserId(), ACL_USAGE) !=
                ACLCHECK_OK ||
            pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
            return InvalidOid;
        return lock_if_table(relid, AccessShareLock) && !unlogged_on_standby(relid) ? relid
                                                                                    : InvalidOid;
    });
}

namespace {

// The type of the store's created_at (a domain's base type), or InvalidOid without one.
Oid key_type(Oid relid)
{
    const AttrNumber col = get_attnum(relid, "created_at");
    return col == InvalidAttrNumber ? InvalidOid : getBaseType(get_atttype(relid, col));
}

// The type the window's ends are passed in: the key's own where it is timestamp, so that
// planning prunes by them. Passed as timestamptz, the comparison of a timestamp key with them
// is only stable (it reads the session's TimeZone), planning pruned nothing, and each lookup
// locked every partition of the store and each of its indexes to the end of the transaction:
// 66 locks against 5 on a store of 30 daily partitions. timestamptz for any other key: a date
// store is not read (l3_lookup_store), and one without created_at is refused
// (check_store_columns).
Oid window_type(Oid relid)
{
    return key_type(relid) == TIMESTAMPOID ? TIMESTAMPOID : TIMESTAMPTZOID;
}

// An instant as a value of the window's type: for a timestamp key, the local time of the
// session's TimeZone, as predict()'s insert in the session writes now() into such a key (the
// store worker's, of store_mode async, in the worker's TimeZone), and as Postgres compared the
// key with a timestamptz before: each lookup finds the rows it found then.
Datum window_value(TimestampTz instant, Oid type)
{
    const Datum d = TimestampTzGetDatum(instant);
    return type == TIMESTAMPOID ? DirectFunctionCall1(timestamptz_timestamp, d) : d;
}

// The window of created_at a lookup reads, as parameters: from now() less the ttl to the
// clock plus the ttl. Written as created_at >= now() - make_interval(...) in the query, it
// pruned no partition at planning (now() is only stable), and a kept plan locked every
// partition of the store and each of its indexes to the end of the transaction: a store of 300
// daily partitions made ahead (premake 300) took 900 locks and 2.2 ms per lookup, and eight
// concurrent predict() calls filled the lock table (max_locks_per_transaction = 64,
// max_connections = 20). With both ends as values a plan reads the partitions of the window
// alone. Rows dated more than the ttl ahead of the clock (none that predict() writes) are not
// looked up. The lookups are planned with these values at each execution (custom plans): a
// generic plan, which Postgres weighs after the fifth and takes when the partitions outside the
// window cost nothing (premade and empty, and analyzed: an ANALYZE of the store marks them so),
// leaves them unread but still locks each: 305 locks per lookup at 302 partitions.
// Each end is a value of type (window_type's).
//
// For a timestamp key, after the clocks went back within the window the local time of its
// start is later than that of rows written since (01:10 of summer time against 01:05 of winter
// time, written five minutes ago), and those of rows written before the change within the ttl
// are later than its end: no row written since the change was found for up to cache_ttl. Both
// ends move out by the time given back, and created_at >= the start as an instant ($8 or $5,
// since: the comparison made before, where Postgres reads an ambiguous local time as standard
// time) keeps the rows older than the window out.
struct window_bounds {
    Datum start, end; // in the window's type
    Datum since;      // the start as an instant (timestamptz)
};

window_bounds window_of(int ttl_s, Oid type)
{
    const TimestampTz from =
        GetCurrentTransactionStartTimestamp() - TimestampTz(ttl_s) * USECS_PER_SEC;
    const TimestampTz to = GetCurrentTimestamp() + TimestampTz(ttl_s) * USECS_PER_SEC;
    if (type != TIMESTAMPOID)
        return {TimestampTzGetDatum(from), TimestampTzGetDatum(to), TimestampTzGetDatum(from)};
    const Timestamp local_from = DatumGetTimestamp(window_value(from, type));
    const Timestamp local_to = DatumGetTimestamp(window_value(to, type));
    // The zone's offset from UTC at the start less its offset at the end.
    const int64 given_back = (local_from - from) - (local_to - to);
    const int64 widen = given_back > 0 ? given_back : 0;
    return {TimestampGetDatum(local_from - widen), TimestampGetDatum(local_to + widen),
            TimestampTzGetDatum(from)};
}

// The date stores this backend warned of (l3_lookup_store): a session switching store_table
// between two was warned at every switch.
std::vector<Oid> warned_date_stores;

} // namespace

// A store keyed by date is read by no lookup: a row's date does not say when in its day it was
// written, so no window can hold the lookups to cache_ttl. Read as midnight, the day's rows were
// found in the first cache_ttl of the day, and at any other hour none was: every input was
// scored and stored again. A WARNING says so, once per backend and store, as predict() warns
// of a store_table that names no table.
Oid l3_lookup_store()
{
    const Oid relid = l3_readable_store();
    if (relid == InvalidOid)
        return relid;
    if (pg::call([&] { return key_type(relid); }) != DATEOID) {
        pg::call([&] { check_store_columns(relid); });
        return relid;
    }
    if (std::find(warned_date_stores.begin(), warned_date_stores.end(), relid) ==
        warned_date_stores.end()) {
        warned_date_stores.push_back(relid);
        pg::call([] {
            ereport(WARNING,
                    (errcode(ERRCODE_DATATYPE_MISMATCH),
                     errmsg("ai_scale.store_table \"%s\" is keyed by date: the cache does not "
                            "read it",
                            guc::store_table),
                     errdetail("A lookup reads the rows of the last ai_scale.cache_ttl, and a "
                               "date does not say when in its day a row was written."),
                     errhint("Make a store keyed by timestamptz with "
                             "ai_scale.create_prediction_store(); predict() goes on storing its "
                             "rows in this one.")));
        });
    }
    return InvalidOid;
}

// The lookups read output_data as jsonb and input_hash as int8 by a cast, which costs nothing
// where the columns have those types (create_prediction_store's): the store's owner may have
// made them other types (json, text, numeric), which Postgres casts predict()'s rows into, and
// whose bytes read as jsonb crashed the server (and as int8, missed every input). input_data
// is compared as jsonb the same way: kept as json or text (a log of each request as its client
// sent it), there was no operator for it = jsonb, and every lookup failed with 42883.
// The lookups match the model name byte for byte as well (COLLATE "C"), besides the plain
// equality the store's index serves: under a nondeterministic collation of the store's
// model_name (a case-insensitive ICU one, say), that alone found the rows of 'Fraud' for
// 'fraud', and their outputs answered, and were cached, as the other model's.
Jsonb* l3_get(Oid relid, text* model, int32 version, Jsonb* input, int ttl_s, bool* unsettled)
{
    *unsettled = false;
    int64 hash = int64(input_hash(input));
    MemoryContext caller = CurrentMemoryContext;
    Jsonb* out = nullptr;
    pg::pinned_settings pinned;
    pg::call([&] {
        SPI_connect();
        const Oid window = window_type(relid);
        Oid types[8] = {TEXTOID,   INT4OID, INT8OID, JSONBOID,
                        FLOAT8OID, window,  window,  TIMESTAMPTZOID};
        SPIPlanPtr p = pg::plan_for(plan, relid,
                                    "SELECT output_data::pg_catalog.jsonb, xmin, xmax, "
                                    "created_at < clock_timestamp() - make_interval(secs => $5), "
                                    "tableoid, ctid "
                                    "FROM %s WHERE model_name = $1 "
                                    "AND model_name::pg_catalog.text COLLATE pg_catalog.\"C\" = $1 "
                                    "AND model_version = $2 "
                                    "AND input_hash = $3 "
                                    "AND input_data::pg_catalog.jsonb = $4 "
                                    "AND created_at >= $6 AND created_at <= $7 "
                                    "AND created_at >= $8 "
                                    "ORDER BY created_at DESC LIMIT 1",
                                    8, types, "L3 lookup", CURSOR_OPT_CUSTOM_PLAN);
        const window_bounds bounds = window_of(ttl_s, window);
        Datum values[8] = {PointerGetDatum(model),
                           Int32GetDatum(version),
                           Int64GetDatum(hash),
                           PointerGetDatum(input),
                           Float8GetDatum(double(ttl_s)),
                           bounds.start,
                           bounds.end,
                           bounds.since};
        const bool private_store = session_private(relid);
        // The newest row's output, if the lookup with snap finds one; and whether it may be
        // cached as far as that row tells.
        auto newest = [&](Snapshot snap, bool* cacheable) -> std::optional<Datum> {
            int rc = run_lookup(p, values, snap, 1);
            if (rc != SPI_OK_SELECT || SPI_processed != 1)
                return std::nullopt;
            bool isnull = false;
            HeapTuple row = SPI_tuptable->vals[0];
            Datum d = SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &isnull);
            if (isnull)
                return std::nullopt;
            *cacheable = !private_store && !unsettled_row(row, SPI_tuptable->tupdesc, 2, 5) &&
                         !stale_row(row, SPI_tuptable->tupdesc, 4);
            return d;
        };
        bool cacheable = false;
        std::optional<Datum> d = newest(nullptr, &cacheable);
        if (!d && retry_miss())
            d = newest(GetLatestSnapshot(), &cacheable);
        if (d) {
            MemoryContext spi = MemoryContextSwitchTo(caller);
            out = DatumGetJsonbPCopy(*d);
            MemoryContextSwitchTo(spi);
            if (cacheable) {
                bool known = false;
                if (Snapshot snap = snapshot_to_recheck(&known)) {
                    auto again = newest(snap, &cacheable);
                    cacheable = again && cacheable && same_output(*again, out);
                } else {
                    cacheable = known;
                }
            }
            *unsettled = !cacheable;
        }
        SPI_finish();
    });
    return out;
}

namespace {

// Inputs per execution of the batch lookup. Its arrays of hashes and inputs, the custom plan
// made for them (planning copies each twice) and the rows it returns take memory in
// proportion: a million inputs, all missing in the store, raised the backend's peak by 300 MB
// in one execution, 119 MB in pieces (TAP 239). A piece costs one planning of the query.
constexpr size_t inputs_per_lookup = 10000;

// The batch lookup's plan, the values it runs with ($3 and $4 set for each piece), and
// scratch for a piece, sized before the lookups (see l3_get_many): at[j] is the position in
// the batch of the piece's input j, hashes[j] its hash; a retry's input r is the piece's
// missed[r].
struct batch_lookup {
    SPIPlanPtr plan = nullptr;
    Datum values[8] = {};
    Oid bound_type = TIMESTAMPTZOID; // the type of values[5] and values[6] (window_type)
    bool private_store = false;
    MemoryContext caller = nullptr; // where outputs are copied to
    std::vector<size_t> at, missed;
    std::vector<Datum> hashes, inputs, missed_hashes, missed_inputs;
    std::vector<bool> cacheable, confirmed;
    std::vector<int64> window; // see read_window

    explicit batch_lookup(size_t piece)
        : at(piece), missed(piece), hashes(piece), inputs(piece), missed_hashes(piece),
          missed_inputs(piece), cacheable(piece), confirmed(piece)
    {}
};

// The lookup's arrays ($3 and $4) of the first n hashes and inputs.
void set_lookup_arrays(batch_lookup& b, const Datum* hashes, const Datum* inputs, int n)
{
    b.values[2] = PointerGetDatum(construct_array(const_cast<Datum*>(hashes), n, INT8OID, 8,
                                                  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
    b.values[3] = PointerGetDatum(
        construct_array(const_cast<Datum*>(inputs), n, JSONBOID, -1, false, TYPALIGN_INT));
}

void free_lookup_arrays(batch_lookup& b)
{
    pfree(DatumGetPointer(b.values[2]));
    pfree(DatumGetPointer(b.values[3]));
}

// Looks up the n inputs of the piece (b.at, b.hashes): out[b.at[j]] gets the output of the
// newest row for that input, copied to the caller's context, and unsettled[b.at[j]] whether
// it must not be cached.
void look_up_piece(batch_lookup& b, const std::vector<Jsonb*>& batch, int n, Jsonb** out,
                   std::vector<bool>& unsettled)
{
    for (int j = 0; j < n; j++)
        b.inputs[j] = PointerGetDatum(batch[b.at[j]]);
    // Calls found(j, output, cacheable) for each of the count inputs of the lookup's arrays
    // that the lookup with snap finds a row for.
    auto newest = [&](Snapshot snap, int count, auto found) {
        int rc = run_lookup(b.plan, b.values, snap, 0);
        if (rc != SPI_OK_SELECT)
            return;
        for (uint64 r = 0; r < SPI_processed; r++) {
            bool null_n = false, null_v = false;
            HeapTuple row = SPI_tuptable->vals[r];
            int64 ord = DatumGetInt64(SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &null_n));
            Datum v = SPI_getbinval(row, SPI_tuptable->tupdesc, 2, &null_v);
            if (null_n || null_v || ord < 1 || ord > count)
                continue;
            found(size_t(ord - 1), v,
                  !b.private_store && !unsettled_row(row, SPI_tuptable->tupdesc, 3, 6) &&
                      !stale_row(row, SPI_tuptable->tupdesc, 5));
        }
        SPI_freetuptable(SPI_tuptable);
    };
    std::vector<bool>& cacheable = b.cacheable;
    cacheable.assign(cacheable.size(), false);
    bool any_cacheable = false;
    int found = 0;
    auto keep = [&](size_t j, Datum v, bool ok) {
        if (out[b.at[j]] != nullptr)
            return;
        MemoryContext spi = MemoryContextSwitchTo(b.caller);
        out[b.at[j]] = DatumGetJsonbPCopy(v);
        MemoryContextSwitchTo(spi);
        cacheable[j] = ok;
        any_cacheable = any_cacheable || ok;
        found++;
    };
    set_lookup_arrays(b, b.hashes.data(), b.inputs.data(), n);
    newest(nullptr, n, keep);
    // The misses looked up again, alone, after a wait for a rewrite (retry_miss). (The whole
    // piece again probed every input it had found too.)
    if (found < n && retry_miss()) {
        int misses = 0;
        for (int j = 0; j < n; j++) {
            if (out[b.at[j]] != nullptr)
                continue;
            b.missed[misses] = size_t(j);
            b.missed_hashes[misses] = b.hashes[j];
            b.missed_inputs[misses] = b.inputs[j];
            misses++;
        }
        // The piece's arrays are kept for the recheck below, and the misses' set beside them.
        const Datum piece_hashes = b.values[2], piece_inputs = b.values[3];
        set_lookup_arrays(b, b.missed_hashes.data(), b.missed_inputs.data(), misses);
        newest(GetLatestSnapshot(), misses,
               [&](size_t r, Datum v, bool ok) { keep(b.missed[r], v, ok); });
        free_lookup_arrays(b);
        b.values[2] = piece_hashes;
        b.values[3] = piece_inputs;
    }
    bool known = true;
    Snapshot snap = any_cacheable ? snapshot_to_recheck(&known) : nullptr;
    if (snap != nullptr) {
        b.confirmed.assign(b.confirmed.size(), false);
        newest(snap, n, [&](size_t j, Datum v, bool ok) {
            b.confirmed[j] = cacheable[j] && ok && same_output(v, out[b.at[j]]);
        });
        cacheable.swap(b.confirmed);
    } else if (!known) {
        cacheable.assign(cacheable.size(), false);
    }
    for (int j = 0; j < n; j++)
        unsettled[b.at[j]] = out[b.at[j]] != nullptr && !cacheable[j];
    free_lookup_arrays(b);
}

// Reads the input hashes of the rows the batch lookup can find (the model's and version's, in
// the window) into b.window, sorted, each once; when Postgres estimates more than limit rows,
// or more are read, reads no further and leaves b.window empty: false. Reads with the active
// snapshot, as the lookup's first pass does, so an input whose hash is not there is one that
// pass would miss.
// Why: a batch in pieces against a window with fewer rows than the batch hashed the whole
// window again for each piece (Postgres weighs a hash join of the window against a piece's
// index probes) or probed the index for inputs the window cannot hold. With the window's
// hashes read once, only the inputs whose hash is there are looked up: a million inputs, a
// tenth of them in a window of 100,000 rows, 12-13 s -> 3-4 s. The hashes take 8 bytes a row,
// at most a row per input (docs/cache.md, Limits).
bool read_window(batch_lookup& b, Oid relid, size_t limit)
{
    Oid types[5] = {TEXTOID, INT4OID, b.bound_type, b.bound_type, TIMESTAMPTZOID};
    SPIPlanPtr p = pg::plan_for(plan_window, relid,
                                "SELECT s.input_hash::pg_catalog.int8 FROM %s s "
                                "WHERE s.model_name = $1 "
                                "AND s.model_name::pg_catalog.text COLLATE pg_catalog.\"C\" = $1 "
                                "AND s.model_version = $2 AND s.input_hash IS NOT NULL "
                                "AND s.created_at >= $3 AND s.created_at <= $4 "
                                "AND s.created_at >= $5",
                                5, types, "L3 window read", CURSOR_OPT_CUSTOM_PLAN);
    Datum values[5] = {b.values[0], b.values[1], b.values[5], b.values[6], b.values[7]};
    Portal cursor = SPI_cursor_open(nullptr, p, values, nullptr, true);
    const PlannedStmt* stmt = linitial_node(PlannedStmt, cursor->stmts);
    bool whole = stmt->planTree->plan_rows <= double(limit);
    if (whole)
        b.window.reserve(std::min(limit, size_t(stmt->planTree->plan_rows) + 1));
    while (whole) {
        SPI_cursor_fetch(cursor, true, long(inputs_per_lookup));
        if (SPI_processed == 0)
            break;
        whole = b.window.size() + SPI_processed <= limit;
        for (uint64 r = 0; whole && r < SPI_processed; r++) {
            bool null = false;
            b.window.push_back(DatumGetInt64(
                SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &null)));
        }
        SPI_freetuptable(SPI_tuptable);
    }
    SPI_cursor_close(cursor);
    if (!whole) {
        std::vector<int64>().swap(b.window);
        return false;
    }
    std::sort(b.window.begin(), b.window.end());
    b.window.erase(std::unique(b.window.begin(), b.window.end()), b.window.end());
    return true;
}

} // namespace

std::vector<Jsonb*> l3_get_many(Oid relid, text* model, int32 version,
                                const std::vector<Jsonb*>& inputs, int ttl_s,
                                std::vector<bool>* unsettled)
{
    std::vector<Jsonb*> out(inputs.size(), nullptr);
    unsettled->assign(inputs.size(), false);
    if (inputs.empty())
        return out;
    // Out here, not in the pg::call below: a Postgres error there (a cancel, a statement
    // timeout, an error in the store's row security) jumps past the frames inside it without
    // their destructors, and each failed lookup kept a bit per input for the backend's life.
    const size_t piece = std::min(inputs.size(), inputs_per_lookup);
    batch_lookup b(piece);
    b.caller = CurrentMemoryContext;
    pg::pinned_settings pinned;
    pg::call([&] {
        SPI_connect();
        // One index probe per input, a piece of the inputs per executor run; the newest row
        // per input wins.
        b.bound_type = window_type(relid);
        Oid types[8] = {TEXTOID,   INT4OID,      INT8ARRAYOID, JSONBARRAYOID,
                        FLOAT8OID, b.bound_type, b.bound_type, TIMESTAMPTZOID};
        b.plan = pg::plan_for(
            plan_many, relid,
            "SELECT DISTINCT ON (t.n) t.n, s.output_data::pg_catalog.jsonb, s.xmin, s.xmax, "
            "s.created_at < clock_timestamp() - make_interval(secs => $5), s.tableoid, s.ctid "
            "FROM ROWS FROM (pg_catalog.unnest($3), pg_catalog.unnest($4)) WITH ORDINALITY "
            "AS t(h, i, n) JOIN %s s ON s.model_name = $1 "
            "AND s.model_name::pg_catalog.text COLLATE pg_catalog.\"C\" = $1 "
            "AND s.model_version = $2 "
            "AND s.input_hash = t.h AND s.input_data::pg_catalog.jsonb = t.i "
            "AND s.created_at >= $6 AND s.created_at <= $7 AND s.created_at >= $8 "
            "ORDER BY t.n, s.created_at DESC",
            8, types, "L3 batch lookup", CURSOR_OPT_CUSTOM_PLAN);
        b.values[0] = PointerGetDatum(model);
        b.values[1] = Int32GetDatum(version);
        b.values[4] = Float8GetDatum(double(ttl_s));
        const window_bounds bounds = window_of(ttl_s, b.bound_type);
        b.values[5] = bounds.start;
        b.values[6] = bounds.end;
        b.values[7] = bounds.since;
        b.private_store = session_private(relid);
        // A batch of more than one piece looks up only the inputs whose hash the window
        // holds, when it holds no more rows than the batch has inputs (see read_window).
        // (Not after a relation invalidation: the window is read with the statement's snapshot,
        // which missed every row an ALTER rewrote while the call waited, and every input was
        // left out before its lookup could look again: see retry_miss. Asked after the read,
        // whose planning may wait for a partition's rewrite: specs/cache_l3_rewrite_wait.)
        const bool filtered = inputs.size() > inputs_per_lookup &&
                              read_window(b, relid, inputs.size()) && !retry_miss();
        size_t n = 0;
        for (size_t i = 0; i < inputs.size(); i++) {
            const int64 h = int64(input_hash(inputs[i]));
            if (filtered && !std::binary_search(b.window.begin(), b.window.end(), h))
                continue;
            b.at[n] = i;
            b.hashes[n] = Int64GetDatum(h);
            if (++n == piece) {
                look_up_piece(b, inputs, int(n), out.data(), *unsettled);
                n = 0;
            }
        }
        if (n > 0)
            look_up_piece(b, inputs, int(n), out.data(), *unsettled);
        SPI_finish();
    });
    return out;
}

} // namespace ai_scale::cache
