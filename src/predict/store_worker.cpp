// The store worker of ai_scale.store_mode = async: one background worker per database with a
// queue, which copies what the database's sessions queued (queue.cpp) out of shared memory and
// inserts it into the prediction store in batches, as the roles that made the predictions.
// It exits after a while with nothing to do; a SIGTERM makes it write what is queued first.
#include "predict/queue.hpp"
#include "predict/queue_layout.hpp"
#include "predict/store.hpp"
#include "pg/bgworker.hpp"
#include "pg/catalog_caches.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/lwlock.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

PGDLLEXPORT void ai_scale_store_worker_main(Datum arg);
}

#include <algorithm>
#include <cstring>

namespace {

using namespace ai_scale::predict;
using namespace ai_scale::predict::queue;

constexpr int batch_rows = 1000; // rows per INSERT the worker makes
// Runs (INSERTs) per transaction: each may lock partitions of its own (a store partitioned by
// model: 500 models interleaved held 504 locks at once), and a refused row has the others of its
// transaction inserted again.
constexpr int group_runs = 64;
// The worker wakes every flush_ms, or at once when its queue passes half full: rows arrive in
// large batches (one INSERT and one commit for many rows), which is what makes async cheaper
// than sync, and a crash loses at most about flush_ms of predictions more than the queue holds.
constexpr long flush_ms = 200;
// A worker with nothing to do for this long exits (the next async predict() starts another),
// so an idle database holds no connection that would stop DROP DATABASE.
constexpr int idle_wakes = 50; // x flush_ms = 10 s

int my_slot = -1;
Oid my_database = InvalidOid;
// The database's name as the worker's log lines give it, read once connected.
const char* my_database_name = nullptr;
bool attached = false;
// Set while an insert runs, and its commit: a SIGTERM then cancels it (see handle_sigterm).
volatile sig_atomic_t inserting = false;
// The insert under way was begun after a SIGTERM (see no_standby_wait_to_stop).
bool committing_to_stop = false;
// An insert ran out of stopping_lock_timeout_ms: the worker writes nothing more.
bool store_locked = false;
// The catalog caches, reset by bound_catalog_caches.
ai_scale::pg::catalog_cache_bound catalog_caches;

// SignalHandlerForShutdownRequest, and the cancel of an insert under way: it is tried again at
// once, but now under stopping_lock_timeout_ms, so that a lock wait does not ignore the
// request.
void handle_sigterm(SIGNAL_ARGS)
{
    int save_errno = errno;
    ShutdownRequestPending = true;
    if (inserting) {
        QueryCancelPending = true;
        InterruptPending = true;
    }
    SetLatch(MyLatch);
    errno = save_errno;
}

// At exit: a worker that attached leaves its slot; one that never did (it could not connect:
// the database was dropped, say) clears the slot's starting flag, or no backend would start
// another, and notes the failure, so that backends insert synchronously for a while instead
// of starting a worker per call. Its queued rows wait for the next worker, or are discarded
// by free_slots_of_dropped_databases() when the database is gone.
void at_exit(int, Datum)
{
    // An ERROR while the worker held the queue's lock (take_queued's copy out of memory) ends
    // it here with the lock held, unless Postgres released it before these callbacks (15.20
    // does, not every release may): taken again, it would wait on itself.
    LWLockReleaseAll();
    LWLockAcquire(lock, LW_EXCLUSIVE);
    slot& sl = shared->slots[my_slot];
    if (attached && sl.worker_pid == MyProcPid) {
        sl.worker_pid = 0;
        sl.latch = nullptr;
    } else if (!attached && sl.database == my_database && sl.worker_pid == 0) {
        sl.starting = false;
        sl.failed_ms = monotonic_ms();
    }
    LWLockRelease(lock);
}

// Leaves the slot when the queue is empty, and frees it for any database unless a backend is
// starting another worker; false when rows came in.
bool retire_if_idle()
{
    LWLockAcquire(lock, LW_EXCLUSIVE);
    slot& sl = shared->slots[my_slot];
    bool empty = sl.head == sl.tail;
    if (empty && sl.worker_pid == MyProcPid) {
        sl.worker_pid = 0;
        sl.latch = nullptr;
        if (!sl.starting)
            free_slot(my_slot);
    }
    LWLockRelease(lock);
    return empty;
}

struct batch {
    Oid relid = InvalidOid;
    Oid userid = InvalidOid;
    Oid catalog = InvalidOid;
    text* model = nullptr;
    int32 version = 0;
    int n = 0;
    Datum inputs[batch_rows], outputs[batch_rows], hashes[batch_rows];
};

// The batches one drain() lost, logged once at its end: a batch ends at each change of model,
// so with two models' predictions interleaved in the queue a store refusing every insert
// logged a WARNING per prediction.
struct pass_losses {
    uint64 rows = 0;
    int inserts = 0;
    char* first_error = nullptr; // in TopMemoryContext
};
pass_losses losses;

void note_loss(int rows, const char* error)
{
    losses.rows += uint64(rows);
    if (losses.inserts++ == 0)
        losses.first_error = MemoryContextStrdup(TopMemoryContext, error);
}

void report_losses()
{
    if (losses.inserts == 0)
        return;
    // The database named, as in the worker's other lines: a background worker's log line gets
    // none from log_line_prefix's %d, and two databases' losses read the same.
    ereport(WARNING,
            (errmsg_plural("ai_scale store worker for database \"%s\" lost %llu prediction: %s",
                           "ai_scale store worker for database \"%s\" lost %llu predictions: %s",
                           losses.rows, my_database_name,
                           static_cast<unsigned long long>(losses.rows), losses.first_error),
             losses.inserts > 1 ? errdetail("%d inserts of this pass over the queue failed; the "
                                            "error is the first one's.",
                                            losses.inserts)
                                : 0));
    pfree(losses.first_error);
    losses = pass_losses();
}

// Errors that say nothing about the rows: the insert was cancelled (pg_cancel_backend of the
// worker), chosen as a deadlock's victim, or refused a lock or a serializable snapshot. Its
// batch is tried again (attempts_per_batch in all) rather than lost.
bool insert_interrupted(const ErrorData* e)
{
    return e->sqlerrcode == ERRCODE_QUERY_CANCELED ||
           e->sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED ||
           e->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE ||
           e->sqlerrcode == ERRCODE_T_R_SERIALIZATION_FAILURE;
}

// Whether schema.name is, as the catalog has it now, a default partition in the store's
// partition tree, not partitioned itself: the store's own, or that of a table in it (each
// model's table of a store list-partitioned by model_name). Only the store's default was noted
// before each insert, and a 23514 of a model table's lost its batch; noting them all would read
// every partition's catalog row at each insert, for a rare error. Read after the failed
// insert's transaction, in one of its own, locking no table of the store (only the catalogs
// it reads, as any lookup of a name does): the move the error comes from has
// committed (the insert waited for it), and a DDL committed since can make the answer wrong
// only at the cost of a batch's tries, or of the loss the error was before. Cancels are held:
// one that came here (pg_cancel_backend) would be an ERROR outside the insert's PG_TRY, which
// ends the worker with the rows it copied from the queue.
bool default_partition_in(Oid store, const char* schema, const char* name)
{
    MemoryContext caller = CurrentMemoryContext;
    HOLD_CANCEL_INTERRUPTS();
    StartTransactionCommand();
    const Oid nsp = get_namespace_oid(schema, true);
    const Oid rel = OidIsValid(nsp) ? get_relname_relid(name, nsp) : InvalidOid;
    bool found = false;
    if (OidIsValid(rel) && get_rel_relkind(rel) != RELKIND_PARTITIONED_TABLE) {
        List* ancestors = get_partition_ancestors(rel);
        found = ancestors != NIL && get_default_partition_oid(linitial_oid(ancestors)) == rel &&
                list_member_oid(ancestors, store);
        list_free(ancestors);
    }
    CommitTransactionCommand();
    RESUME_CANCEL_INTERRUPTS();
    MemoryContextSwitchTo(caller);
    return found;
}

// A row failed a partition constraint (23514 naming no constraint) of a default partition in
// the store's tree: Postgres routed it there while a maintenance run or rescue_default was
// moving that range into a new partition, and the insert, tried again, routes it there (before,
// the batch was lost). Tried again as above, but only when the relation the error names is such
// a default partition (default_partition_in): the same 23514 says 'no partition of relation ...
// found for row' naming the store or a partitioned table in it (a partitioned default too, which
// no move of ai_scale's makes partitions beside: a managed table's default is not partitioned),
// or names another partition a BEFORE trigger moved a row out of, which no retry changes; tried
// five times over 1.5 s a batch (a batch a prediction, with two models' interleaved), they held
// the queue and the worker's shutdown for minutes.
bool routed_during_a_move(const ErrorData* e, Oid store)
{
    return e->sqlerrcode == ERRCODE_CHECK_VIOLATION && e->constraint_name == nullptr &&
           e->schema_name != nullptr && e->table_name != nullptr &&
           default_partition_in(store, e->schema_name, e->table_name);
}
constexpr int attempts_per_batch = 5;

// Starts the transaction of one insert, its settings and snapshot. After a SIGTERM (stopping),
// a lock on the store is waited for stopping_lock_timeout_ms at most, and a synchronous standby
// not at all (no_standby_wait_to_stop).
void begin_insert(bool stopping)
{
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    // The same name lookups (the table's triggers, defaults) as a synchronous insert.
    set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
                      GUC_ACTION_LOCAL, true, 0, false);
    // A lock_timeout set for the database or the bootstrap role is meant for sessions, which
    // see their error and retry: here it would lose the batch. The worker waits, as an INSERT
    // without it does.
    set_config_option("lock_timeout", stopping ? psprintf("%ld", stopping_lock_timeout_ms) : "0",
                      PGC_SUSET, PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0, false);
    committing_to_stop = stopping;
    PushActiveSnapshot(GetTransactionSnapshot());
    pgstat_report_activity(STATE_RUNNING, "ai_scale store: insert");
}

