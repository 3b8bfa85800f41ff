// Stops ai_scale's background workers in a database before a statement that wants no other
// session in it, instead of letting the statement fail on their connections.
#include "database_commands.hpp"
#include "partition/worker_registry.hpp"
#include "predict/queue.hpp"

extern "C" {
#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "storage/procarray.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
}

#include <csignal>
#include <cstring>

namespace ai_scale {

namespace {

ProcessUtility_hook_type previous_hook = nullptr;

// The databases whose store workers statements of this transaction stopped (in
// TopMemoryContext), until the transaction ends or is prepared: then each one's queue, which
// its stopped worker may have left rows in (the store stayed locked), gets a worker again
// (resume_queue), unless a statement dropped the database. A statement Postgres refused once
// the workers were stopped ("being accessed by other users") left them for the next async
// predict(), and a shutdown before one lost them; so did one refused in a savepoint rolled
// back, when another database's command followed in the transaction (one database was kept,
// the last), or when the transaction was prepared.
List* stopped_stores = NIL;
bool xact_callback_registered = false;

void resume_stopped_stores(XactEvent event, void*)
{
    if (stopped_stores == NIL)
        return;
    // Also at PREPARE: the commit or rollback of a prepared transaction may come from any
    // session (or none before a shutdown), and a rename it holds only delays the worker's
    // connection to its end.
    if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT || event == XACT_EVENT_PREPARE) {
        ListCell* lc;
        foreach (lc, stopped_stores)
            predict::resume_queue(lfirst_oid(lc));
        list_free(stopped_stores);
        stopped_stores = NIL;
    }
}

// The database a utility statement needs no other session in (Postgres waits up to 5 s for them
// to end, having terminated its autovacuum workers there, then fails with "being accessed by
// other users"): DROP DATABASE, ALTER DATABASE ... RENAME TO and ... SET TABLESPACE, and
// CREATE DATABASE, whose template (template1 unless named) is copied. Null for any other
// statement.
const char* database_needing_no_sessions(Node* stmt)
{
    if (IsA(stmt, DropdbStmt))
        return castNode(DropdbStmt, stmt)->dbname;
    if (IsA(stmt, RenameStmt)) {
        const auto* rename = castNode(RenameStmt, stmt);
        return rename->renameType == OBJECT_DATABASE ? rename->subname : nullptr;
    }
    if (IsA(stmt, AlterDatabaseStmt)) {
        const auto* alter = castNode(AlterDatabaseStmt, stmt);
        ListCell* lc;
        foreach (lc, alter->options)
            if (strcmp(lfirst_node(DefElem, lc)->defname, "tablespace") == 0)
                return alter->dbname;
        return nullptr;
    }
    if (IsA(stmt, CreatedbStmt)) {
        const auto* create = castNode(CreatedbStmt, stmt);
        ListCell* lc;
        foreach (lc, create->options) {
            const DefElem* option = lfirst_node(DefElem, lc);
            if (strcmp(option->defname, "template") == 0 && option->arg != nullptr)
                return defGetString(const_cast<DefElem*>(option));
        }
        return "template1"; // what Postgres copies when no TEMPLATE is named
    }
    return nullptr;
}

// Whether the current user may create databases. Postgres's have_createdb_privilege() says so,
// but only recent 15 releases export it (15.20 does; in 15.18 it is static in dbcommands.c): a
// build that called it did not compile against an older 15 release.
bool may_create_databases()
{
    if (superuser())
        return true;
    HeapTuple tuple = SearchSysCache1(AUTHOID, ObjectIdGetDatum(GetUserId()));
    if (!HeapTupleIsValid(tuple))
        return false;
    const bool createdb = reinterpret_cast<Form_pg_authid>(GETSTRUCT(tuple))->rolcreatedb;
    ReleaseSysCache(tuple);
    return createdb;
}

// Whether the statement, run by this user, here, may act on the database, as Postgres checks
// it: its owner may (a superuser owns every database), with CREATEDB to RENAME it or copy it,
// and anyone with CREATEDB may copy a database marked IS_TEMPLATE; DROP, CREATE and SET
// TABLESPACE run neither in a transaction block nor in a function. Postgres makes the remaining
// checks itself. The workers were stopped before statements it then refused: an owner without
// CREATEDB, renaming the database again and again, kept its maintenance from ever running.
bool may_act_on(const Node* stmt, Oid database, bool top_level)
{
    const bool renames = IsA(stmt, RenameStmt);
    if (!renames && (!top_level || IsTransactionBlock()))
        return false;
    // A rename to a name taken fails too (an owner with CREATEDB, renaming to one again and
    // again, kept the database's maintenance from running).
    if (renames && OidIsValid(get_database_oid(castNode(RenameStmt, stmt)->newname, true)))
        return false;
    if (pg_database_ownercheck(database, GetUserId()))
        return !(renames || IsA(stmt, CreatedbStmt)) || may_create_databases();
    if (!IsA(stmt, CreatedbStmt) || !may_create_databases())
        return false;
    HeapTuple tuple = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(database));
    if (!HeapTupleIsValid(tuple))
        return false;
    const bool is_template = reinterpret_cast<Form_pg_database>(GETSTRUCT(tuple))->datistemplate;
    ReleaseSysCache(tuple);
    return is_template;
}

