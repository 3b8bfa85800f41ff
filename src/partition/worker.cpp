// The maintenance worker, one per database, started and restarted by the launcher
// (src/partition/launcher.cpp), which names the database in bgw_extra. Each run maintains the
// managed tables one by one, each in a transaction of its own (as pg_partman's
// run_maintenance_proc does; two when retention drops or detaches partitions, committed before
// the rest), so that the locks one table's DDL took are released before the next table is
// started: ai_scale._run_maintenance(table, true, phase) creates, tiers and rescues,
// each DDL under a short lock_timeout; the drops and detaches it defers are done, once every
// table has been maintained, with DETACH PARTITION ... CONCURRENTLY, which needs transactions
// of its own and so cannot run inside a function. An error on a table is logged and counted,
// and the worker carries on with the next table. Written in C style on purpose: Postgres errors
// longjmp through this code, so no object here owns a destructor.
#include "guc.hpp"
#include "partition/launcher.hpp"
#include "partition/lock_holders.hpp"
#include "partition/table_word.hpp"
#include "partition/worker_registry.hpp"
#include "pg/bgworker.hpp"
#include "pg/catalog_caches.hpp"
#include "pg/postgres.hpp"
#include "stats/shared_stats.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "access/xlog.h"
#include "catalog/partition.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "nodes/plannodes.h"
#include "parser/parser.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

PGDLLEXPORT void ai_scale_maintenance_main(Datum arg);
}

#include <chrono>
#include <cstring>