// Before the commit of an insert begun after a SIGTERM: synchronous_commit = local, so that it
// does not wait for a synchronous standby, as a fast shutdown ends a client's wait; with none
// answering, each batch left waited for good. Set here, after the store's triggers (deferred
// ones too), which could set it back (set_config(..., true) in a trigger).
void no_standby_wait_to_stop(XactEvent event, void*)
{
    if (event == XACT_EVENT_PRE_COMMIT && committing_to_stop)
        set_config_option("synchronous_commit", "local", PGC_SUSET, PGC_S_SESSION, GUC_ACTION_LOCAL,
                          true, 0, false);
}

// The INSERT of the batch's rows into its store. Called inside SPI_connect.
void insert_rows(batch& b)
{
    // (The store is locked already: insert_as_owner.)
    char* rel = get_rel_name(b.relid);
    // A store dropped since its rows were queued: a user's doing, not a can't-happen (elog gave
    // it XX000), and 42P01 as the same race gives a synchronous insert (pg/relation_plan.cpp).
    if (rel == nullptr)
        ereport(ERROR,
                (errcode(ERRCODE_UNDEFINED_TABLE),
                 errmsg("the prediction store (relation with OID %u) no longer exists", b.relid)));
    const char* qualified =
        quote_qualified_identifier(get_namespace_name(get_rel_namespace(b.relid)), rel);
    char* sql = psprintf(insert_format, qualified);
    Oid types[5] = {TEXTOID, INT4OID, JSONBARRAYOID, JSONBARRAYOID, INT8ARRAYOID};
    Datum values[5] = {
        PointerGetDatum(b.model), Int32GetDatum(b.version),
        PointerGetDatum(construct_array(b.inputs, b.n, JSONBOID, -1, false, TYPALIGN_INT)),
        PointerGetDatum(construct_array(b.outputs, b.n, JSONBOID, -1, false, TYPALIGN_INT)),
        PointerGetDatum(
            construct_array(b.hashes, b.n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE))};
    int rc = SPI_execute_with_args(sql, 5, types, values, nullptr, false, 0);
    if (rc != SPI_OK_INSERT && rc != SPI_OK_REWRITTEN) // as store() (store.cpp)
        elog(ERROR, "ai_scale store worker: insert failed: %s", SPI_result_code_string(rc));
}