// How long to wait for the stopped workers to be gone, in steps of 100 ms: past the store
// worker's wait for a lock on the store after its SIGTERM (predict::stopping_lock_timeout_ms),
// by 2 s for its last log line and exit. Given 5 s, the wait ended just before a store worker
// waiting on a session's lock left, and DROP DATABASE ... WITH (FORCE) by an owner who is no
// superuser failed on it (may not signal it), where terminating that session was its purpose.
constexpr long exit_wait_step_ms = 100;
constexpr int exit_wait_steps = int((predict::stopping_lock_timeout_ms + 2000) / exit_wait_step_ms);

// Before a statement that needs no other session in a database the user may act on (above),
// stop our workers there, as Postgres does with autovacuum: the maintenance worker (the
// launcher starts no new one for 10 s after one exits, and by then sees the database gone or
// renamed, or starts it again if the statement failed or is done) and the store worker of
// async predict() (it writes what is queued as it stops and starts no next one; the end of the
// command's transaction does, resume_stopped_stores).
// Then wait until they have left: DROP DATABASE ... WITH (FORCE) does not wait for sessions,
// it signals those still there, and refuses to, failing the drop, when they belong to a role
// the user is not a member of (the workers run as the bootstrap superuser by default).
// The stop cannot wait until Postgres has accepted the statement: its count of the database's
// other sessions, which our workers would fail, is made inside the command itself, and event
// triggers fire for no command on a database (ddl_command_end neither). So what Postgres checks
// before that count is checked here first (may_act_on), and a statement it refuses only at the
// count (a client session stayed connected), or a rename rolled back after, has stopped them.
void stop_workers_before_database_command(PlannedStmt* pstmt, const char* query,
                                          bool read_only_tree, ProcessUtilityContext context,
                                          ParamListInfo params, QueryEnvironment* env,
                                          DestReceiver* dest, QueryCompletion* qc)
{
    Oid dropped = InvalidOid; // a database this DROP DATABASE stopped the workers of
    if (const char* name = database_needing_no_sessions(pstmt->utilityStmt)) {
        const Oid database = get_database_oid(name, true);
        // Postgres refuses to drop, rename or move the current database, but copies it (its
        // other sessions gone): CREATE DATABASE ... TEMPLATE of the database connected to
        // failed on our worker there ("being accessed by other users").
        if (OidIsValid(database) &&
            (database != MyDatabaseId || IsA(pstmt->utilityStmt, CreatedbStmt)) &&
            may_act_on(pstmt->utilityStmt, database, context == PROCESS_UTILITY_TOPLEVEL)) {
            // Every maintenance worker of the database (a replaced launcher's may still be
            // there beside the new one's), then its store worker.
            pid_t* pids = nullptr;
            int n = partition::maintenance_workers_of(database, &pids);
            pids = static_cast<pid_t*>(repalloc(pids, sizeof(pid_t) * size_t(n + 1)));
            const bool dropping = IsA(pstmt->utilityStmt, DropdbStmt);
            pids[n++] = predict::store_worker_to_stop(database, dropping);
            if (dropping)
                dropped = database;
            if (!xact_callback_registered) {
                RegisterXactCallback(resume_stopped_stores, nullptr);
                xact_callback_registered = true;
            }
            MemoryContext caller = MemoryContextSwitchTo(TopMemoryContext);
            stopped_stores = list_append_unique_oid(stopped_stores, database);
            MemoryContextSwitchTo(caller);
            for (int i = 0; i < n; i++)
                if (pids[i] != 0)
                    kill(pids[i], SIGTERM);
            for (int step = 0; step < exit_wait_steps; step++) {
                // A store worker that was starting stops as it attaches.
                bool gone = !predict::store_worker_present(database);
                for (int i = 0; i < n; i++)
                    gone &= pids[i] == 0 || BackendPidGetProc(pids[i]) == nullptr;
                if (gone)
                    break;
                (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
                                exit_wait_step_ms, PG_WAIT_EXTENSION);
                ResetLatch(MyLatch);
                CHECK_FOR_INTERRUPTS();
            }
        }
    }
    if (previous_hook != nullptr)
        previous_hook(pstmt, query, read_only_tree, context, params, env, dest, qc);
    else
        standard_ProcessUtility(pstmt, query, read_only_tree, context, params, env, dest, qc);
    // Dropped: what its stopped worker left queued goes with it, before a database made with
    // its OID can take it.
    if (OidIsValid(dropped)) {
        predict::discard_queue_of_dropped_database(
            dropped, castNode(DropdbStmt, pstmt->utilityStmt)->dbname);
        stopped_stores = list_delete_oid(stopped_stores, dropped);
    }
}

} // namespace

void install_database_command_hook()
{
    previous_hook = ProcessUtility_hook;
    ProcessUtility_hook = stop_workers_before_database_command;
}

} // namespace ai_scale