namespace {

// The partitions a run deferred: "parent", "partition", "drop" or "detach". The detaches come
// after every table's run, which can be hours later (one waits for an old transaction): the
// tables are followed by OID, and their names (as regclass prints them) read again before each
// statement (current_names), since a DBA may rename them, or their schemas, meanwhile.
struct pending_detach {
    Oid parent_oid;
    Oid partition_oid;
    char* parent;
    char* partition;
    bool drop;
    bool finalize;   // a detach interrupted earlier: DETACH ... FINALIZE completes it
    char* retention; // the table's retention_mode and retention when the run chose it
};

// A managed table: its OID, its name as regclass prints it, for the log, and the detaches its
// maintenance deferred, done once every table of the run has been maintained.
struct managed_table {
    Oid oid;
    char* name;
    pending_detach* pending;
    int npending;
};

MemoryContext run_context = nullptr;
bool restore_waited = false; // the last run waited for a pg_restore (logged once)

// The catalog caches, reset by bound_catalog_caches.
ai_scale::pg::catalog_cache_bound catalog_caches;

// Whether query, with nargs parameters of types, returns a row. Inside a transaction, connected
// to SPI.
bool returns_a_row(const char* query, int nargs = 0, Oid* types = nullptr, Datum* args = nullptr)
{
    int rc = SPI_execute_with_args(query, nargs, types, args, nullptr, true, 1);
    if (rc != SPI_OK_SELECT)
        elog(ERROR, "ai_scale maintenance: SPI_execute failed: %s", SPI_result_code_string(rc));
    return SPI_processed > 0;
}

constexpr const char* extension_installed =
    "SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'ai_scale'";

// Whether the table partition, which the worker detached to drop it, is still owed its drop
// (ai_scale._owed_drop_due of its mark): the settings as read after the maintenance that chose
// it returned may be newer than the ones it decided with. Inside a transaction, connected to SPI.
bool still_owed(Oid parent, Oid partition)
{
    Oid argtypes[2] = {OIDOID, OIDOID};
    Datum args[2] = {ObjectIdGetDatum(parent), ObjectIdGetDatum(partition)};
    int rc = SPI_execute_with_args("SELECT ai_scale._owed_drop_due($1::pg_catalog.regclass, "
                                   "pg_catalog.obj_description($2, 'pg_class'))",
                                   2, argtypes, args, nullptr, true, 1);
    if (rc != SPI_OK_SELECT || SPI_processed != 1)
        elog(ERROR, "ai_scale maintenance: SPI_execute failed: %s", SPI_result_code_string(rc));
    bool isnull;
    Datum owed = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
    return !isnull && DatumGetBool(owed);
}

// The word DROP and COMMENT ON take for the table partition (table_word.hpp): "TABLE" when it
// is gone. Inside a transaction.
const char* partition_word(Oid partition)
{
    const char* word = ai_scale::partition::table_word(partition);
    return word != nullptr ? word : "TABLE";
}

// The name of rel as regclass prints it under the worker's search_path (schema-qualified), in
// run_context; nullptr when rel is gone. Inside a transaction.
char* qualified_name(Oid rel)
{
    char* name = get_rel_name(rel);
    char* nsp = name != nullptr ? get_namespace_name(get_rel_namespace(rel)) : nullptr;
    if (nsp == nullptr)
        return nullptr;
    return MemoryContextStrdup(run_context, quote_qualified_identifier(nsp, name));
}

// Reads p's names again from its tables' OIDs (the run printed them long ago, maybe: see
// pending_detach); false, leaving them as they were, when either table is gone. Inside a
// transaction.
bool current_names(pending_detach& p)
{
    char* parent = qualified_name(p.parent_oid);
    char* partition = qualified_name(p.partition_oid);
    if (parent == nullptr || partition == nullptr)
        return false;
    p.parent = parent;
    p.partition = partition;
    return true;
}

void start_transaction(const char* activity)
{
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    PushActiveSnapshot(GetTransactionSnapshot());
    pgstat_report_activity(STATE_RUNNING, activity);
}

// The commit leaves TopMemoryContext current: what the worker allocates between transactions
// (the statements a deferred detach builds) goes to run_context instead, emptied at each run.
// In TopMemoryContext it stayed for the worker's life: 288 bytes per partition dropped.
void finish_transaction()
{
    if (ActiveSnapshotSet())
        PopActiveSnapshot();
    CommitTransactionCommand();
    MemoryContextSwitchTo(run_context);
    pgstat_report_activity(STATE_IDLE, nullptr);
}

void set_lock_timeout()
{
    char value[32];
    snprintf(value, sizeof value, "%dms", ai_scale::guc::maintenance_lock_timeout_ms);
    SetConfigOption("lock_timeout", value, PGC_SUSET, PGC_S_SESSION);
}

// Whether a pg_restore is connected to the database, logging when that changes from the last
// run. pg_restore restores the extension's configuration tables with the data, and builds the
// indexes of the tables last: a partition made meanwhile got none, and the parent's partitioned
// indexes, which the restore creates with ONLY and completes partition by partition, stayed
// invalid for good; a partition dropped by retention meanwhile failed the restore of its rows.
// The run waits until no pg_restore (as it names itself in pg_stat_activity) is connected to
// the database. Inside a transaction, connected to SPI.
bool restore_connected()
{
    const bool restoring = returns_a_row("SELECT 1 FROM pg_catalog.pg_stat_activity "
                                         "WHERE datname = pg_catalog.current_database() "
                                         "AND application_name = 'pg_restore'");
    if (restoring != restore_waited)
        ereport(LOG, (errmsg(restoring ? "ai_scale maintenance waits: pg_restore is connected to "
                                         "database \"%s\""
                                       : "ai_scale maintenance resumes in database \"%s\": "
                                         "pg_restore is done",
                             MyBgworkerEntry->bgw_extra)));
    restore_waited = restoring;
    return restoring;
}

// The rows of ai_scale.partition_config in OID order, in run_context. Inside a transaction,
// connected to SPI.
managed_table* read_config(int* ntables)
{
    int rc = SPI_execute("SELECT parent::oid, parent::text FROM ai_scale.partition_config "
                         "ORDER BY parent::oid",
                         true, 0);
    if (rc != SPI_OK_SELECT)
        elog(ERROR, "ai_scale maintenance: SPI_execute failed: %s", SPI_result_code_string(rc));
    managed_table* tables = static_cast<managed_table*>(
        MemoryContextAllocZero(run_context, sizeof(managed_table) * (SPI_processed + 1)));
    for (uint64 i = 0; i < SPI_processed; i++) {
        bool isnull;
        tables[i].oid = DatumGetObjectId(
            SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
        tables[i].name = MemoryContextStrdup(
            run_context, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2));
    }
    *ntables = int(SPI_processed);
    return tables;
}

// The managed tables of this database in OID order, in run_context; nullptr when the extension
// is not installed here, or while a pg_restore is connected.
managed_table* list_tables(int* ntables)
{
    *ntables = 0;
    start_transaction("ai_scale maintenance");
    SPI_connect();
    managed_table* tables = nullptr;
    if (returns_a_row(extension_installed) && !restore_connected())
        tables = read_config(ntables);
    SPI_finish();
    finish_transaction();
    return tables;
}

// Runs _run_maintenance on one table, its rows left in SPI_tuptable: the phase 'first' or
// 'rest' of its run (see ai_scale._maintain). Inside a transaction, connected to SPI.
void run_maintenance_of(Oid table, const char* phase)
{
    Oid argtypes[2] = {OIDOID, TEXTOID};
    Datum args[2] = {ObjectIdGetDatum(table), CStringGetTextDatum(phase)};
    int rc = SPI_execute_with_args(
        "SELECT r.parent_table::text, r.action, r.partition, r.detail, "
        "c.retention_mode || ' ' || c.retention::text "
        "FROM ai_scale.partition_config c, ai_scale._run_maintenance(c.parent, true, $2) r "
        "WHERE c.parent::oid = $1",
        2, argtypes, args, nullptr, false, 0);
    if (rc != SPI_OK_SELECT)
        elog(ERROR, "ai_scale maintenance: SPI_execute failed: %s", SPI_result_code_string(rc));
}

// The detach_pending row of _run_maintenance (row, of desc) as a deferred detach of the table
// with OID parent_oid, its texts in run_context.
pending_detach deferred_detach(Oid parent_oid, HeapTuple row, TupleDesc desc)
{
    pending_detach p = {};
    p.parent_oid = parent_oid;
    p.parent = MemoryContextStrdup(run_context, SPI_getvalue(row, desc, 1));
    p.partition = MemoryContextStrdup(run_context, SPI_getvalue(row, desc, 3));
    // The name was printed in this transaction, under the worker's search_path: it resolves
    // (were it not to, the detach would be skipped as no longer a partition, not the run lost).
    p.partition_oid = RangeVarGetRelid(
        makeRangeVarFromNameList(stringToQualifiedNameList(p.partition)), NoLock, true);
    // The detail is one of: drop, detach, finalize, finalize detach, finalize drop (see
    // ai_scale._maintain); a partition is dropped only when retention chose it.
    const char* detail = SPI_getvalue(row, desc, 4);
    const char* what = detail != nullptr ? detail : "";
    p.drop = strcmp(what, "drop") == 0 || strcmp(what, "finalize drop") == 0;
    p.finalize = strncmp(what, "finalize", 8) == 0;
    char* retention = SPI_getvalue(row, desc, 5);
    p.retention = retention != nullptr ? MemoryContextStrdup(run_context, retention) : nullptr;
    return p;
}

// A row of a table's run, kept in run_context to be logged once the run has committed.
struct run_row {
    char* action;
    char* parent;
    char* partition; // nullptr when the row names none
    char* detail;    // nullptr when it has none
};

char* run_copy(const char* text)
{
    return text != nullptr ? MemoryContextStrdup(run_context, text) : nullptr;
}

// Runs one phase of _run_maintenance on one table in one transaction and logs its rows;
// appends its deferred detaches to *pending (of *npending) and returns whether the run has a
// phase still to run ('continue'). A table unmanaged or dropped since it was listed is
// skipped. The rows are logged after the commit, as the detaches' are: logged before it, a
// line saying a partition was created or dropped came while other sessions still saw the table
// as it was (and for nothing when the commit failed), and a test or a DBA that read the line
// and then looked found otherwise.
bool maintain_table_phase(const managed_table& table, const char* phase, pending_detach** pending,
                          int* npending)
{
    bool more = false;
    start_transaction("ai_scale maintenance");
    SPI_connect();
    run_maintenance_of(table.oid, phase);
    pending_detach* all = static_cast<pending_detach*>(MemoryContextAllocZero(
        run_context, sizeof(pending_detach) * (*npending + SPI_processed + 1)));
    for (int i = 0; i < *npending; i++)
        all[i] = (*pending)[i];
    *pending = all;
    run_row* rows = static_cast<run_row*>(
        MemoryContextAllocZero(run_context, sizeof(run_row) * (SPI_processed + 1)));
    uint64 nrows = 0;
    for (uint64 i = 0; i < SPI_processed; i++) {
        HeapTuple row = SPI_tuptable->vals[i];
        TupleDesc desc = SPI_tuptable->tupdesc;
        char* action = SPI_getvalue(row, desc, 2);
        if (strcmp(action, "continue") == 0) {
            more = true;
            continue;
        }
        if (strcmp(action, "detach_pending") == 0) {
            all[(*npending)++] = deferred_detach(table.oid, row, desc);
            continue;
        }
        rows[nrows++] =
            run_row{run_copy(action), run_copy(SPI_getvalue(row, desc, 1)),
                    run_copy(SPI_getvalue(row, desc, 3)), run_copy(SPI_getvalue(row, desc, 4))};
    }
    SPI_finish();
    finish_transaction();
    for (uint64 i = 0; i < nrows; i++) {
        const run_row& r = rows[i];
        ereport(LOG, (errmsg("ai_scale maintenance: %s %s%s%s", r.action, r.parent,
                             r.partition ? " " : "", r.partition ? r.partition : ""),
                      r.detail ? errdetail("%s", r.detail) : 0));
    }
    return more;
}

// Runs _run_maintenance on one table and returns the deferred detaches: in one transaction, or
// in two when it drops or detaches partitions and has more to do, retention committed first
// (see ai_scale._maintain): its lock on the parent, which every query of the table waits for,
// is then not held while partitions are made and rows rescued.
pending_detach* maintain_table(const managed_table& table, int* npending)
{
    *npending = 0;
    pending_detach* pending = nullptr;
    if (maintain_table_phase(table, "first", &pending, npending))
        (void)maintain_table_phase(table, "rest", &pending, npending);
    return pending;
}

// Whether the partition p names is still a partition of its parent (attached, or pending
// detach). A run does its detaches after maintaining every table: meanwhile a run by hand may
// have dropped or detached it. Inside a transaction, connected to SPI.
bool still_a_partition(const pending_detach& p)
{
    Oid argtypes[2] = {OIDOID, OIDOID};
    Datum args[2] = {ObjectIdGetDatum(p.partition_oid), ObjectIdGetDatum(p.parent_oid)};
    return returns_a_row("SELECT 1 FROM pg_catalog.pg_inherits "
                         "WHERE inhrelid = $1 AND inhparent = $2",
                         2, argtypes, args);
}

// Whether the detach a run deferred is still to be started: the run's other detaches may have
// waited (for hours) since the table was maintained, and the table may have been unmanaged, its
// retention changed, or the extension dropped, meanwhile; its partition then stays, and the
// next run decides again. A partition to drop also needs its mark (still_owed). Inside a
// transaction, connected to SPI.
bool still_wanted(const pending_detach& p)
{
    if (p.retention == nullptr || !returns_a_row(extension_installed))
        return false;
    Oid argtypes[2] = {OIDOID, TEXTOID};
    Datum args[2] = {ObjectIdGetDatum(p.parent_oid), CStringGetTextDatum(p.retention)};
    return returns_a_row("SELECT 1 FROM ai_scale.partition_config "
                         "WHERE parent::pg_catalog.oid = $1 "
                         "AND retention_mode || ' ' || retention::text = $2",
                         2, argtypes, args) &&
           (!p.drop || still_owed(p.parent_oid, p.partition_oid));
}

// Runs step(arg) in a subtransaction, kept when it succeeds (the locks it took pass to the
// transaction): false, rolled back, when a lock it asked for was not free within
// maintenance_lock_timeout. Another error is thrown again, the subtransaction left to the
// caller's roll_back_step. Inside a transaction.
bool unless_locked_out(void (*step)(const void* arg), const void* arg)
{
    MemoryContext caller = CurrentMemoryContext;
    ResourceOwner owner = CurrentResourceOwner;
    volatile bool done = true;
    BeginInternalSubTransaction(nullptr);
    PG_TRY();
    {
        step(arg);
        ReleaseCurrentSubTransaction();
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(caller);
        ErrorData* edata = CopyErrorData();
        if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
            PG_RE_THROW();
        FlushErrorState();
        FreeErrorData(edata);
        RollbackAndReleaseCurrentSubTransaction();
        done = false;
    }
    PG_END_TRY();
    MemoryContextSwitchTo(caller);
    CurrentResourceOwner = owner;
    return done;
}

// Takes, in the current transaction, the locks the detach of p starts with (SHARE UPDATE
// EXCLUSIVE on the parent, then on the partition; ACCESS EXCLUSIVE on the partition for a
// FINALIZE), each waited for at most maintenance_lock_timeout. Returns false, holding none,
// when one is not free in time: nothing has begun, and the next run tries again. The detach
// itself runs without a lock timeout (see run_top_level): waiting there for a VACUUM of
// the partition (an anti-wraparound one, which never yields, for as long as it runs) kept the
// worker from every other table, held SHARE UPDATE EXCLUSIVE on the parent (an ANALYZE of it,
// and the attaches of a run by hand, waited or were skipped), held back the xmin horizon, and
// cancelled any other autovacuum of the partition after deadlock_timeout.
bool lock_for_detach(const pending_detach& p)
{
    return unless_locked_out(
        [](const void* arg) {
            const pending_detach& d = *static_cast<const pending_detach*>(arg);
            LockRelationOid(d.parent_oid, ShareUpdateExclusiveLock);
            LockRelationOid(d.partition_oid,
                            d.finalize ? AccessExclusiveLock : ShareUpdateExclusiveLock);
        },
        &p);
}

// What a detach's first transaction finds: whether p's partition is still one
// (still_a_partition), whether its detach is still wanted (a FINALIZE always is), and the word
// DROP and COMMENT ON take for it.
struct detach_check {
    bool partition;
    bool wanted;
    const char* table_word;
    bool foreign;
};

detach_check check_detach(pending_detach& p)
{
    detach_check c;
    start_transaction("ai_scale maintenance");
    SPI_connect();
    c.partition = still_a_partition(p) && current_names(p);
    c.wanted = c.partition && (p.finalize || still_wanted(p));
    c.table_word = c.partition ? partition_word(p.partition_oid) : "TABLE";
    c.foreign = strcmp(c.table_word, "FOREIGN TABLE") == 0;
    SPI_finish();
    finish_transaction();
    return c;
}

// After lock_for_detach found a lock not free in time: ends the transaction, logs who holds it.
void skip_locked_detach(const pending_detach& p)
{
    const char* holders = ai_scale::partition::detach_lock_holders(
        p.parent_oid, p.partition, p.finalize, ai_scale::guc::maintenance_lock_timeout_ms,
        run_context); // (the transaction's memory goes at its commit, before the log)
    finish_transaction();
    ereport(LOG, (errmsg("ai_scale maintenance: skipped detach of %s %s: a lock was not free "
                         "within ai_scale.maintenance_lock_timeout%s%s",
                         p.parent, p.partition, holders != nullptr ? "; " : "",
                         holders != nullptr ? holders : ""),
                  errdetail("A VACUUM of the partition, or another session, holds it."),
                  errhint("The worker tries again on its next run.")));
}

// Runs the utility statement sql (in run_context) as a top-level statement in the transaction
// started for it, with its locks already taken: it may commit and start transactions itself.
// Leaves a transaction open for finish_transaction.
void run_top_level(const char* sql)
{
    // The portal takes its own snapshot, as for a client's statement.
    PopActiveSnapshot();
    // The statement commits and restarts transactions, so its parse tree must outlive them.
    MemoryContextSwitchTo(run_context);
    List* parsed = raw_parser(sql, RAW_PARSE_DEFAULT);
    RawStmt* raw = linitial_node(RawStmt, parsed);
    // Analyzed and planned as a client's statement is: that gives it its query id
    // (compute_query_id), which pg_stat_activity shows and without which pg_stat_statements
    // does not count it, and the statement of its own portal sets its tag (a portal runs a
    // statement that sets none only as one a rule added to another, which an assert-enabled
    // server checks). A utility statement needs no snapshot for either.
    List* queries = pg_analyze_and_rewrite_fixedparams(raw, sql, nullptr, 0, nullptr);
    PlannedStmt* stmt =
        linitial_node(PlannedStmt, pg_plan_queries(queries, sql, CURSOR_OPT_PARALLEL_OK, nullptr));
    // No lock timeout here: the locks a concurrent detach takes (SHARE UPDATE EXCLUSIVE) and
    // its wait for older queries queue no reader or writer, and giving up half-way would leave
    // the partition pending detach.
    SetConfigOption("lock_timeout", "0", PGC_SUSET, PGC_S_SESSION);
    // Run in a portal, as a client's statement is: DETACH ... CONCURRENTLY keeps names across
    // its commits in the portal's context, and what runs after its first commit (an event
    // trigger at ddl_command_end, a DBA's audit log) takes its snapshot from the active portal.
    // Run without one, such a trigger failed every concurrent detach ("cannot execute SQL
    // without an outer snapshot or portal"), leaving the partition pending detach until the
    // next run's FINALIZE.
    Portal portal = CreatePortal("", true, true);
    portal->visible = false;
    PortalDefineQuery(portal, nullptr, sql, CreateCommandTag(stmt->utilityStmt),
                      list_make1(stmt), nullptr);
    PortalStart(portal, nullptr, 0, InvalidSnapshot);
    (void)PortalRun(portal, FETCH_ALL, true, true, None_Receiver, None_Receiver, nullptr);
    PortalDrop(portal, false);
    set_lock_timeout();
    MemoryContextSwitchTo(TopTransactionContext); // a new one: the old was committed inside
}

// A detach's outcome: done; locked_out (a lock not free in time: tried again); gone (no longer
// a partition); has_default (not begun, and logged: the table has a default partition now).
enum class detach_result { done, locked_out, gone, has_default };

// Rolls back what a failed step left: its transaction with any subtransaction the error left
// open, a detach's portal, its snapshot and SPI connection, and the lock timeout a detach
// clears. An error inside one of the worker's own subtransactions (unless_locked_out) other
// than the lock timeout it catches (a cancel, a deadlock) leaves it open: AbortCurrentTransaction
// aborted only it, and left the transaction in the state that waits for a ROLLBACK, and the next
// run's first subtransaction ended the worker with a FATAL ("BeginInternalSubTransaction:
// unexpected state SUBABORT"; found by the soak of 274_partition_chaos_soak.pl, its DBA cancelling
// the worker; TAP 278).
void roll_back_step()
{
    AbortOutOfAnyTransaction();
    // A detach's portal that failed after the statement's first commit outlives the abort
    // (as after a client's statement, which PostgresMain cleans up the same way).
    PortalErrorCleanup();
    if (ActiveSnapshotSet())
        PopActiveSnapshot();
    SPI_finish();
    set_lock_timeout();
}

// Runs p's detach statement sql (run_top_level). While a DETACH ... CONCURRENTLY waits for the
// transactions older than its first commit, it holds no lock, and the partition may be dropped
// (a run by hand drops a partition pending detach after its FINALIZE, and so may a DBA): the
// statement then fails ("partition ... was removed concurrently"). When it failed and the
// partition is no longer p's parent's, returns false, as when it went before the detach began,
// the failed transaction rolled back and none open; another error (the partition still
// pending detach) is thrown again.
bool run_detach(const char* sql, pending_detach& p)
{
    bool ran = true;
    PG_TRY();
    {
        run_top_level(sql);
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(run_context); // the transaction's memory goes with the abort
        ErrorData* edata = CopyErrorData();
        FlushErrorState();
        roll_back_step();
        start_transaction("ai_scale maintenance");
        SPI_connect();
        const bool partition = still_a_partition(p);
        SPI_finish();
        finish_transaction();
        if (partition)
            ReThrowError(edata);
        FreeErrorData(edata);
        ran = false;
    }
    PG_END_TRY();
    return ran;
}

// ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY (or FINALIZE) of p, when its locks are free
// within maintenance_lock_timeout (lock_for_detach): locked_out when they were not, gone when
// the partition was dropped or detached before they were taken.
detach_result detach(pending_detach& p)
{
    start_transaction("ai_scale maintenance");
    if (!lock_for_detach(p)) {
        skip_locked_detach(p);
        return detach_result::locked_out;
    }
    // The tables' names under those locks, which a rename of either waits for: the statement
    // names the tables the run chose, whatever they were called then.
    PopActiveSnapshot();
    PushActiveSnapshot(GetTransactionSnapshot());
    SPI_connect();
    const bool partition = still_a_partition(p) && current_names(p);
    SPI_finish();
    if (!partition) {
        finish_transaction();
        return detach_result::gone;
    }
    // Postgres detaches concurrently only from a table without a default partition, which the
    // run's plan found; a default made since (manage_partitions makes one again where a DBA
    // dropped it), the detach failed the table's run ("cannot detach partitions concurrently
    // when a default partition exists", found by the soak of 274_partition_chaos_soak.pl;
    // TAP 282). The lock on the parent keeps one from being made now. The next run decides
    // again, in its own transaction (a default partition there, the partition is dropped or
    // detached with the parent locked).
    if (!p.finalize && OidIsValid(get_default_partition_oid(p.parent_oid))) {
        finish_transaction();
        ereport(LOG, (errmsg("ai_scale maintenance: left partition %s of %s attached: the table "
                             "has a default partition since the run chose it",
                             p.partition, p.parent),
                      errdetail("Postgres detaches a partition concurrently only from a table "
                                "without a default partition."),
                      errhint("The worker's next run drops or detaches it.")));
        return detach_result::has_default;
    }
    const char* sql = MemoryContextStrdup(
        run_context, psprintf("ALTER TABLE %s DETACH PARTITION %s %s", p.parent, p.partition,
                              p.finalize ? "FINALIZE" : "CONCURRENTLY"));
    pgstat_report_activity(STATE_RUNNING, sql);
    if (!run_detach(sql, p))
        return detach_result::gone;
    finish_transaction();
    ai_scale::stats::add(ai_scale::stats::counter::maintenance_actions);
    if (p.finalize)
        ereport(LOG,
                (errmsg("ai_scale maintenance: finalized detach of %s %s", p.parent, p.partition)));
    else
        ereport(LOG, (errmsg("ai_scale maintenance: detached %s %s", p.parent, p.partition)));
    return detach_result::done;
}

// Runs the utility statement sql through SPI (unless_locked_out): false, rolled back, when a
// lock it needed was not free within maintenance_lock_timeout. Inside a transaction, connected
// to SPI.
bool execute_unless_locked_out(const char* sql)
{
    return unless_locked_out(
        [](const void* arg) {
            const char* statement = static_cast<const char*>(arg);
            if (SPI_execute(statement, false, 0) != SPI_OK_UTILITY)
                elog(ERROR, "ai_scale maintenance: %s failed", statement);
        },
        sql);
}

// After the DROP (or, unmark, the COMMENT ON) of the table p's detach left found a lock not free
// in time: ends the transaction, logs who holds it. The table stays marked as owed its drop
// (_owed_drop_note), and a later run decides again (_maintain_owed_drops).
void skip_locked_drop(const pending_detach& p, bool unmark)
{
    SPI_finish();
    const char* holders = ai_scale::partition::table_lock_holders(
        p.partition, unmark ? "ShareUpdateExclusiveLock" : "AccessExclusiveLock",
        ai_scale::guc::maintenance_lock_timeout_ms, run_context);
    finish_transaction();
    // Each message whole (the style guide's rule for translation).
    ereport(LOG, (errmsg(unmark ? "ai_scale maintenance: left the unmark of detached table %s of "
                                  "%s for the next run: a lock was not free within "
                                  "ai_scale.maintenance_lock_timeout%s%s"
                                : "ai_scale maintenance: left the drop of detached table %s of "
                                  "%s for the next run: a lock was not free within "
                                  "ai_scale.maintenance_lock_timeout%s%s",
                         p.partition, p.parent, holders != nullptr ? "; " : "",
                         holders != nullptr ? holders : ""),
                  errdetail("Another session holds the table, or a lock that an event trigger "
                            "of the statement takes."),
                  errhint(unmark ? "The table stays detached, still marked: the worker's next "
                                   "run removes the mark."
                                 : "The table stays detached and marked to be dropped: the "
                                   "worker tries again on its next run.")));
}

// Whether the table p's detach left is still owed its drop: the extension is installed and the
// table still marked (still_owed). Read under a snapshot taken now: the transaction's first one
// was taken before the lock the caller waited for, and missed what the session it waited for
// committed. Inside a transaction, connected to SPI.
bool owed_now(const pending_detach& p)
{
    PopActiveSnapshot();
    PushActiveSnapshot(GetTransactionSnapshot());
    return returns_a_row(extension_installed) && still_owed(p.parent_oid, p.partition_oid);
}

// The statement for the table p's detach left: its DROP (DROP FOREIGN TABLE), or, kept, the
// removal of its mark; by p's names as they are.
const char* drop_statement(const pending_detach& p, const detach_check& c, bool drop)
{
    return psprintf(drop ? "DROP %s %s" : "COMMENT ON %s %s IS NULL", c.table_word, p.partition);
}

struct detached_lock_request {
    Oid rel;
    LOCKMODE mode;
};

// Locks the table p's detach left, by OID, in mode (unless_locked_out): false when the lock was
// not free in time. A table dropped meanwhile is locked all the same (its OID); current_names
// then finds it gone. Held, the lock keeps its names as they are. Inside a transaction.
bool lock_detached(const pending_detach& p, LOCKMODE mode)
{
    const detached_lock_request request{p.partition_oid, mode};
    return unless_locked_out(
        [](const void* arg) {
            const auto& r = *static_cast<const detached_lock_request*>(arg);
            LockRelationOid(r.rel, r.mode);
        },
        &request);
}

// DROP TABLE (DROP FOREIGN TABLE) of the table the detach of p left, when it is still owed its
// drop; else its mark is taken away and it is kept. The table is locked by OID first, and its
// names and its mark read again under the lock: a run by hand may have dropped it since the
// detach, and its name may be another table's since (a partition made again for the same
// range); checked only before the lock, the DROP by name then failed the table's run ("table
// ... does not exist", found by the soak of 274_partition_chaos_soak.pl; TAP 281). The lock is
// waited for at most maintenance_lock_timeout, as every step of a run is: the detach committed,
// and a session may hold the table now (reading it by its own name, as pg_dump does). That
// failed the table's run ("canceling statement due to lock timeout", counted as an error) and
// left its other detaches to the next run (TAP 278).
void drop_detached(pending_detach& p, const detach_check& c)
{
    start_transaction("ai_scale maintenance");
    SPI_connect();
    // The concurrent detach waited for older transactions, as long as they ran: the table's
    // retention may have been changed or taken away, the table unmanaged, or the extension
    // dropped, meanwhile (or while the run that chose the table waited, after reading its
    // settings). The detached table is then kept, as it would have been. (The drop's lock is
    // taken for a table still owed its drop, the unmark's for one that is not.)
    const bool owed = current_names(p) && owed_now(p);
    pgstat_report_activity(STATE_RUNNING, drop_statement(p, c, owed));
    if (!lock_detached(p, owed ? AccessExclusiveLock : ShareUpdateExclusiveLock)) {
        skip_locked_drop(p, !owed);
        return;
    }
    if (!current_names(p)) { // the table, or its parent, dropped since the detach
        const bool dropped = get_rel_name(p.partition_oid) == nullptr;
        SPI_finish();
        finish_transaction();
        if (dropped) // (by a run by hand, or a DBA)
            ereport(LOG, (errmsg("ai_scale maintenance: skipped the drop of detached table %s of "
                                 "%s: dropped by another session since its detach",
                                 p.partition, p.parent)));
        return;
    }
    // Marked or unmarked meanwhile, or attached again (a later run unmarks it, as
    // _maintain_owed_drops does a marked partition): the next run decides again.
    if (owed_now(p) != owed || get_rel_relispartition(p.partition_oid)) {
        SPI_finish();
        finish_transaction();
        return;
    }
    // By the names read under the lock (it may have been renamed while the run waited).
    const char* statement = drop_statement(p, c, owed);
    pgstat_report_activity(STATE_RUNNING, statement);
    if (!execute_unless_locked_out(statement)) {
        skip_locked_drop(p, !owed);
        return;
    }
    SPI_finish();
    finish_transaction();
    if (!owed) {
        ereport(LOG, (errmsg("ai_scale maintenance: kept detached table %s of %s", p.partition,
                             p.parent),
                      errdetail("Its retention settings changed, or the extension was "
                                "dropped, while it was being detached.")));
        return;
    }
    ai_scale::stats::add(ai_scale::stats::counter::maintenance_actions);
    ereport(LOG,
            (errmsg("ai_scale maintenance: dropped %s %s", p.parent, p.partition),
             c.foreign ? errdetail("A foreign table: its rows stay on the foreign server.") : 0));
}

// ALTER TABLE parent DETACH PARTITION partition CONCURRENTLY, run as a top-level statement (it
// commits and starts transactions itself), then DROP TABLE (DROP FOREIGN TABLE) of the detached
// table if asked.
// Skipped when the partition is gone (still_a_partition), and one not yet begun (not a
// FINALIZE) left when still_wanted says so. Returns false when the detach was not done for
// want of its locks (the partition stays as it was: pending detach, for a FINALIZE).
bool detach_concurrently(pending_detach& p)
{
    const detach_check c = check_detach(p);
    if (c.partition && !c.wanted) {
        ereport(LOG, (errmsg("ai_scale maintenance: left partition %s of %s attached", p.partition,
                             p.parent),
                      errdetail("The table was unmanaged, the extension dropped or the "
                                "table's retention changed since the run chose it.")));
        return true;
    }
    const detach_result done = c.partition ? detach(p) : detach_result::gone;
    if (done == detach_result::locked_out)
        return false;
    if (done == detach_result::has_default)
        return true;
    if (done == detach_result::gone) {
        ereport(LOG, (errmsg("ai_scale maintenance: skipped detach of %s %s: no longer a "
                             "partition of it",
                             p.parent, p.partition)));
        return true;
    }
    if (p.drop)
        drop_detached(p, c);
    return true;
}

// Runs step(arg), which starts and commits its own transactions. An error is logged (naming
// table, when there is one), counted and rolled back, never fatal to the worker.
void guarded(void (*step)(void* arg), void* arg, const char* table)
{
    MemoryContext caller = CurrentMemoryContext;
    PG_TRY();
    {
        step(arg);
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(caller);
        ErrorData* edata = CopyErrorData();
        FlushErrorState();
        roll_back_step();
        MemoryContextSwitchTo(caller); // the abort left TopMemoryContext current
        // Each message whole, not built from pieces (the style guide's rule for translation).
        if (table != nullptr)
            ereport(LOG, (errmsg("ai_scale maintenance of %s failed: %s", table, edata->message),
                          edata->detail ? errdetail("%s", edata->detail) : 0,
                          errhint("The worker retries on its next run.")));
        else
            ereport(LOG, (errmsg("ai_scale maintenance run failed: %s", edata->message),
                          edata->detail ? errdetail("%s", edata->detail) : 0,
                          errhint("The worker retries on its next run.")));
        FreeErrorData(edata);
        ai_scale::stats::add(ai_scale::stats::counter::maintenance_errors);
        pgstat_report_activity(STATE_IDLE, nullptr);
    }
    PG_END_TRY();
}

struct table_list {
    managed_table* tables;
    int ntables;
};

void list_step(void* arg)
{
    auto* list = static_cast<table_list*>(arg);
    list->tables = list_tables(&list->ntables);
}

void table_step(void* arg)
{
    managed_table& table = *static_cast<managed_table*>(arg);
    int npending = 0;
    table.pending = maintain_table(table, &npending);
    table.npending = npending;
}

// The table's FINALIZEs first, then its concurrent detaches, which wait for the next run while a
// partition of the table is still pending detach: Postgres refuses a DETACH ... CONCURRENTLY
// then ("partition ... already pending detach"). Done in the run's order, a detach retention
// chose came before the FINALIZE of a partition it did not (a session's own detach cancelled,
// or the worker's, of a partition a longer retention keeps since) and failed, the table's
// detaches stopped there, and the FINALIZE was never reached: at every run, for good.
void detach_step(void* arg)
{
    const managed_table& table = *static_cast<const managed_table*>(arg);
    int concurrent = 0;
    for (int i = 0; i < table.npending; i++)
        concurrent += table.pending[i].finalize ? 0 : 1;
    for (int i = 0; i < table.npending; i++) {
        pending_detach& p = table.pending[i];
        if (p.finalize && !detach_concurrently(p)) {
            if (concurrent > 0)
                ereport(LOG, (errmsg("ai_scale maintenance: left the other detaches of %s for "
                                     "the next run: partition %s is still pending detach",
                                     p.parent, p.partition)));
            return;
        }
    }
    for (int i = 0; i < table.npending; i++)
        if (!table.pending[i].finalize)
            (void)detach_concurrently(table.pending[i]);
}

// One run: the tables in turn, then the concurrent detaches they deferred. A concurrent detach
// waits as long as an older transaction on its table runs (a session left idle in a
// transaction, for hours): done table by table, it kept every table after it from being
// maintained meanwhile, their premade partitions included.
void run_once()
{
    MemoryContextReset(run_context);
    MemoryContextSwitchTo(run_context);
    table_list list = {nullptr, 0};
    guarded(list_step, &list, nullptr);
    if (list.tables == nullptr) // no extension here, a restore under way, or the listing failed
        return;
    ai_scale::stats::add(ai_scale::stats::counter::maintenance_runs);
    for (int i = 0; i < list.ntables && !ProcDiePending; i++)
        guarded(table_step, &list.tables[i], list.tables[i].name);
    for (int i = 0; i < list.ntables && !ProcDiePending; i++)
        if (list.tables[i].npending > 0)
            guarded(detach_step, &list.tables[i], list.tables[i].name);
}

// The worker's session settings, over what the database or the maintenance role sets for
// client sessions.
void set_session_options()
{
    set_lock_timeout();
    // The names the worker prints and parses again (the parent and partition of a DETACH it
    // builds) come out schema-qualified and resolve alike, whatever schemas the maintenance
    // role's own search_path would put first.
    SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_SESSION);
    // Maintenance looks again, under a lock, at what it saw before taking it (rows a writer
    // put in the default partition meanwhile): that takes a fresh snapshot per statement. A
    // default_transaction_isolation of repeatable read or serializable set for the database
    // or role kept the transaction's first one, and a row committed while the rescue waited
    // for its lock failed the table's run (23514, check constraint "ai_scale_rescue_moved").
    SetConfigOption("default_transaction_isolation", "read committed", PGC_SUSET,
                    PGC_S_SESSION);
    // A run catches its errors (a lock not free in time is a 'skipped' row, a failed step an
    // 'error' row) and goes on with the other tables. exit_on_error, set for the database or
    // role, turned the first of them into a FATAL: the worker exited at a table a long query
    // held, and the tables after it waited for that query to end.
    SetConfigOption("exit_on_error", "off", PGC_SUSET, PGC_S_SESSION);
    // Nor default_transaction_read_only, set for the database or role to keep new client
    // sessions from writing (a freeze while older sessions still write, as for the store
    // worker): every run failed each table with 25006, and the older sessions' rows went to the
    // default partition. A database is left out of maintenance by ai_scale.maintenance_databases.
    SetConfigOption("default_transaction_read_only", "off", PGC_SUSET, PGC_S_SESSION);
    // Nor the role a session of the maintenance role takes on (ALTER ROLE ... [IN DATABASE ...]
    // SET role, which makes a DBA's logins act as an owner or group role): the worker runs as
    // the role it connects as (ai_scale.maintenance_role). Set for the bootstrap superuser, the
    // worker ran as that other role, and every table of an owner it is not a member of got an
    // error row at each run.
    SetConfigOption("role", "none", PGC_SUSET, PGC_S_SESSION);
}