// The batch's insert as the role that made the predictions, in a security-restricted operation.
// Runs inside try_insert_batch's PG_TRY: an error leaves the role for the abort to put back.
void insert_as_owner(batch& b)
{
    // The store's deferred constraints and constraint triggers (DEFERRABLE INITIALLY DEFERRED,
    // on the store or on any of its partitions) are checked at the end of the insert, as
    // immediate ones are: Postgres fires no deferred trigger inside a security-restricted
    // operation, and at the commit, outside it, they would run as the worker. Every batch for
    // such a store failed, and was lost. Set before the insert, with nothing yet to fire.
    ConstraintsSetStmt all_immediate{};
    all_immediate.type = T_ConstraintsSetStmt;
    all_immediate.constraints = NIL;
    all_immediate.deferred = false;
    AfterTriggerSetState(&all_immediate);
    Oid worker_user;
    int worker_context;
    GetUserIdAndSecContext(&worker_user, &worker_context);
    SetUserIdAndSecContext(b.userid, worker_context | SECURITY_LOCAL_USERID_CHANGE |
                                         SECURITY_RESTRICTED_OPERATION);
    // The store first, its wait bounded as begin_insert says: waiting for it (a transaction
    // holding it, a CREATE INDEX) with the extension's catalog locked queued a DROP EXTENSION
    // behind the worker, and every predict() and score() of the database behind that, for as
    // long as the store stayed held (TAP 311). By its OID, before insert_rows reads its name, as
    // a synchronous insert locks it (cache::lock_store_for_insert): the rows were queued for
    // this relation, and its name read before a wait for the lock was the one a rename (ALTER
    // TABLE ... RENAME, SET SCHEMA) made meanwhile took away, so that the batch was lost with
    // 42P01 (TAP 301). The lock takes in what the wait was for; a DROP leaves no name.
    LockRelationOid(b.relid, RowExclusiveLock);
    // Rows queued before DROP EXTENSION (or DROP SCHEMA ai_scale CASCADE) are not written, and
    // a DROP EXTENSION waits for an insert under way (lock_install).
    if (!lock_install(b.catalog))
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                        errmsg("extension ai_scale was dropped since they were queued")));
    // Settings the store's code changes for the session (a trigger's set_config(..., false)) are
    // undone after the batch, as a function's SET clause undoes them: the worker's one session
    // serves every store and role of the database, and a trigger's default_transaction_read_only
    // lost every later batch, a TimeZone wrote other stores' timestamp keys hours off (TAP 310).
    // (A failed insert's abort undoes them too.)
    const int guc_level = NewGUCNestLevel();
    SPI_connect();
    insert_rows(b);
    SPI_finish();
    AtEOXact_GUC(false, guc_level);
    SetUserIdAndSecContext(worker_user, worker_context);
}

// Whether an error may be one row's, which the others of its batch need not share: any but
// those of the batch as a whole. Such a batch is written again a row at a time, so that only
// the rows at fault are lost: the whole batch was, up to 1000 predictions of any session, for
// one row a CHECK refused, or too long for a btree index on the inputs (54000, TAP 302), or a
// trigger's error of any class (2F005, a trigger branch without RETURN, was lost with its
// batch when only some classes were split). Not split: the batch's own errors (the store, a
// column of it, or the extension gone or changed: class 42, but 42501, which a row-level
// security policy's WITH CHECK raises for one row; a feature, 0A; a limit every row meets,
// class 54 but 54000, as a trigger recursing without end, 54001), nor a connection,
// transaction-state, resource, lock, operator, system, internal or serialization error (08,
// 25, 53, 55, 57, 58, XX, 40). Split, a batch that every row failed alike took a transaction a
// row to lose, 20 ms each for a recursion, and held a fast shutdown as long.
bool row_may_be_at_fault(const ErrorData* e)
{
    if (e->sqlerrcode == ERRCODE_INSUFFICIENT_PRIVILEGE ||
        e->sqlerrcode == ERRCODE_PROGRAM_LIMIT_EXCEEDED)
        return true;
    switch (ERRCODE_TO_CATEGORY(e->sqlerrcode)) {
    case ERRCODE_SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION:
    case ERRCODE_FEATURE_NOT_SUPPORTED:
    case ERRCODE_PROGRAM_LIMIT_EXCEEDED:
    case ERRCODE_CONNECTION_EXCEPTION:
    case ERRCODE_INVALID_TRANSACTION_STATE:
    case ERRCODE_INSUFFICIENT_RESOURCES:
    case ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE:
    case ERRCODE_OPERATOR_INTERVENTION:
    case ERRCODE_SYSTEM_ERROR:
    case ERRCODE_INTERNAL_ERROR:
    case ERRCODE_TRANSACTION_ROLLBACK:
        return false;
    default:
        return true;
    }
}

