// The producing end of the async store queue: predict() in a session puts its rows in the
// database's ring (enqueue), starting the database's store worker (store_worker.cpp) when none
// is running, and takes them back to insert itself when it cannot.
#include "predict/queue.hpp"
#include "cache/extension_incarnation.hpp"
#include "predict/queue_layout.hpp"
#include "guc.hpp"
#include "pg/bgworker.hpp"
#include "pg/shmem.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

#include <cstring>

namespace ai_scale::predict::queue {

queue_shared* shared = nullptr;
LWLock* lock = nullptr;

byte_ring ring_of(int s)
{
    return {shared->rings + uint64(s) * shared->ring_bytes, shared->ring_bytes};
}

void free_slot(int s)
{
    memset(&shared->slots[s], 0, sizeof(slot));
}

// The entries between tail and head of slot s.
uint64 queued_rows(int s)
{
    const slot& sl = shared->slots[s];
    uint64 rows = 0;
    for (uint64 pos = sl.tail; pos < sl.head; rows++) {
        uint32 length;
        ring_of(s).read(pos, &length, sizeof length);
        pos += length;
    }
    return rows;
}

} // namespace ai_scale::predict::queue

namespace ai_scale::predict {

using namespace queue;

namespace {

constexpr const char* tranche = "ai_scale store queue";
// After a worker failed to connect, the database's backends insert synchronously and start no
// other worker for this long, rather than starting one per predict().
constexpr long retry_after_failure_ms = 10000;
// A worker registered this long ago that has not attached is taken as never started: the
// postmaster could not fork it (it then forgets a worker that is never restarted, and no exit
// hook of ours runs), and the next call starts another. One that was only slow and attaches
// later finds the slot taken and exits.
constexpr long start_lost_after_ms = 10000;

uint64 ring_bytes_setting()
{
    return uint64(guc::store_queue_kb) * 1024 / n_slots / 8 * 8;
}

void init_queue(void* segment, bool found)
{
    lock = &GetNamedLWLockTranche(tranche)[0].lock;
    shared = static_cast<queue_shared*>(segment);
    if (!found) {
        memset(shared, 0, offsetof(queue_shared, rings));
        shared->ring_bytes = ring_bytes_setting();
    }
}

// Whether a backend registered a worker for the slot that may still attach.
bool worker_starting(const slot& sl)
{
    return sl.starting && monotonic_ms() - sl.starting_ms < uint64(start_lost_after_ms);
}

// Marks the slot as having a worker on the way; false when one is already there or on its way.
// *lost says whether the worker started before never attached (log_lost_start says so once
// the lock is released: the line reads the catalog).
bool claim_start(slot& sl, bool* lost)
{
    *lost = false;
    if (sl.worker_pid != 0 || worker_starting(sl))
        return false;
    *lost = sl.starting;
    sl.starting = true;
    sl.starting_ms = monotonic_ms();
    sl.stop_on_attach = false; // a command that stopped the last one is not this one's
    return true;
}

// The LOG line for a start claim_start found lost; the caller is a session of the database.
void log_lost_start()
{
    ereport(LOG, (errhidestmt(true), errhidecontext(true),
                  errmsg("ai_scale store worker for database \"%s\" did not start within %ld s; "
                         "starting another",
                         get_database_name(MyDatabaseId), start_lost_after_ms / 1000)));
}

// Frees the slot of database if no worker holds it or is on its way, discarding what it holds;
// the rows discarded. Takes the lock.
uint64 free_idle_slot_of(Oid database)
{
    uint64 rows = 0;
    LWLockAcquire(lock, LW_EXCLUSIVE);
    for (int s = 0; s < n_slots; s++) {
        const slot& sl = shared->slots[s];
        if (sl.database == database && sl.worker_pid == 0 && !worker_starting(sl)) {
            rows = queued_rows(s);
            free_slot(s);
        }
    }
    LWLockRelease(lock);
    return rows;
}

// Frees the slots of databases that no longer exist and that no worker holds: their queued rows
// have nowhere to go (a worker cannot connect to a dropped database) and are discarded, with a
// LOG line saying how many. Called with the lock not held (it reads the catalog).
void free_slots_of_dropped_databases()
{
    Oid candidates[n_slots];
    int n = 0;
    LWLockAcquire(lock, LW_SHARED);
    for (int s = 0; s < n_slots; s++) {
        const slot& sl = shared->slots[s];
        if (sl.database != InvalidOid && sl.database != MyDatabaseId && sl.worker_pid == 0 &&
            !worker_starting(sl))
            candidates[n++] = sl.database;
    }
    LWLockRelease(lock);
    for (int i = 0; i < n; i++) {
        if (SearchSysCacheExists1(DATABASEOID, ObjectIdGetDatum(candidates[i])))
            continue;
        const uint64 rows = free_idle_slot_of(candidates[i]);
        if (rows > 0)
            ereport(LOG,
                    (errhidestmt(true), errhidecontext(true),
                     errmsg_plural("ai_scale store queue: discarded %llu queued prediction "
                                   "of dropped database %u",
                                   "ai_scale store queue: discarded %llu queued predictions "
                                   "of dropped database %u",
                                   rows, static_cast<unsigned long long>(rows), candidates[i])));
    }
}

// Whether a slot is held by a database that may no longer exist: every slot is taken and this
// database has none, or a worker failed to connect. Called with the lock held.
bool may_hold_dropped_database()
{
    bool mine = false, free = false, failed = false;
    for (int s = 0; s < n_slots; s++) {
        const slot& sl = shared->slots[s];
        mine |= sl.database == MyDatabaseId;
        free |= sl.database == InvalidOid;
        failed |= sl.database != InvalidOid && sl.failed_ms != 0;
    }
    return failed || (!mine && !free);
}

// Whether another database may take the slot when none is free: its worker was stopped
// (pg_terminate_backend, or a database command: the queue is closed) and left nothing queued,
// and no worker is on its way. Such a slot stayed its database's until that database's next
// async predict(): eight databases whose workers were stopped once kept every other database
// inserting synchronously until a restart (TAP 298).
bool stopped_and_empty(const slot& sl)
{
    return sl.closed && sl.worker_pid == 0 && !worker_starting(sl) && sl.head == sl.tail;
}

// The slot of this database, claimed when free, else taken from a database whose worker was
// stopped (stopped_and_empty); -1 when all are in use. A slot taken that way stays closed: the
// caller inserts synchronously and starts a worker, and rows are queued once it has attached,
// so that nothing is queued during a shutdown, when no worker starts.
int slot_of(Oid database)
{
    int unused = -1;
    for (int s = 0; s < n_slots; s++) {
        if (shared->slots[s].database == database)
            return s;
        if (unused < 0 && shared->slots[s].database == InvalidOid)
            unused = s;
    }
    bool closed = false;
    for (int s = 0; unused < 0 && s < n_slots; s++)
        if (stopped_and_empty(shared->slots[s])) {
            unused = s;
            closed = true;
        }
    if (unused >= 0) {
        slot& sl = shared->slots[unused];
        memset(&sl, 0, sizeof sl);
        sl.database = database;
        sl.closed = closed;
    }
    return unused;
}

bool start_worker(Oid database, BackgroundWorkerHandle** handle = nullptr)
{
    // Named as the worker's log lines name it; the caller is a session of that database.
    char name[BGW_MAXLEN];
    const char* database_name = IsTransactionState() ? get_database_name(database) : nullptr;
    if (database_name != nullptr)
        snprintf(name, sizeof name, "ai_scale store worker for database \"%s\"", database_name);
    else
        snprintf(name, sizeof name, "ai_scale store worker for database %u", database);
    // Never restarted by the postmaster: a worker that cannot connect (its database was dropped)
    // would otherwise be restarted every second, forever. Backends start one when they need it.
    BackgroundWorker worker = pg::ai_scale_worker("ai_scale_store_worker_main", name,
                                                  "ai_scale store", BGW_NEVER_RESTART);
    worker.bgw_main_arg = ObjectIdGetDatum(database);
    worker.bgw_notify_pid = handle != nullptr ? MyProcPid : 0;
    return RegisterDynamicBackgroundWorker(&worker, handle);
}

// After a worker drained and closed its queue on SIGTERM: a terminated worker (a shutdown
// stops this backend too). Starts a new one and waits until the postmaster has started it; it
// reopens the queue when it attaches. During a shutdown the postmaster starts no workers, so
// the queue stays closed and nothing is queued that no worker would write.
void reopen_queue(int s)
{
    BackgroundWorkerHandle* handle = nullptr;
    pid_t pid;
    bool started = start_worker(MyDatabaseId, &handle) &&
                   WaitForBackgroundWorkerStartup(handle, &pid) == BGWH_STARTED;
    if (!started) {
        // Unless the slot went to another database meanwhile: a start the postmaster took over
        // start_lost_after_ms to answer no longer holds it (stopped_and_empty), and clearing
        // the new owner's start would have it start a second worker.
        LWLockAcquire(lock, LW_EXCLUSIVE);
        if (shared->slots[s].database == MyDatabaseId)
            shared->slots[s].starting = false;
        LWLockRelease(lock);
    }
}

} // namespace

void request_queue_memory()
{
    if (guc::store_queue_kb == 0)
        return;
    pg::request_lwlocks(tranche, 1);
    pg::request_shmem("ai_scale store queue",
                      offsetof(queue_shared, rings) + n_slots * ring_bytes_setting(), init_queue);
}

pid_t store_worker_to_stop(Oid database, bool dropping)
{
    if (shared == nullptr)
        return 0;
    pid_t pid = 0;
    LWLockAcquire(lock, LW_EXCLUSIVE);
    for (slot& sl : shared->slots)
        if (sl.database == database && sl.worker_pid != 0) {
            pid = sl.worker_pid;
            sl.no_successor = true;
            sl.dropping = dropping;
        } else if (sl.database == database && worker_starting(sl))
            sl.stop_on_attach = true;
    LWLockRelease(lock);
    return pid;
}

void discard_queue_of_dropped_database(Oid database, const char* name)
{
    if (shared == nullptr)
        return;
    const uint64 rows = free_idle_slot_of(database);
    if (rows > 0)
        ereport(LOG, (errhidestmt(true), errhidecontext(true),
                      errmsg_plural("ai_scale store queue: discarded %llu queued prediction of "
                                    "dropped database \"%s\"",
                                    "ai_scale store queue: discarded %llu queued predictions of "
                                    "dropped database \"%s\"",
                                    rows, static_cast<unsigned long long>(rows), name)));
}

void resume_queue(Oid database)
{
    if (shared == nullptr)
        return;
    bool start = false;
    LWLockAcquire(lock, LW_EXCLUSIVE);
    for (slot& sl : shared->slots)
        if (sl.database == database) {
            sl.no_successor = false;
            sl.dropping = false;
            bool lost;
            start = sl.worker_pid == 0 && sl.head != sl.tail && claim_start(sl, &lost);
        }
    LWLockRelease(lock);
    if (start && !start_worker(database)) {
        LWLockAcquire(lock, LW_EXCLUSIVE);
        for (slot& sl : shared->slots)
            if (sl.database == database)
                sl.starting = false;
        LWLockRelease(lock);
    }
}

bool store_worker_present(Oid database)
{
    if (shared == nullptr)
        return false;
    bool present = false;
    LWLockAcquire(lock, LW_SHARED);
    for (const slot& sl : shared->slots)
        present |= sl.database == database && (sl.worker_pid != 0 || worker_starting(sl));
    LWLockRelease(lock);
    return present;
}

bool hand_over_queue(int s)
{
    LWLockAcquire(lock, LW_EXCLUSIVE);
    slot& sl = shared->slots[s];
    bool mine = sl.worker_pid == MyProcPid && !sl.no_successor;
    if (mine) {
        // Given up before the next one is registered: it attaches only to a slot no worker holds.
        sl.worker_pid = 0;
        sl.latch = nullptr;
        bool lost;
        mine = claim_start(sl, &lost);
    }
    LWLockRelease(lock);
    if (!mine)
        return false;
    if (start_worker(sl.database))
        return true;
    LWLockAcquire(lock, LW_EXCLUSIVE);
    sl.starting = false;
    LWLockRelease(lock);
    return false;
}

namespace {

// The ring bytes rows take, each entry padded.
uint64 queued_bytes(const std::vector<new_prediction>& rows, uint32 model_len)
{
    uint64 total = 0;
    for (const auto& r : rows)
        total += padded(sizeof(entry_header) + model_len + VARSIZE(r.input) + VARSIZE(r.output));
    return total;
}

// This database's slot, claimed when free, with the lock held on return; -1 when all are taken.
int lock_own_slot()
{
    LWLockAcquire(lock, LW_EXCLUSIVE);
    if (may_hold_dropped_database()) {
        LWLockRelease(lock);
        free_slots_of_dropped_databases();
        LWLockAcquire(lock, LW_EXCLUSIVE);
    }
    return slot_of(MyDatabaseId);
}

// Whether the slot's worker failed to connect recently and none is on its way: the rows are
// then inserted synchronously. Called with the lock held.
bool backing_off(const slot& sl)
{
    return sl.failed_ms != 0 && sl.worker_pid == 0 && !worker_starting(sl) &&
           monotonic_ms() - sl.failed_ms < uint64(retry_after_failure_ms);
}

// For a slot whose queue is closed: starts a worker to reopen it unless one is on its way.
// Called with the lock held; releases it.
void reopen_closed(int s)
{
    // These rows are inserted synchronously; the calls after a successful reopen queue.
    bool lost;
    const bool reopen = claim_start(shared->slots[s], &lost);
    LWLockRelease(lock);
    if (lost)
        log_lost_start();
    if (reopen)
        reopen_queue(s);
}

// Appends one entry per row at the slot's head. Called with the lock held.
void write_entries(slot& sl, const byte_ring& ring, Oid relid, Oid catalog, text* model,
                   int32 version, const std::vector<new_prediction>& rows)
{
    const uint32 model_len = uint32(VARSIZE_ANY_EXHDR(model));
    for (const auto& r : rows) {
        entry_header h{};
        h.length = padded(sizeof h + model_len + VARSIZE(r.input) + VARSIZE(r.output));
        h.relid = relid;
        h.userid = GetUserId();
        h.catalog = catalog;
        h.version = version;
        h.model_len = model_len;
        h.input_len = VARSIZE(r.input);
        h.output_len = VARSIZE(r.output);
        h.input_hash = r.input_hash;
        uint64 pos = sl.head;
        ring.write(pos, &h, sizeof h);
        ring.write(pos + sizeof h, VARDATA_ANY(model), model_len);
        ring.write(pos + sizeof h + model_len, r.input, h.input_len);
        ring.write(pos + sizeof h + model_len + h.input_len, r.output, h.output_len);
        sl.head += h.length;
    }
}

// After no worker could be started for the rows just queued (total bytes, ending at end): takes
// them back unless a worker has attached or rows were queued after ours (then the next backend
// tries to start a worker again). Whether they were taken back.
bool take_back(int s, uint64 end, uint64 total)
{
    slot& sl = shared->slots[s];
    LWLockAcquire(lock, LW_EXCLUSIVE);
    sl.starting = false;
    bool taken_back = false;
    if (sl.worker_pid == 0 && sl.head == end && end - total >= sl.tail) {
        sl.head -= total;
        taken_back = true;
        if (sl.head == sl.tail && !sl.closed)
            free_slot(s);
    }
    LWLockRelease(lock);
    return taken_back;
}

} // namespace

bool enqueue(Oid relid, text* model, int32 version, const std::vector<new_prediction>& rows)
{
    if (shared == nullptr || rows.empty())
        return false;
    const Oid catalog = cache::extension_incarnation();
    const uint64 total = queued_bytes(rows, uint32(VARSIZE_ANY_EXHDR(model)));
    const int s = lock_own_slot();
    if (s >= 0 && backing_off(shared->slots[s])) {
        LWLockRelease(lock);
        return false;
    }
    if (s >= 0 && shared->slots[s].closed) {
        reopen_closed(s);
        return false;
    }
    if (s < 0 || !ring_of(s).fits(shared->slots[s].head, shared->slots[s].tail, total)) {
        LWLockRelease(lock);
        return false;
    }
    slot& sl = shared->slots[s];
    bool lost;
    const bool need_worker = claim_start(sl, &lost);
    const byte_ring ring = ring_of(s);
    const bool wake = ring.crosses_half(sl.head, sl.tail, total);
    Latch* const latch = sl.latch;
    write_entries(sl, ring, relid, catalog, model, version, rows);
    const uint64 end = sl.head;
    LWLockRelease(lock);
    if (lost)
        log_lost_start();
    // No worker slot: our rows are taken back when they can be.
    if (need_worker && !start_worker(MyDatabaseId) && take_back(s, end, total))
        return false;
    if (wake && latch != nullptr)
        SetLatch(latch);
    return true;
}

} // namespace ai_scale::predict