// Rereads the configuration after a SIGHUP; whether it did.
bool reload_if_asked()
{
    if (!ConfigReloadPending)
        return false;
    ConfigReloadPending = false;
    ProcessConfigFile(PGC_SIGHUP);
    set_lock_timeout();
    return true;
}

// Exits when a newer launcher than the one that started the worker (launcher) has started its
// own, or, after a run (ran), when the launcher asks for the slot.
void exit_if_replaced_or_yielding(uint32 launcher, bool ran)
{
    if (ai_scale::partition::launcher_replaced(launcher)) {
        ereport(LOG, (errmsg("ai_scale maintenance worker in database \"%s\" exits: a new "
                             "launcher started its own",
                             MyBgworkerEntry->bgw_extra)));
        proc_exit(0);
    }
    // The launcher asks for the slot for a listed database that found none free: given up
    // after a run of this one, so that the databases take turns.
    if (ran && ai_scale::partition::yield_requested()) {
        ereport(LOG, (errmsg("ai_scale maintenance worker in database \"%s\" gives its slot "
                             "to a database waiting for one",
                             MyBgworkerEntry->bgw_extra)));
        proc_exit(0);
    }
}

// Waits while the naptime since the last run (ended at last_run_end) has not passed, until it
// has or the latch is set; false, without waiting, when it has passed.
bool nap(std::chrono::steady_clock::time_point last_run_end)
{
    const auto since = std::chrono::steady_clock::now() - last_run_end;
    const long left_ms = long(ai_scale::guc::maintenance_naptime_s) * 1000L -
                         long(std::chrono::duration_cast<std::chrono::milliseconds>(since).count());
    if (left_ms <= 0)
        return false;
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, left_ms,
                    PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    if (!ProcDiePending)
        ai_scale::pg::check_for_interrupts_when_idle();
    return true;
}