// After a failed insert into `store` (its transaction aborted): whether the batch is tried
// again. Else the store stayed locked after a SIGTERM (store_locked), the batch is to be
// written a row at a time (*split; split is null for a batch that is one row already), or it is
// lost (note_loss).
bool try_again_after(const ErrorData* edata, Oid store, bool stopping, bool last_attempt, int rows,
                     bool* split)
{
    if (stopping && edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE) {
        store_locked = true;
        return false;
    }
    if (!stopping && ShutdownRequestPending && edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
        return true; // cancelled by handle_sigterm: not an attempt
    if (!last_attempt && insert_interrupted(edata))
        return true;
    // A batch written a row at a time (split null) has had its tries of a move's race as a
    // whole: its rows are not tried again each. A trigger on the default partition that moves
    // some rows out of its range fails them at every try, and five tries a row (1.5 s) held the
    // queue, and the worker's shutdown, for 25 minutes a batch of 1000 (TAP 302).
    if (!last_attempt && split != nullptr && routed_during_a_move(edata, store))
        return true;
    if (split != nullptr && rows > 1 && row_may_be_at_fault(edata)) {
        *split = true;
        return false;
    }
    note_loss(rows, edata->message);
    return false;
}

// Inserts one batch in its own transaction, as the role that made the predictions (its
// privileges, and its identity in triggers), in a security-restricted operation. Returns false
// when the insert failed in a way worth retrying (try_again_after), with the batch kept; any
// other error (a dropped table or role, say) loses the batch (note_loss: drain logs it), and
// the worker carries on. After a SIGTERM, an insert that cannot get its lock in time sets
// store_locked and keeps the batch. Aborting the transaction puts the worker's own role back.
// The error is copied into cxt, the pass's memory: Postgres 15's FreeErrorData leaves the names
// of the schema, table, column, type and constraint an error names, and copied where the worker
// is between transactions (TopMemoryContext), each failed insert kept about 200 bytes for good
// (TAP 269).
bool try_insert_batch(batch& b, bool last_attempt, MemoryContext cxt, bool* split)
{
    MemoryContext caller = CurrentMemoryContext;
    volatile bool done = true; // set after a longjmp
    const bool stopping = ShutdownRequestPending;
    begin_insert(stopping);
    PG_TRY();
    {
        inserting = !stopping;
        if (!stopping && ShutdownRequestPending) {
            // The SIGTERM came since `stopping` was read, before handle_sigterm could cancel.
            QueryCancelPending = true;
            InterruptPending = true;
        }
        insert_as_owner(b);
        PopActiveSnapshot();
        // Through the commit too: a commit that waits for a synchronous standby ends its wait
        // on a cancel (the transaction committed here, as a client's after a cancel), where
        // the SIGTERM of a fast shutdown or a DROP DATABASE was ignored for as long as no
        // standby answered.
        CommitTransactionCommand();
        inserting = false;
    }
    PG_CATCH();
    {
        inserting = false;
        MemoryContextSwitchTo(cxt);
        ErrorData* edata = CopyErrorData();
        FlushErrorState();
        AbortCurrentTransaction();
        MemoryContextSwitchTo(caller);
        done = !try_again_after(edata, b.relid, stopping, last_attempt, b.n, split);
        FreeErrorData(edata);
    }
    PG_END_TRY();
    committing_to_stop = false;
    // A cancel from handle_sigterm that came as the insert committed.
    QueryCancelPending = false;
    pgstat_report_activity(STATE_IDLE, nullptr);
    return done;
}

// try_insert_batch until it is done, pausing between attempts (0.1 s, doubling).
void insert_until_done(batch& b, MemoryContext cxt, bool* split)
{
    for (int attempt = 1; !try_insert_batch(b, attempt >= attempts_per_batch, cxt, split);
         attempt++) {
        (void)WaitLatch(MyLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
                        100L << (std::min(attempt, attempts_per_batch) - 1), PG_WAIT_EXTENSION);
        // A cancel that came during the pause is for the attempt it would have interrupted.
        QueryCancelPending = false;
    }
}

// A run of consecutive queued rows of one store, role, catalog, model and version: rows
// [first, first + n) of the pass's group, the first at offset off of the pass's copy.
struct run {
    uint64 off;
    int first;
    int n;
    Oid relid, userid, catalog;
    text* model;
    int32 version;
};

// Up to batch_rows rows of a pass for one store, in up to group_runs runs. Rows of many models
// interleaved (a run each, often of one row) are written in one transaction, an INSERT a run,
// rather than a transaction a run: with 500 models interleaved, the worker committed a row at a
// time and drained 4,000 queued rows in 4-11 s instead of 0.5 s, and under load its queue stayed
// thousands of rows behind (rows a crash loses) while callers fell back to synchronous inserts.
struct group {
    Datum inputs[batch_rows], outputs[batch_rows], hashes[batch_rows];
    run runs[group_runs];
    int n = 0;
    int nruns = 0;
};

// Puts the rows of r into b, whose rows they become.
void load_run(batch& b, const group& g, const run& r)
{
    b.relid = r.relid;
    b.userid = r.userid;
    b.catalog = r.catalog;
    b.model = r.model;
    b.version = r.version;
    b.n = r.n;
    memcpy(b.inputs, g.inputs + r.first, sizeof(Datum) * size_t(r.n));
    memcpy(b.outputs, g.outputs + r.first, sizeof(Datum) * size_t(r.n));
    memcpy(b.hashes, g.hashes + r.first, sizeof(Datum) * size_t(r.n));
}

// Whether the store and its partitions run no code of a trigger or a rule on insert. Only such
// a store has its runs written in one transaction: there no lock is waited for longer than
// 10 ms (try_insert_group), and a trigger of the store's that catches the lock error
// (EXCEPTION WHEN OTHERS in an audit trigger) would skip its work without anyone knowing, where
// written a run at a time it waits. (Read without a lock: a trigger added meanwhile is seen at
// the next pass.)
bool runs_no_insert_code(Oid store)
{
    List* rels = find_all_inheritors(store, NoLock, nullptr);
    ListCell* lc;
    foreach (lc, rels) {
        HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(lfirst_oid(lc)));
        if (!HeapTupleIsValid(tuple))
            continue;
        const auto* c = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
        const bool code = c->relhastriggers || c->relhasrules;
        ReleaseSysCache(tuple);
        if (code)
            return false;
    }
    return true;
}

