// The maintenance worker, one per database, started and restarted by the launcher
// (src/partition/launcher.cpp), which names the database in bgw_extra. Each run maintains the
// managed tables one by one, each in a transaction of its own (as pg_partman's
// run_maintenance_proc does; two when retention drops or detaches partitions, committed before
// the rest, and one more per partition moved to the cold tablespace after the first), so that
// the locks one table's DDL took are released before the next table is
// started: ai_scale._run_maintenance(table, true, phase, ...) creates, tiers and rescues,
// each DDL under a short lock_timeout; the drops and detaches it defers are done, once every
// table has been maintained, with DETACH PARTITION ... CONCURRENTLY (worker_detach.cpp), which
// needs transactions of its own and so cannot run inside a function. An error on a table is
// logged and counted, and the worker carries on with the next table. Written in C style on
// purpose: Postgres errors longjmp through this code, so no object here owns a destructor.
#include "guc.hpp"
#include "partition/database_list.hpp"
#include "partition/launcher.hpp"
#include "partition/worker_detach.hpp"
#include "partition/worker_registry.hpp"
#include "partition/worker_session.hpp"
#include "pg/bgworker.hpp"
#include "pg/catalog_caches.hpp"
#include "pg/postgres.hpp"
#include "stats/shared_stats.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/regproc.h"

PGDLLEXPORT void ai_scale_maintenance_main(Datum arg);
}

#include <chrono>
#include <cstring>

using namespace ai_scale::partition::worker;