// Resets the catalog caches between runs once they hold much more than a run needs
// (pg/catalog_caches.hpp): the worker lives as long as the server and makes and drops
// partitions all along; moving partitions to a cold tablespace and dropping them, it kept about
// 650 bytes per partition, for good (TAP 253).
void bound_catalog_caches()
{
    const auto reset = catalog_caches.reset_if_grown();
    if (reset.held == 0)
        return;
    MemoryContextSwitchTo(run_context);
    ereport(DEBUG1,
            (errmsg("ai_scale maintenance worker in database \"%s\" reset its catalog caches",
                    MyBgworkerEntry->bgw_extra),
             errdetail("They held %zu bytes, %zu more than after its first run since the "
                       "last reset.",
                       reset.held, reset.held - reset.needed)));
}

// One run, then the statistics of its transactions.
void run_and_report()
{
    ai_scale::partition::set_in_run(true);
    run_once();
    ai_scale::partition::set_in_run(false);
    // A client backend sends its statistics when it goes idle; a background worker only at
    // exit, unless it asks. Never sent, the runs' transactions were missing from
    // pg_stat_database, their scans from pg_stat_all_tables, and the dead catalog rows
    // their DDL left (partitions made and dropped) unknown to autovacuum (TAP 211).
    (void)pgstat_report_stat(true);
    bound_catalog_caches();
}

} // namespace