// Writes the group's runs in one transaction, each as its role (insert_as_owner). False when
// any failed, the transaction rolled back and its error dropped: the runs are then written a
// transaction each (insert_batch), which retries, splits and counts losses as for any batch
// (so a group with a row the store refuses has its other rows inserted twice, the first time
// rolled back).
bool try_insert_group(const group& g)
{
    static batch b;
    MemoryContext caller = CurrentMemoryContext;
    volatile bool done = true;
    const bool stopping = ShutdownRequestPending;
    if (stopping)
        return false; // a batch at a time, each with its bounded lock wait (try_insert_batch)
    begin_insert(false);
    // No lock is waited for with the group's others held: a run waiting for one partition (a
    // store partitioned by model) while holding an earlier run's deadlocked a session that
    // locks them the other way round, and held the earlier partition from DDL. A lock not
    // free within 10 ms ends the group; its runs are then written a transaction each, each
    // waiting alone, as before.
    set_config_option("lock_timeout", "10", PGC_SUSET, PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0,
                      false);
    PG_TRY();
    {
        inserting = true;
        if (ShutdownRequestPending) {
            QueryCancelPending = true;
            InterruptPending = true;
        }
        done = runs_no_insert_code(g.runs[0].relid); // else a run at a time
        for (int i = 0; i < g.nruns && done; i++) {
            load_run(b, g, g.runs[i]);
            insert_as_owner(b);
        }
        PopActiveSnapshot();
        if (done)
            CommitTransactionCommand();
        else
            AbortCurrentTransaction();
        inserting = false;
    }
    PG_CATCH();
    {
        inserting = false;
        MemoryContextSwitchTo(caller);
        FlushErrorState();
        AbortCurrentTransaction();
        done = false;
    }
    PG_END_TRY();
    QueryCancelPending = false;
    pgstat_report_activity(STATE_IDLE, nullptr);
    return done;
}

// Writes the batch, a row at a time when a row refused it (row_may_be_at_fault), and empties
// it. False when the store stayed locked after a SIGTERM: the batch keeps the rows not
// written, and *written says how many of its first rows were.
bool insert_batch(batch& b, MemoryContext cxt, int* written)
{
    *written = 0;
    if (b.n == 0)
        return true;
    bool split = false;
    insert_until_done(b, cxt, &split);
    if (split) {
        static batch one;
        one.relid = b.relid;
        one.userid = b.userid;
        one.catalog = b.catalog;
        one.model = b.model;
        one.version = b.version;
        for (int i = 0; i < b.n && !store_locked; i++) {
            one.n = 1;
            one.inputs[0] = b.inputs[i];
            one.outputs[0] = b.outputs[i];
            one.hashes[0] = b.hashes[i];
            insert_until_done(one, cxt, nullptr);
            if (store_locked) {
                *written = i;
                b.n -= i;
                memmove(b.inputs, b.inputs + i, sizeof(Datum) * size_t(b.n));
                memmove(b.outputs, b.outputs + i, sizeof(Datum) * size_t(b.n));
                memmove(b.hashes, b.hashes + i, sizeof(Datum) * size_t(b.n));
            }
        }
    }
    if (store_locked)
        return false;
    b.n = 0;
    return true;
}

// Where in the copy the entry `rows` entries after the one at `off` starts.
uint64 entries_after(const char* copy, uint64 off, int rows)
{
    for (; rows > 0; rows--) {
        entry_header h;
        memcpy(&h, copy + off, sizeof h);
        off += h.length;
    }
    return off;
}