namespace {

// A managed table: its OID, its name as regclass prints it, for the log, and the detaches its
// maintenance deferred, done once every table of the run has been maintained.
struct managed_table {
    Oid oid;
    char* name;
    bool owed_drops; // a table a mark names (ai_scale._owed_drop_parents), read at the run's start
    pending_detach* pending;
    int npending;
};

bool restore_waited = false; // the last run waited for a pg_restore (logged once)

// The catalog caches, reset by bound_catalog_caches.
ai_scale::pg::catalog_cache_bound catalog_caches;

// Whether a pg_restore is connected to the database, logging when that changes from the last
// run. pg_restore restores the extension's configuration tables with the data, and builds the
// indexes of the tables last: a partition made meanwhile got none, and the parent's partitioned
// indexes, which the restore creates with ONLY and completes partition by partition, stayed
// invalid for good; a partition dropped by retention meanwhile failed the restore of its rows.
// The run waits until no pg_restore (as it names itself in pg_stat_activity) is connected to
// the database. Only a session of a role that could restore what maintenance touches counts: a
// superuser, or a member of the database's owner or of a managed table's owner. Any role that
// may connect can name itself pg_restore, and one with no rights at all held up the maintenance
// of every table in the database for as long as it stayed connected. Inside a transaction,
// connected to SPI.
// The wait's log line names the sessions (their pids): a pooler's server connection keeps the
// application_name the last client that set it gave it (PgBouncer in transaction mode), and
// one that had served a pg_restore held maintenance up for as long as it lived, its clients
// gone, with nothing to tell which session it was.
bool restore_connected()
{
    const int rc = SPI_execute(
        "SELECT pg_catalog.string_agg(a.pid::pg_catalog.text, ', ' ORDER BY a.pid) "
        "FROM pg_catalog.pg_stat_activity a "
        "JOIN pg_catalog.pg_roles r ON r.oid = a.usesysid "
        "WHERE a.datname = pg_catalog.current_database() "
        "AND a.application_name = 'pg_restore' "
        "AND (r.rolsuper "
        "OR pg_catalog.pg_has_role(r.oid, (SELECT d.datdba FROM pg_catalog.pg_database d "
        "WHERE d.datname = pg_catalog.current_database()), 'MEMBER') "
        "OR EXISTS (SELECT FROM ai_scale.partition_config c "
        "JOIN pg_catalog.pg_class k ON k.oid = c.parent "
        "WHERE pg_catalog.pg_has_role(r.oid, k.relowner, 'MEMBER')))",
        true, 1);
    if (rc != SPI_OK_SELECT || SPI_processed != 1)
        elog(ERROR, "ai_scale maintenance: SPI_execute failed: %s", SPI_result_code_string(rc));
    const char* pids = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
    const bool restoring = pids != nullptr;
    if (restoring && !restore_waited)
        ereport(LOG, (errmsg("ai_scale maintenance waits: pg_restore is connected to database "
                             "\"%s\"",
                             database_name()),
                      errdetail("Sessions named pg_restore: pid %s.", pids),
                      errhint("A pooler's server connection keeps the name after its client "
                              "has gone: restore directly to the server, or reconnect the "
                              "pool afterwards.")));
    else if (!restoring && restore_waited)
        ereport(LOG, (errmsg("ai_scale maintenance resumes in database \"%s\": pg_restore is "
                             "done",
                             database_name())));
    restore_waited = restoring;
    return restoring;
}

// The rows of ai_scale.partition_config in OID order, in run_context, each with whether a mark
// names it (one scan of pg_description for the run). Inside a transaction, connected to SPI.
managed_table* read_config(int* ntables)
{
    int rc =
        SPI_execute("SELECT c.parent::oid, c.parent::text, c.parent::oid::text = ANY (o.parents) "
                    "FROM ai_scale.partition_config c, "
                    "(SELECT ai_scale._owed_drop_parents() AS parents) o "
                    "ORDER BY c.parent::oid",
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
        tables[i].owed_drops =
            DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3, &isnull));
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

// Runs _run_maintenance on one table, its rows left in SPI_tuptable: the phase 'first', 'rest'
// or 'tier' (from the bound tier_from, a timestamp's text) of its run (see ai_scale._maintain),
// looking for the drops earlier runs owe it when owed_drops. Inside a transaction, connected to
// SPI.
void run_maintenance_of(Oid table, const char* phase, const char* tier_from, bool owed_drops)
{
    Oid argtypes[4] = {OIDOID, TEXTOID, TEXTOID, BOOLOID};
    Datum args[4] = {ObjectIdGetDatum(table), CStringGetTextDatum(phase),
                     tier_from != nullptr ? CStringGetTextDatum(tier_from) : Datum(0),
                     BoolGetDatum(owed_drops)};
    const char nulls[4] = {' ', ' ', tier_from != nullptr ? ' ' : 'n', ' '};
    int rc = SPI_execute_with_args("SELECT r.parent_table::text, r.action, r.partition, r.detail, "
                                   "c.retention_mode || ' ' || c.retention::text "
                                   "FROM ai_scale.partition_config c, "
                                   "ai_scale._run_maintenance(c.parent, true, $2, "
                                   "$3::timestamp, $4) r "
                                   "WHERE c.parent::oid = $1",
                                   4, argtypes, args, nulls, false, 0);
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
// phase still to run ('continue'); *again is the lower bound from which partitions are still to
// move to the cold tablespace, one a transaction ('again': phase 'tier' from it), or null. A
// table unmanaged or dropped since it was listed is skipped. The rows are logged after the commit,
// as the detaches' are: logged before it, a line saying a partition was created or dropped came
// while other sessions still saw the table as it was (and for nothing when the commit failed), and
// a test or a DBA that read the line and then looked found otherwise.
bool maintain_table_phase(const managed_table& table, const char* phase, const char* tier_from,
                          pending_detach** pending, int* npending, const char** again)
{
    bool more = false;
    *again = nullptr;
    start_transaction("ai_scale maintenance");
    SPI_connect();
    run_maintenance_of(table.oid, phase, tier_from, table.owed_drops);
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
        if (strcmp(action, "again") == 0) {
            *again = run_copy(SPI_getvalue(row, desc, 4));
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
        ereport(LOG,
                (errmsg("ai_scale maintenance in database \"%s\": %s %s%s%s", database_name(),
                        r.action, r.parent, r.partition ? " " : "", r.partition ? r.partition : ""),
                 r.detail ? errdetail("%s", r.detail) : 0));
    }
    return more;
}

// Runs _run_maintenance on one table and returns the deferred detaches: in one transaction, or
// in two when it drops or detaches partitions and has more to do, retention committed first
// (see ai_scale._maintain): its lock on the parent, which every query of the table waits for,
// is then not held while partitions are made and rows rescued. A move to the cold tablespace
// after the first takes a transaction of its own.
pending_detach* maintain_table(const managed_table& table, int* npending)
{
    *npending = 0;
    pending_detach* pending = nullptr;
    const char* again;
    const bool more = maintain_table_phase(table, "first", nullptr, &pending, npending, &again);
    // The moves to the cold tablespace, one a transaction; at most as many as a run by hand
    // retires (100), the others at the next run.
    for (int moves = 1; again != nullptr && moves < 100; moves++)
        (void)maintain_table_phase(table, "tier", again, &pending, npending, &again);
    if (more)
        (void)maintain_table_phase(table, "rest", nullptr, &pending, npending, &again);
    return pending;
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
        // Each message whole, not built from pieces (Postgres's rule for translatable messages).
        if (table != nullptr)
            ereport(LOG, (errmsg("ai_scale maintenance of %s in database \"%s\" failed: %s", table,
                                 database_name(), edata->message),
                          edata->detail ? errdetail("%s", edata->detail) : 0,
                          errhint("The worker retries on its next run.")));
        else
            ereport(LOG, (errmsg("ai_scale maintenance run in database \"%s\" failed: %s",
                                 database_name(), edata->message),
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
        if (p.finalize && detach_concurrently(p) != detach_outcome::finished) {
            if (concurrent > 0)
                ereport(LOG, (errmsg("ai_scale maintenance in database \"%s\": left the other "
                                     "detaches of %s for "
                                     "the next run: partition %s is still pending detach",
                                     database_name(), p.parent, p.partition)));
            return;
        }
    }
    for (int i = 0; i < table.npending; i++) {
        if (table.pending[i].finalize)
            continue;
        concurrent--;
        if (detach_concurrently(table.pending[i]) != detach_outcome::parent_locked_out)
            continue;
        // The others wait for the parent's lock too: each as long again, and each logged (200
        // detaches behind an ANALYZE of the table took 10 s and 600 log lines; TAP 304).
        const int left = concurrent;
        if (left > 0)
            ereport(LOG, (errmsg_plural("ai_scale maintenance in database \"%s\": left %d more "
                                        "detach of %s for the next run: it needs the lock on "
                                        "the table that was not free",
                                        "ai_scale maintenance in database \"%s\": left %d more "
                                        "detaches of %s for the next run: each needs the lock on "
                                        "the table that was not free",
                                        left, database_name(), left, table.pending[i].parent)));
        return;
    }
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
    SetConfigOption("default_transaction_isolation", "read committed", PGC_SUSET, PGC_S_SESSION);
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
    // Nor session_replication_role = replica (a replication or loading tool's role, which may
    // be the maintenance role): the rows a run moves out of the default partition fire the
    // table's triggers and rules, as they do in a run by hand; with it, they skipped them.
    SetConfigOption("session_replication_role", "origin", PGC_SUSET, PGC_S_SESSION);
    // Nor a low jit_above_cost set for the database or role (an analytics role's): a run's
    // queries are small, and each was compiled anew (seconds a run instead of milliseconds).
    SetConfigOption("jit", "off", PGC_SUSET, PGC_S_SESSION);
    // Nor force_parallel_mode (a developer setting, but settable for a database): each of
    // those queries started a parallel worker, a run over 236 tables took 22-36 s, not 1.
    SetConfigOption("force_parallel_mode", "off", PGC_SUSET, PGC_S_SESSION);
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

// Whether this worker's database is still in ai_scale.maintenance_databases.
bool database_listed()
{
    const char* list = ai_scale::guc::maintenance_databases;
    return ai_scale::partition::database_listed(list ? list : "", database_name(), NAMEDATALEN);
}

void exit_unlisted()
{
    ereport(LOG, (errmsg("ai_scale maintenance worker in database \"%s\" exits: no longer in "
                         "ai_scale.maintenance_databases",
                         database_name())));
    proc_exit(0);
}

// Exits, between runs, when a newer launcher than the one that started the worker (launcher)
// has started its own; when a reload (reloaded) took the database out of
// ai_scale.maintenance_databases, before the run a reload starts, or it was out of the list when
// the worker started (a reload between the launcher's start of it and its first run); when the
// launcher asked it
// to for that reason (it saw the list first, while the worker was in a run, which it leaves
// whole: stopped there, it rolled the run back with a FATAL in the log); or, after a run
// (ran), when the launcher asks for the slot.
void exit_if_replaced_or_asked(uint32 launcher, bool reloaded, bool ran)
{
    if (ai_scale::partition::launcher_replaced(launcher)) {
        ereport(LOG, (errmsg("ai_scale maintenance worker in database \"%s\" exits: a new "
                             "launcher started its own",
                             database_name())));
        proc_exit(0);
    }
    const auto asked = ai_scale::partition::exit_between_runs_requested();
    if (asked == ai_scale::partition::exit_request::unlisted ||
        ((reloaded || !ran) && !database_listed()))
        exit_unlisted();
    // The launcher asks for the slot for a listed database that found none free: given up
    // after a run of this one, so that the databases take turns.
    if (ran && asked == ai_scale::partition::exit_request::give_slot) {
        ereport(LOG, (errmsg("ai_scale maintenance worker in database \"%s\" gives its slot "
                             "to a database waiting for one",
                             database_name())));
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
                    database_name()),
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

void connecting_context(void* role)
{
    errcontext("ai_scale maintenance worker connecting to database \"%s\" as role \"%s\" "
               "(ai_scale.maintenance_role)",
               database_name(), static_cast<const char*>(role));
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
    const bool role_set = role != nullptr && role[0] != '\0';
    // A connection refused (the role dropped, or without LOGIN) says which setting chose the
    // role: the FATAL, every 10 s per database, named the role alone.
    ErrorContextCallback connecting{error_context_stack, connecting_context,
                                    const_cast<char*>(role)};
    if (role_set)
        error_context_stack = &connecting;
    BackgroundWorkerInitializeConnection(database_name(), role_set ? role : nullptr, 0);
    if (role_set)
        error_context_stack = connecting.previous;
    ai_scale::partition::register_this_worker();
    pgstat_report_appname("ai_scale maintenance");
    run_context =
        AllocSetContextCreate(TopMemoryContext, "ai_scale maintenance", ALLOCSET_DEFAULT_SIZES);
    set_session_options();
    ereport(LOG,
            (errmsg("ai_scale maintenance worker started in database \"%s\"", database_name())));

    bool ran = false;
    std::chrono::steady_clock::time_point last_run_end;
    while (!ProcDiePending) {
        const bool reloaded = reload_if_asked();
        exit_if_replaced_or_asked(DatumGetUInt32(arg), reloaded, ran);
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
    ereport(LOG,
            (errmsg("ai_scale maintenance worker in database \"%s\" stopping", database_name())));
    proc_exit(0);
}
