// The store worker of ai_scale.store_mode = async: one background worker per database with a
// queue, which copies what the database's sessions queued (queue.cpp) out of shared memory and
// inserts it into the prediction store in batches, as the roles that made the predictions.
// It exits after a while with nothing to do; a SIGTERM makes it write what is queued first.
// The worker's lifecycle is here: its slot and connection, the loop that drains the queue
// (store_worker_drain.cpp) until it is idle or told to stop, and its last pass and log lines.
// The inserts are in store_worker_insert.cpp.
#include "predict/store_worker.hpp"

#include "predict/queue.hpp"
#include "predict/queue_layout.hpp"
#include "predict/store_worker_drain.hpp"
#include "predict/store_worker_insert.hpp"
#include "pg/bgworker.hpp"
#include "pg/catalog_caches.hpp"

extern "C" {
#include "access/xact.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "utils/guc.h"
#include "utils/memutils.h"

PGDLLEXPORT void ai_scale_store_worker_main(Datum arg);
}

namespace ai_scale::predict::store_worker {

using namespace ai_scale::predict::queue;

int my_slot = -1;
const char* my_database_name = nullptr;

namespace {

// The worker wakes every flush_ms, or at once when its queue passes half full: rows arrive in
// large batches (one INSERT and one commit for many rows), which is what makes async cheaper
// than sync, and a crash loses at most about flush_ms of predictions more than the queue holds.
constexpr long flush_ms = 200;
// A worker with nothing to do for this long exits (the next async predict() starts another),
// so an idle database holds no connection that would stop DROP DATABASE.
constexpr int idle_wakes = 50; // x flush_ms = 10 s

Oid my_database = InvalidOid;
bool attached = false;
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
    // Nor force_parallel_mode: a parallel worker started for each batch's queries.
    SetConfigOption("force_parallel_mode", "off", PGC_SUSET, PGC_S_SESSION);
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

} // namespace ai_scale::predict::store_worker

using namespace ai_scale::predict::store_worker;

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
