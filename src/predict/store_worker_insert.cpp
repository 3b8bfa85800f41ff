// The store worker's inserts: see store_worker_insert.hpp.
#include "predict/store_worker_insert.hpp"

#include "predict/queue.hpp"
#include "predict/store.hpp"
#include "predict/store_worker.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
}

#include <algorithm>
#include <cstring>

namespace ai_scale::predict::store_worker {

volatile sig_atomic_t inserting = false;
bool store_locked = false;
pass_losses losses;

namespace {

// The insert under way was begun after a SIGTERM (see no_standby_wait_to_stop).
bool committing_to_stop = false;

void note_loss(int rows, const char* error)
{
    losses.rows += uint64(rows);
    if (losses.inserts++ == 0)
        losses.first_error = MemoryContextStrdup(TopMemoryContext, error);
}

} // namespace

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

namespace {

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

} // namespace

void no_standby_wait_to_stop(XactEvent event, void*)
{
    if (event == XACT_EVENT_PRE_COMMIT && committing_to_stop)
        set_config_option("synchronous_commit", "local", PGC_SUSET, PGC_S_SESSION, GUC_ACTION_LOCAL,
                          true, 0, false);
}

namespace {

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

} // namespace

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

namespace {

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

} // namespace

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

} // namespace ai_scale::predict::store_worker