// When the store stayed locked after a SIGTERM: puts the rows drain() copied from position
// `start` of the ring that are not written (from `off` in the copy, the first row not
// written, to `len`) back in the queue, for the next worker, when the ring has not reused their
// bytes since; else they are lost, with a WARNING. Returns `unwritten`, the rows of the pass
// taken so far that were not written.
uint64 requeue(const char* copy, uint64 start, uint64 off, uint64 len, int unwritten)
{
    uint64 rows = 0;
    for (uint64 pos = off; pos < len; rows++) {
        entry_header h;
        memcpy(&h, copy + pos, sizeof h);
        pos += h.length;
    }
    LWLockAcquire(lock, LW_EXCLUSIVE);
    slot& sl = shared->slots[my_slot];
    const bool kept = sl.head - (start + off) <= shared->ring_bytes;
    if (kept)
        sl.tail = start + off;
    LWLockRelease(lock);
    if (!kept)
        ereport(WARNING,
                (errmsg_plural("ai_scale store worker for database \"%s\" lost %llu prediction: "
                               "the prediction store stayed locked as the worker stopped",
                               "ai_scale store worker for database \"%s\" lost %llu predictions: "
                               "the prediction store stayed locked as the worker stopped",
                               rows, my_database_name, static_cast<unsigned long long>(rows))));
    return uint64(unwritten);
}

// Copies what the ring of this worker's slot holds into cxt, and takes it off the ring: its
// length in *len (0: nothing queued, nullptr returned) and its position in the ring in *start.
char* take_queued(MemoryContext cxt, uint64* start, uint64* len)
{
    LWLockAcquire(lock, LW_EXCLUSIVE);
    slot& sl = shared->slots[my_slot];
    *len = sl.head - sl.tail;
    *start = sl.tail;
    char* copy = nullptr;
    if (*len > 0) {
        copy = static_cast<char*>(MemoryContextAllocHuge(cxt, *len));
        ring_of(my_slot).read(*start, copy, *len);
        sl.tail += *len;
    }
    LWLockRelease(lock);
    return copy;
}

// The model name of the entry whose body starts at p, as a text in cxt.
text* entry_model(const entry_header& h, const char* p, MemoryContext cxt)
{
    text* model = static_cast<text*>(MemoryContextAlloc(cxt, VARHDRSZ + h.model_len));
    SET_VARSIZE(model, VARHDRSZ + h.model_len);
    memcpy(VARDATA(model), p, h.model_len);
    return model;
}

// Whether the entry cannot join run r: it is for another table, role, catalog or model.
bool ends_run(const run& r, const entry_header& h, text* model)
{
    return r.relid != h.relid || r.userid != h.userid || r.catalog != h.catalog ||
           r.version != h.version || VARSIZE(r.model) != VARSIZE(model) ||
           memcmp(VARDATA(r.model), VARDATA(model), h.model_len) != 0;
}

// Adds the entry whose body starts at p, at offset off of the copy, to g (not full), in a run
// of its own when it cannot join the last. Its Jsonb varlenas are copied out into cxt so they
// are aligned.
void add_entry(group& g, uint64 off, const entry_header& h, const char* p, text* model,
               MemoryContext cxt)
{
    if (g.nruns == 0 || ends_run(g.runs[g.nruns - 1], h, model))
        g.runs[g.nruns++] = run{off, g.n, 0, h.relid, h.userid, h.catalog, model, h.version};
    void* in = MemoryContextAlloc(cxt, h.input_len);
    memcpy(in, p + h.model_len, h.input_len);
    void* out = MemoryContextAlloc(cxt, h.output_len);
    memcpy(out, p + h.model_len + h.input_len, h.output_len);
    g.inputs[g.n] = PointerGetDatum(in);
    g.outputs[g.n] = PointerGetDatum(out);
    g.hashes[g.n] = Int64GetDatum(h.input_hash);
    g.n++;
    g.runs[g.nruns - 1].n++;
}

// Writes the group and empties it: its runs in one transaction, or, when that fails (or a
// SIGTERM came), a transaction a run. False when the store stayed locked after a SIGTERM:
// *unwritten then says how many of the group's rows were not written, which are the last ones,
// from offset *unwritten_off of the copy.
bool insert_group(group& g, const char* copy, MemoryContext cxt, int* unwritten,
                  uint64* unwritten_off)
{
    static batch b;
    const bool in_one = g.nruns > 1 && try_insert_group(g);
    for (int i = 0; i < g.nruns && !in_one; i++) {
        load_run(b, g, g.runs[i]);
        int written;
        if (!insert_batch(b, cxt, &written)) {
            *unwritten = g.n - g.runs[i].first - written;
            *unwritten_off = entries_after(copy, g.runs[i].off, written);
            g.n = g.nruns = 0;
            return false;
        }
    }
    g.n = g.nruns = 0;
    return true;
}

