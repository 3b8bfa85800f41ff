// The worker's concurrent detaches and drops: see worker_detach.hpp.
#include "partition/worker_detach.hpp"

#include "guc.hpp"
#include "partition/lock_holders.hpp"
#include "partition/owner_code.hpp"
#include "partition/table_word.hpp"
#include "partition/worker_session.hpp"
#include "stats/shared_stats.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/partition.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "nodes/plannodes.h"
#include "parser/parser.h"
#include "pgstat.h"
#include "storage/lmgr.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
}

#include <cstring>

namespace ai_scale::partition::worker {

namespace {

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
        elog(ERROR, "ai_scale maintenance: _owed_drop_due gave no answer: %s, %llu rows",
             SPI_result_code_string(rc), static_cast<unsigned long long>(SPI_processed));
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
// FINALIZE), each waited for at most maintenance_lock_timeout. Says which was not free in time,
// if one was: nothing has begun, the caller ends the transaction, and the next run tries
// again. The detach itself runs without a lock timeout (see run_top_level): waiting there for
// a VACUUM of the partition (an anti-wraparound one, which never yields, for as long as it
// runs) kept the worker from every other table, held SHARE UPDATE EXCLUSIVE on the parent (an
// ANALYZE of it, and the attaches of a run by hand, waited or were skipped), held back the
// xmin horizon, and cancelled any other autovacuum of the partition after deadlock_timeout.
enum class detach_lock { taken, parent_busy, partition_busy };
detach_lock lock_for_detach(const pending_detach& p)
{
    if (!unless_locked_out(
            [](const void* arg) {
                LockRelationOid(static_cast<const pending_detach*>(arg)->parent_oid,
                                ShareUpdateExclusiveLock);
            },
            &p))
        return detach_lock::parent_busy;
    if (!unless_locked_out(
            [](const void* arg) {
                const pending_detach& d = *static_cast<const pending_detach*>(arg);
                LockRelationOid(d.partition_oid,
                                d.finalize ? AccessExclusiveLock : ShareUpdateExclusiveLock);
            },
            &p))
        return detach_lock::partition_busy;
    return detach_lock::taken;
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
    ereport(LOG, (errmsg("ai_scale maintenance in database \"%s\": skipped detach of %s %s: a lock "
                         "was not free "
                         "within ai_scale.maintenance_lock_timeout%s%s",
                         database_name(), p.parent, p.partition, holders != nullptr ? "; " : "",
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
    PortalDefineQuery(portal, nullptr, sql, CreateCommandTag(stmt->utilityStmt), list_make1(stmt),
                      nullptr);
    PortalStart(portal, nullptr, 0, InvalidSnapshot);
    (void)PortalRun(portal, FETCH_ALL, true, true, None_Receiver, None_Receiver, nullptr);
    PortalDrop(portal, false);
    set_lock_timeout();
    MemoryContextSwitchTo(TopTransactionContext); // a new one: the old was committed inside
}

// A detach's outcome: done; locked_out (a lock not free in time: tried again;
// parent_locked_out when it was the parent's); gone (no longer a partition); left (not begun,
// and logged: the table has a default partition now, or the detach would run the owner's
// code).
enum class detach_result { done, locked_out, parent_locked_out, gone, left };

// Logs that p's partition was left attached, since its concurrent detach would run its owner's
// code (why).
void log_owner_code_left(const pending_detach& p, ai_scale::partition::owner_code_in_detach why)
{
    using ai_scale::partition::owner_code_in_detach;
    // Each message whole (Postgres's rule for translatable messages).
    ereport(LOG,
            (errmsg(why == owner_code_in_detach::check_constraint
                        ? "ai_scale maintenance in database \"%s\": left partition %s of %s "
                          "attached: a CHECK constraint of it calls a function that is not built in"
                    : why == owner_code_in_detach::referencing_foreign_key
                        ? "ai_scale maintenance in database \"%s\": left partition %s of %s "
                          "attached: a foreign key references it"
                        : "ai_scale maintenance in database \"%s\": left partition %s of %s "
                          "attached: a table it belongs to is partitioned by an expression that "
                          "calls a function that is not built in",
                    database_name(), p.partition, p.parent),
             errdetail("A concurrent detach would run the table owner's code as the "
                       "worker's role."),
             errhint("The worker's next run drops or detaches it as the table's owner.")));
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
    const detach_lock lock = lock_for_detach(p);
    if (lock != detach_lock::taken) {
        skip_locked_detach(p);
        return lock == detach_lock::parent_busy ? detach_result::parent_locked_out
                                                : detach_result::locked_out;
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
        ereport(LOG, (errmsg("ai_scale maintenance in database \"%s\": left partition %s of %s "
                             "attached: the table "
                             "has a default partition since the run chose it",
                             database_name(), p.partition, p.parent),
                      errdetail("Postgres detaches a partition concurrently only from a table "
                                "without a default partition."),
                      errhint("The worker's next run drops or detaches it.")));
        return detach_result::left;
    }
    // The concurrent detach runs as the worker's role, and would run code of the owner's with
    // the worker's rights (owner_code.hpp) in some tables: seen here also when it came since
    // the run chose the partition (a CHECK constraint the owner added, a foreign key made to
    // reference the table, the table attached to another), since the locks taken keep it from
    // coming now. The run, as the owner, detaches or drops such a partition itself (a FINALIZE
    // runs none of it).
    const auto owner_code = p.finalize
                                ? ai_scale::partition::owner_code_in_detach::none
                                : ai_scale::partition::detach_runs_owner_code(p.partition_oid);
    if (owner_code != ai_scale::partition::owner_code_in_detach::none) {
        finish_transaction();
        log_owner_code_left(p, owner_code);
        return detach_result::left;
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
        ereport(LOG, (errmsg("ai_scale maintenance in database \"%s\": finalized detach of %s %s",
                             database_name(), p.parent, p.partition)));
    else
        ereport(LOG, (errmsg("ai_scale maintenance in database \"%s\": detached %s %s",
                             database_name(), p.parent, p.partition)));
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
    // Each message whole (Postgres's rule for translatable messages).
    ereport(LOG, (errmsg(unmark ? "ai_scale maintenance in database \"%s\": left the unmark of "
                                  "detached table %s of %s for the next run: a lock was not free "
                                  "within ai_scale.maintenance_lock_timeout%s%s"
                                : "ai_scale maintenance in database \"%s\": left the drop of "
                                  "detached table %s of %s for the next run: a lock was not free "
                                  "within ai_scale.maintenance_lock_timeout%s%s",
                         database_name(), p.partition, p.parent, holders != nullptr ? "; " : "",
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
            ereport(LOG, (errmsg("ai_scale maintenance in database \"%s\": skipped the drop of "
                                 "detached table %s of "
                                 "%s: dropped by another session since its detach",
                                 database_name(), p.partition, p.parent)));
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
        ereport(LOG,
                (errmsg("ai_scale maintenance in database \"%s\": kept detached table %s of %s",
                        database_name(), p.partition, p.parent),
                 errdetail("Its retention settings changed, or the extension was "
                           "dropped, while it was being detached.")));
        return;
    }
    ai_scale::stats::add(ai_scale::stats::counter::maintenance_actions);
    ereport(LOG,
            (errmsg("ai_scale maintenance in database \"%s\": dropped %s %s", database_name(),
                    p.parent, p.partition),
             c.foreign ? errdetail("A foreign table: its rows stay on the foreign server.") : 0));
}

} // namespace

detach_outcome detach_concurrently(pending_detach& p)
{
    const detach_check c = check_detach(p);
    if (c.partition && !c.wanted) {
        ereport(LOG,
                (errmsg("ai_scale maintenance in database \"%s\": left partition %s of %s attached",
                        database_name(), p.partition, p.parent),
                 errdetail("The table was unmanaged, the extension dropped or the "
                           "table's retention changed since the run chose it.")));
        return detach_outcome::finished;
    }
    const detach_result done = c.partition ? detach(p) : detach_result::gone;
    if (done == detach_result::locked_out)
        return detach_outcome::locked_out;
    if (done == detach_result::parent_locked_out)
        return detach_outcome::parent_locked_out;
    if (done == detach_result::left)
        return detach_outcome::finished;
    if (done == detach_result::gone) {
        ereport(
            LOG,
            (errmsg("ai_scale maintenance in database \"%s\": skipped detach of %s %s: no longer a "
                    "partition of it",
                    database_name(), p.parent, p.partition)));
        return detach_outcome::finished;
    }
    if (p.drop)
        drop_detached(p, c);
    return detach_outcome::finished;
}

} // namespace ai_scale::partition::worker