void ai_scale_maintenance_main(Datum arg)
{
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    // die: a shutdown or pg_terminate_backend also interrupts a statement that waits (a
    // concurrent detach waiting for old queries); between runs the loop sees it and exits.
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();

    const char* role = ai_scale::guc::maintenance_role;
    BackgroundWorkerInitializeConnection(MyBgworkerEntry->bgw_extra,
                                         role != nullptr && role[0] != '\0' ? role : nullptr, 0);
    ai_scale::partition::register_this_worker();
    pgstat_report_appname("ai_scale maintenance");
    run_context =
        AllocSetContextCreate(TopMemoryContext, "ai_scale maintenance", ALLOCSET_DEFAULT_SIZES);
    set_session_options();
    ereport(LOG, (errmsg("ai_scale maintenance worker started in database \"%s\"",
                         MyBgworkerEntry->bgw_extra)));

    bool ran = false;
    std::chrono::steady_clock::time_point last_run_end;
    while (!ProcDiePending) {
        const bool reloaded = reload_if_asked();
        exit_if_replaced_or_yielding(DatumGetUInt32(arg), ran);
        // A reload starts a run at once (pg_reload_conf() is how to have the workers apply a
        // changed configuration now). Anything else that sets the latch (a turn asked for, a
        // signal Postgres sends every backend, such as the catch-up of catalog invalidations
        // after its own DDL) wakes the worker without one: it runs again once the naptime since
        // its last run has passed. Before, every wake-up started a run: a freshly started worker
        // ran two to five times within half a second.
        if (ran && !reloaded && nap(last_run_end))
            continue;
        run_and_report();
        ran = true;
        last_run_end = std::chrono::steady_clock::now();
    }
    ereport(LOG, (errmsg("ai_scale maintenance worker in database \"%s\" stopping",
                         MyBgworkerEntry->bgw_extra)));
    proc_exit(0);
}