// Moves everything queued now out of the ring and into the store. Returns the rows written.
uint64 drain_pass(MemoryContext cxt)
{
    // Copy what is queued under the lock, then insert without it.
    uint64 start, len;
    const char* copy = take_queued(cxt, &start, &len);
    if (len == 0)
        return 0;
    static group g;
    uint64 rows = 0;
    int unwritten;
    uint64 unwritten_off;
    for (uint64 off = 0; off < len;) {
        entry_header h;
        memcpy(&h, copy + off, sizeof h);
        const char* p = copy + off + sizeof h;
        text* model = entry_model(h, p, cxt);
        // A group is of one store (and install of the extension): waiting for a second store's
        // lock while holding the first's and the catalog's queued a DROP EXTENSION, and every
        // predict() behind it, as TAP 311's wait did, and could deadlock a session that locks
        // the two stores the other way round.
        const bool other_store =
            g.nruns > 0 && (g.runs[0].relid != h.relid || g.runs[0].catalog != h.catalog);
        if ((g.n == batch_rows || g.nruns == group_runs || other_store) &&
            !insert_group(g, copy, cxt, &unwritten, &unwritten_off))
            return rows - requeue(copy, start, unwritten_off, len, unwritten);
        add_entry(g, off, h, p, model, cxt);
        rows++;
        off += h.length;
    }
    if (!insert_group(g, copy, cxt, &unwritten, &unwritten_off))
        return rows - requeue(copy, start, unwritten_off, len, unwritten);
    return rows;
}

// drain_pass, then one WARNING for the batches it lost. Returns the rows taken from the queue,
// written or lost; *lost, when given, gets the rows lost.
uint64 drain(MemoryContext cxt, uint64* lost = nullptr)
{
    const uint64 rows = drain_pass(cxt);
    if (lost != nullptr)
        *lost = losses.rows;
    report_losses();
    return rows;
}

// Sets my_slot to the slot of the database, or leaves it -1 when it has none.
void find_my_slot(Oid database)
{
    LWLockAcquire(lock, LW_SHARED);
    for (int s = 0; s < n_slots; s++)
        if (shared->slots[s].database == database)
            my_slot = s;
    LWLockRelease(lock);
}

// Connects to the database, with the settings the worker's inserts need, and reads its name.
void connect_to(Oid database)
{
    // The rows were queued by sessions connected to the database: ALLOW_CONNECTIONS false,
    // which keeps new sessions out, does not strand them.
    BackgroundWorkerInitializeConnectionByOid(database, InvalidOid, BGWORKER_BYPASS_ALLOWCONN);
    pgstat_report_appname("ai_scale store");
    // default_transaction_read_only given to the database or to the bootstrap role (ALTER
    // DATABASE / ALTER ROLE ... SET), which this session gets, is meant for new client
    // sessions: the rows were queued by sessions that could write them. A database made
    // read-only that way (a DBA freezing it while older sessions still write) would otherwise
    // lose every batch. (statement_timeout is armed only for client statements, not here.)
    SetConfigOption("default_transaction_read_only", "off", PGC_SUSET, PGC_S_SESSION);
    // Nor is exit_on_error: the worker catches an insert's error to try the batch again (a
    // cancel, a deadlock, a serialization failure) or to log its loss; with it on, the error
    // was a FATAL, and the batch was lost with the worker.
    SetConfigOption("exit_on_error", "off", PGC_SUSET, PGC_S_SESSION);
    // Nor session_replication_role = replica for the database or the bootstrap role (a
    // replication or loading tool's): the inserts fire the store's triggers and rules, as a
    // synchronous predict() in a session without that setting does; with it, async predictions
    // skipped them. (A session that has it itself gets its rows stored with the triggers.)
    SetConfigOption("session_replication_role", "origin", PGC_SUSET, PGC_S_SESSION);
    // Nor a low jit_above_cost for the database or role: each batch's insert was compiled anew.
    SetConfigOption("jit", "off", PGC_SUSET, PGC_S_SESSION);
    StartTransactionCommand();
    const char* name = get_database_name(database);
    my_database_name =
        MemoryContextStrdup(TopMemoryContext, name != nullptr ? name : psprintf("%u", database));
    CommitTransactionCommand();
}

// Takes the slot of the database as its worker; false when another worker attached first.
bool attach(Oid database)
{
    LWLockAcquire(lock, LW_EXCLUSIVE);
    slot& sl = shared->slots[my_slot];
    // Not when another worker attached first (this one was taken as lost and replaced).
    if (sl.database == database && sl.worker_pid == 0) {
        sl.worker_pid = MyProcPid;
        sl.latch = MyLatch;
        sl.starting = false;
        sl.closed = false;
        sl.failed_ms = 0;
        // A database command found it starting (store_worker_to_stop): it stops now, writing
        // what is queued, as it would have had it been attached and signalled then.
        if (sl.stop_on_attach)
            ShutdownRequestPending = true;
        sl.no_successor = sl.stop_on_attach;
        sl.dropping = false;
        sl.stop_on_attach = false;
        attached = true;
    }
    LWLockRelease(lock);
    return attached;
}

// Resets the catalog caches after a pass once they hold much more than a pass needs
// (pg/catalog_caches.hpp). A busy worker lives as long as the traffic lasts, and keeps the
// relation cache entry of every partition it writes, with its indexes', until the partition
// changes: a store kept for good (create_prediction_store's default) with hourly partitions cost
// it 10 kB of CacheMemoryContext and 27 kB in all per partition, for good (TAP 268). Partitions
// dropped since cost nothing.
void bound_catalog_caches()
{
    const auto reset = catalog_caches.reset_if_grown();
    if (reset.held == 0)
        return;
    ereport(DEBUG1, (errmsg("ai_scale store worker for database \"%s\" reset its catalog caches",
                            my_database_name),
                     errdetail("They held %zu bytes, %zu more than after its first pass since the "
                               "last reset.",
                               reset.held, reset.held - reset.needed)));
}

// Drains the queue every flush_ms, or when woken, until a SIGTERM; exits after idle_wakes
// wakes with nothing to do.
void serve_until_shutdown(MemoryContext cxt)
{
    int idle = 0;
    while (!ShutdownRequestPending) {
        if (ConfigReloadPending) {
            ConfigReloadPending = false;
            ProcessConfigFile(PGC_SIGHUP);
        }
        ResetLatch(MyLatch);
        MemoryContextReset(cxt);
        const bool drained = drain(cxt) > 0;
        idle = drained ? 0 : idle + 1;
        // The statistics of its inserts, sent as a client backend's are: at most once a second
        // while it works, and what is left at once when it finds the queue empty. Sent only at
        // exit before, a worker busy for hours inserted rows that n_tup_ins and
        // n_mod_since_analyze did not count: autovacuum neither analyzed nor vacuumed the
        // partitions it filled (TAP 211).
        (void)pgstat_report_stat(!drained);
        if (drained)
            bound_catalog_caches();
        if (idle >= idle_wakes && retire_if_idle()) {
            ereport(LOG,
                    (errmsg("ai_scale store worker for database \"%s\" exiting after %ld s idle",
                            my_database_name, idle_wakes * flush_ms / 1000)));
            proc_exit(0);
        }
        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, flush_ms,
                        PG_WAIT_EXTENSION);
        ai_scale::pg::check_for_interrupts_when_idle();
    }
}

// Clean shutdown: refuse new rows (backends insert them themselves), then write the rest.
// Returns the rows written; *lost gets those the store refused (logged as lost). Counted with
// the written, they were said written as the worker stopped.
uint64 drain_for_shutdown(MemoryContext cxt, uint64* lost)
{
    LWLockAcquire(lock, LW_EXCLUSIVE);
    shared->slots[my_slot].closed = true;
    LWLockRelease(lock);
    uint64 rows = 0;
    *lost = 0;
    while (!store_locked) {
        MemoryContextReset(cxt);
        uint64 pass_lost = 0;
        const uint64 n = drain(cxt, &pass_lost);
        rows += n - pass_lost;
        *lost += pass_lost;
        if (n == 0)
            break;
    }
    return rows;
}

void log_stopping(uint64 rows, uint64 lost)
{
    if (store_locked) {
        // Left for the next worker: started now (hand_over_queue), or by the next async
        // predict() after a database command stopped this one; lost if this is a shutdown.
        LWLockAcquire(lock, LW_EXCLUSIVE);
        const uint64 left = queued_rows(my_slot);
        LWLockRelease(lock);
        const bool handed = left > 0 && hand_over_queue(my_slot);
        LWLockAcquire(lock, LW_SHARED);
        const bool for_command = shared->slots[my_slot].no_successor;
        const bool dropping = shared->slots[my_slot].dropping;
        LWLockRelease(lock);
        ereport(WARNING,
                (errmsg_plural("ai_scale store worker for database \"%s\" stopping; wrote %llu "
                               "queued prediction, left %llu queued: the prediction store stayed "
                               "locked",
                               "ai_scale store worker for database \"%s\" stopping; wrote %llu "
                               "queued predictions, left %llu queued: the prediction store stayed "
                               "locked",
                               rows, my_database_name, static_cast<unsigned long long>(rows),
                               static_cast<unsigned long long>(left)),
                 handed ? errdetail("A new store worker writes them once the store is free; at a "
                                    "server shutdown they are lost.")
                 : left > 0 && dropping
                     ? errdetail("They go with the database being dropped; should the drop "
                                 "fail, a new store worker writes them once it has failed, and "
                                 "at a server shutdown before that they are lost.")
                 : left > 0 && for_command
                     ? errdetail("A new store worker writes them once the database command that "
                                 "stopped this one ends; at a server shutdown before that they "
                                 "are lost.")
                 : left > 0 ? errdetail("The worker the next async predict() in the database "
                                        "starts writes them; at a server shutdown they are lost.")
                            : 0));
    } else
        ereport(LOG, (errmsg_plural("ai_scale store worker for database \"%s\" stopping; wrote "
                                    "the %llu queued prediction left",
                                    "ai_scale store worker for database \"%s\" stopping; wrote "
                                    "the %llu queued predictions left",
                                    rows, my_database_name, static_cast<unsigned long long>(rows)),
                      lost > 0 ? errdetail_plural("%llu more was lost, as logged above.",
                                                  "%llu more were lost, as logged above.", lost,
                                                  static_cast<unsigned long long>(lost))
                               : 0));
}

} // namespace

void ai_scale_store_worker_main(Datum arg)
{
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    pqsignal(SIGTERM, handle_sigterm);
    BackgroundWorkerUnblockSignals();
    Oid database = DatumGetObjectId(arg);
    my_database = database;
    // The slot is found before connecting, so that a failure to connect (FATAL) clears it.
    find_my_slot(database);
    if (my_slot < 0)
        proc_exit(0);
    before_shmem_exit(at_exit, 0);
    connect_to(database);
    RegisterXactCallback(no_standby_wait_to_stop, nullptr);
    if (!attach(database))
        proc_exit(0);
    ereport(LOG, (errmsg("ai_scale store worker started for database \"%s\"", my_database_name)));

    MemoryContext cxt =
        AllocSetContextCreate(TopMemoryContext, "ai_scale store", ALLOCSET_DEFAULT_SIZES);
    serve_until_shutdown(cxt);
    uint64 lost;
    const uint64 written = drain_for_shutdown(cxt, &lost);
    log_stopping(written, lost);
    proc_exit(0);
}
