// The maintenance launcher. One process, connected to no database (it reads only the shared
// catalog pg_database), that every few seconds and on each reload compares
// ai_scale.maintenance_databases with what runs: it starts a maintenance worker (a dynamic
// background worker) in each listed database that exists, stops the workers of databases no
// longer listed, starts again a worker that exited (at most once per restart_interval_ms), and
// logs once that a listed database does not exist, starting its worker when it is created.
// With fewer free background-worker slots than listed databases, the databases take turns: a
// worker asked to (ask_for_a_turn) gives its slot up after a run, and its database's next turn
// comes a naptime after its last began.
// Written in C style on purpose: Postgres errors longjmp through this code (the one C++ object,
// the parsed list, is gone before any Postgres call).
#include "partition/launcher.hpp"
#include "guc.hpp"
#include "partition/database_list.hpp"
#include "partition/worker_registry.hpp"
#include "pg/bgworker.hpp"
#include "pg/postgres.hpp"
#include "pg/shmem.hpp"
#include "stats/shared_stats.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "postmaster/bgworker.h"
#include "postmaster/bgworker_internals.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

PGDLLEXPORT void ai_scale_maintenance_launcher_main(Datum arg);
}

#include <algorithm>
#include <cstring>
#include <unistd.h>

namespace {

// Counts launcher starts; each worker is given the count its launcher saw. And when the first
// launcher since the server's start (or its restart after a crash: shared memory is made again)
// started, 0 before (monotonic_ms): the crash hold counts from there.
struct launcher_shared {
    pg_atomic_uint32 generation;
    pg_atomic_uint64 first_start_ms;
};
launcher_shared* shared = nullptr;

void init_shared(void* segment, bool found)
{
    shared = static_cast<launcher_shared*>(segment);
    if (!found) {
        pg_atomic_init_u32(&shared->generation, 0);
        pg_atomic_init_u64(&shared->first_start_ms, 0);
    }
}

uint32 my_generation = 0;

void note_crash_restart();

} // namespace

namespace ai_scale::partition {

bool launcher_replaced(uint32_t generation)
{
    return shared != nullptr && pg_atomic_read_u32(&shared->generation) != generation;
}

// Whether RegisterBackgroundWorker kept the launcher (it only logs when no slot is left).
static bool launcher_registered(const BackgroundWorker& launcher)
{
    // By hand: the type checks in slist_foreach and slist_container are C only.
    for (const slist_node* node = BackgroundWorkerList.head.next; node != nullptr;
         node = node->next) {
        const auto* rw = reinterpret_cast<const RegisteredBgWorker*>(
            reinterpret_cast<const char*>(node) - offsetof(RegisteredBgWorker, rw_lnode));
        if (strcmp(rw->rw_worker.bgw_library_name, launcher.bgw_library_name) == 0 &&
            strcmp(rw->rw_worker.bgw_function_name, launcher.bgw_function_name) == 0)
            return true;
    }
    return false;
}

void register_maintenance_launcher()
{
    pg::request_shmem("ai_scale maintenance launcher", sizeof(launcher_shared), init_shared);
    pg::at_crash_restart(note_crash_restart);
    // Not under pg_upgrade (binary upgrade mode), in the old cluster or the new: there a run
    // fails at every naptime on the partitions it makes (pg_upgrade gives the OIDs of new
    // relations), and its drops, detaches and moves to the cold tablespace would change the old
    // cluster between pg_upgrade listing its relations and dumping their schema.
    if (IsBinaryUpgrade) {
        ereport(LOG, (errmsg("ai_scale maintenance launcher not started: the server runs in "
                             "binary upgrade mode (pg_upgrade)")));
        return;
    }
    // Not on a hot standby: the launcher starts when recovery ends (e.g. at promotion).
    BackgroundWorker worker =
        pg::ai_scale_worker("ai_scale_maintenance_launcher_main", "ai_scale maintenance launcher",
                            "ai_scale maintenance launcher", 10);
    RegisterBackgroundWorker(&worker);
    // With every max_worker_processes slot registered already (the logical replication
    // launcher, the libraries before ai_scale in shared_preload_libraries), Postgres logs "too
    // many background workers" without naming the worker and goes on: no table was maintained
    // and nothing said why.
    if (!launcher_registered(worker))
        ereport(WARNING,
                (errmsg("ai_scale maintenance launcher not registered: no background worker slot "
                        "is free"),
                 errdetail("max_worker_processes is %d, and workers registered before it take "
                           "every slot; tables are maintained only by run_maintenance() called "
                           "by hand.",
                           max_worker_processes),
                 errhint("Raise max_worker_processes; each database in "
                         "ai_scale.maintenance_databases needs one more slot.")));
}

} // namespace ai_scale::partition

namespace {

// How often the launcher looks again without being woken (a database may have been created).
constexpr long poll_ms = 5000;
// A worker that exited is started again no sooner than this after its previous start, so a
// worker that cannot connect (a role that does not exist) does not restart in a tight loop.
constexpr long restart_interval_ms = 10000;

// The restart back-off and the turn order are on the monotonic clock: with GetCurrentTimestamp, a
// worker that exited just before the wall clock went back an hour was not restarted for that
// hour (TAP 196).
using ai_scale::stats::monotonic_ms;

// The server's restarts after a crash in a row (each within an hour of the one before) and when
// the last was, counted in the postmaster (note_crash_restart) and read by each launcher it
// starts after (its copy of the postmaster's memory). From the second in a row, the workers are
// held back a while once the server is back: 10 s, twice that at each restart more, at most 10
// minutes. Started at once, a run that crashed the server (a table whose rescue the OOM killer
// ends each time, a crash in an index expression's C code) crashed it again a second after each
// restart, and every client of every database was thrown out about once a second until someone
// got a statement in between (24 restarts in 30 s). A first crash holds nothing back.
int crashes_in_a_row = 0;
uint64 last_crash_ms = 0;
constexpr long crash_streak_ms = 3600L * 1000L;
constexpr long crash_hold_max_ms = 600L * 1000L;
bool crash_hold_logged = false;

// A crash of a standby (its data directory holds standby.signal; the postmaster's working
// directory is the data directory) counts for nothing, and ends a count: no maintenance runs
// there, and counted, a standby's old crashes held the workers back at its promotion.
void note_crash_restart()
{
    if (access("standby.signal", F_OK) == 0) {
        crashes_in_a_row = 0;
        last_crash_ms = 0;
        return;
    }
    const uint64 now = monotonic_ms();
    const bool in_a_row = last_crash_ms != 0 && long(now - last_crash_ms) < crash_streak_ms;
    crashes_in_a_row = in_a_row ? crashes_in_a_row + 1 : 1;
    last_crash_ms = now;
}

// How much longer the workers are held back after the last crash restart; 0 when they are not.
// Counted from the first launcher's start since then, which waits for the crash recovery: from
// the restart, a recovery of 11 s took a hold of 10 s whole, and the run that crashed the
// server ran again at once.
long crash_hold_left_ms(uint64 now)
{
    if (crashes_in_a_row < 2)
        return 0;
    const long hold =
        std::min(restart_interval_ms << std::min(crashes_in_a_row - 2, 6), crash_hold_max_ms);
    const uint64 from = pg_atomic_read_u64(&shared->first_start_ms);
    return std::max(0L, hold - long(now - from));
}

struct database_slot {
    char name[NAMEDATALEN];
    BackgroundWorkerHandle* handle; // in TopMemoryContext; nullptr when none runs
    uint64 started_ms;              // its worker's last start, or exit (monotonic_ms); 0: never
    uint64 turn_from_ms;            // its worker's last start, which ran at once (monotonic_ms)
    bool turn_given; // its worker exited having given its slot up: due a naptime after
                     // turn_from_ms
    bool missing_logged;
    bool listed;
    bool starved;      // found no free background-worker slot and waits for one
    bool short_logged; // its "no slot free" is logged, until every listed database has a worker
    bool yield_asked;  // its worker was asked to give its slot up to a starved database
    Oid oid;           // the database's OID when last found by its name; InvalidOid: never
    char renamed_to[NAMEDATALEN]; // that database's name now, where another (else empty)
};

database_slot slots[ai_scale::partition::max_maintenance_databases];
int nslots = 0;

// The database waits for a free background-worker slot; logged once while slots are short.
void mark_starved(database_slot& slot)
{
    if (!slot.short_logged)
        ereport(LOG, (errmsg("ai_scale maintenance launcher could not start a worker for "
                             "database \"%s\": no background worker slot is free",
                             slot.name),
                      errhint("Raise max_worker_processes. Until then the listed databases "
                              "take turns: a worker gives its slot up after a run.")));
    slot.starved = true;
    slot.short_logged = true;
}

// Starts the database's worker; false when no background-worker slot is free.
bool start_worker(database_slot& slot)
{
    char name[BGW_MAXLEN];
    snprintf(name, sizeof name, "ai_scale maintenance worker for database \"%s\"", slot.name);
    // BGW_NEVER_RESTART: the launcher restarts it.
    BackgroundWorker worker = ai_scale::pg::ai_scale_worker(
        "ai_scale_maintenance_main", name, "ai_scale maintenance", BGW_NEVER_RESTART);
    strlcpy(worker.bgw_extra, slot.name, BGW_EXTRALEN);
    worker.bgw_main_arg = UInt32GetDatum(my_generation);
    worker.bgw_notify_pid = MyProcPid; // its exit sets our latch
    MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
    bool ok = RegisterDynamicBackgroundWorker(&worker, &slot.handle);
    MemoryContextSwitchTo(old);
    if (!ok) {
        slot.handle = nullptr;
        mark_starved(slot);
        return false;
    }
    slot.started_ms = monotonic_ms();
    slot.turn_from_ms = slot.started_ms;
    slot.starved = false;
    slot.yield_asked = false;
    slot.turn_given = false;
    return true;
}

bool worker_running(database_slot& slot)
{
    if (slot.handle == nullptr)
        return false;
    pid_t pid;
    if (GetBackgroundWorkerPid(slot.handle, &pid) != BGWH_STOPPED)
        return true;
    pfree(slot.handle);
    slot.handle = nullptr;
    slot.turn_given = slot.yield_asked;
    slot.yield_asked = false;
    // The back-off counts from the exit: a worker stopped for a DROP DATABASE is not started
    // again while the drop waits for the database's sessions to end.
    slot.started_ms = monotonic_ms();
    return false;
}

// With listed databases waiting for a slot, asks workers to give their slots up after a run:
// with fewer free slots than listed databases, they take turns, where before the ones left
// without a slot were never maintained. One worker asked per waiting database, a worker
// between runs first (one in a run may stay there long: a concurrent detach waits for the
// oldest transaction on its table), then the one that started longest ago; a worker asked in a
// run does not count, so a stuck one holds up no turn, and at most one such is asked at a time.
void ask_for_a_turn()
{
    int waiting = 0, asked_idle = 0, asked_busy = 0;
    database_slot* pick = nullptr;
    bool pick_idle = false;
    pid_t pick_pid = 0;
    for (int i = 0; i < nslots; i++) {
        database_slot& slot = slots[i];
        if (slot.handle == nullptr) {
            waiting += slot.starved ? 1 : 0;
            continue;
        }
        pid_t pid;
        if (GetBackgroundWorkerPid(slot.handle, &pid) != BGWH_STARTED)
            continue;
        const bool idle = !ai_scale::partition::worker_in_run(pid);
        if (slot.yield_asked) {
            (idle ? asked_idle : asked_busy)++;
            continue;
        }
        if (pick == nullptr || (idle && !pick_idle) ||
            (idle == pick_idle && slot.started_ms < pick->started_ms)) {
            pick = &slot;
            pick_idle = idle;
            pick_pid = pid;
        }
    }
    if (waiting <= asked_idle || pick == nullptr || (!pick_idle && asked_busy > 0))
        return;
    if (ai_scale::partition::request_exit_between_runs(
            pick_pid, ai_scale::partition::exit_request::give_slot) ==
        ai_scale::partition::exit_request_outcome::asked)
        pick->yield_asked = true;
}

// Calls f with each database name in ai_scale.maintenance_databases. (A list the setting's
// check hook refused cannot get here; it would list none.)
template <typename F> void for_each_listed(F f)
{
    try {
        for (const auto& name : ai_scale::partition::parse_database_list(
                 ai_scale::guc::maintenance_databases ? ai_scale::guc::maintenance_databases : "",
                 NAMEDATALEN))
            f(name.c_str());
    } catch (const std::exception&) {
    }
}

int slot_of(const char* name)
{
    for (int i = 0; i < nslots; i++)
        if (strcmp(slots[i].name, name) == 0)
            return i;
    return -1;
}

// Marks the slots of the listed databases.
void mark_listed()
{
    for (int i = 0; i < nslots; i++)
        slots[i].listed = false;
    for_each_listed([](const char* name) {
        if (int i = slot_of(name); i >= 0)
            slots[i].listed = true;
    });
}

// Adds slots for listed databases that have none. Called once the slots of databases no longer
// listed are gone, so the list's at most max_maintenance_databases names fit: adding them
// first, a reload that replaced the list with other names wrote past the array (over the
// launcher's generation, so that every worker it started after exited at once).
void add_listed()
{
    for_each_listed([](const char* name) {
        if (slot_of(name) >= 0 || nslots >= int(ai_scale::partition::max_maintenance_databases))
            return;
        memset(&slots[nslots], 0, sizeof slots[nslots]);
        strlcpy(slots[nslots].name, name, NAMEDATALEN);
        slots[nslots].listed = true;
        nslots++;
    });
}

// Which slots' databases exist and accept connections. A heap scan of pg_database, as the
// autovacuum launcher does: without a database, its index cannot be opened. Also which name
// the database a slot last found goes by now, where it was renamed (a launcher that said only
// that the listed name does not exist left the DBA to find out why).
void find_databases(bool* exists)
{
    for (int i = 0; i < nslots; i++) {
        exists[i] = false;
        slots[i].renamed_to[0] = '\0';
    }
    // A pg_cancel_backend is for the launcher's idle wait, which takes it and goes on (TAP
    // 042). Taken here, where a page read of the scan looks for interrupts, it was an ERROR,
    // which ends a background worker: the launcher exited, and the one the postmaster started
    // 10 s later replaced every maintenance worker. Held here, it is taken at the next wait.
    HOLD_CANCEL_INTERRUPTS();
    StartTransactionCommand();
    (void)GetTransactionSnapshot();
    Relation rel = table_open(DatabaseRelationId, AccessShareLock);
    TableScanDesc scan = table_beginscan_catalog(rel, 0, nullptr);
    HeapTuple tuple;
    while ((tuple = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
        auto* db = reinterpret_cast<Form_pg_database>(GETSTRUCT(tuple));
        if (!db->datallowconn || database_is_invalid_form(db))
            continue;
        for (int i = 0; i < nslots; i++) {
            if (strcmp(NameStr(db->datname), slots[i].name) == 0) {
                exists[i] = true;
                slots[i].oid = db->oid;
            } else if (OidIsValid(slots[i].oid) && db->oid == slots[i].oid) {
                strlcpy(slots[i].renamed_to, NameStr(db->datname), NAMEDATALEN);
            }
        }
    }
    table_endscan(scan);
    table_close(rel, AccessShareLock);
    CommitTransactionCommand();
    RESUME_CANCEL_INTERRUPTS();
}

// Databases no longer listed: stops their workers and forgets them. A worker is asked to exit
// between runs (worker.cpp), at once when it is between runs, else when its run ends, which it
// then does whatever the list says by then. Terminated, it logged a FATAL, and one in a run
// rolled the run back and left a concurrent detach it waited in pending. (The reload wakes the
// worker too, which then exits by itself before the run a reload starts.)
void stop_unlisted()
{
    for (int i = 0; i < nslots;) {
        if (slots[i].listed) {
            i++;
            continue;
        }
        if (worker_running(slots[i])) {
            using ai_scale::partition::exit_request_outcome;
            pid_t pid;
            const BgwHandleStatus status = GetBackgroundWorkerPid(slots[i].handle, &pid);
            const exit_request_outcome outcome =
                status == BGWH_STARTED ? ai_scale::partition::request_exit_between_runs(
                                             pid, ai_scale::partition::exit_request::unlisted)
                                       : exit_request_outcome::not_registered;
            if (outcome == exit_request_outcome::asked) {
                ereport(LOG,
                        (errmsg("ai_scale maintenance launcher asked the worker for database "
                                "\"%s\" to exit%s: no longer in ai_scale.maintenance_databases",
                                slots[i].name,
                                ai_scale::partition::worker_in_run(pid) ? " after its run" : "")));
            } else if (outcome == exit_request_outcome::not_registered && status != BGWH_STOPPED) {
                // Not connected yet: it has no run to lose. (One that has exited, having seen the
                // reload itself, is left to the postmaster.)
                TerminateBackgroundWorker(slots[i].handle);
                ereport(LOG, (errmsg("ai_scale maintenance launcher stopped the worker for "
                                     "database \"%s\": no longer in "
                                     "ai_scale.maintenance_databases",
                                     slots[i].name)));
            }
            pfree(slots[i].handle);
        }
        slots[i] = slots[--nslots];
    }
}

// The slots whose worker is due to start, into due (their count returned): those without a
// running worker whose database exists (a missing one is logged once) and whose last start is
// restart_interval_ms old, and, when it gave its slot up (databases taking turns), whose last
// turn began a naptime ago: a worker started for a turn runs at once, and every database was
// maintained every 10-15 s whatever the naptime (20 databases for 6 slots, a 10-minute naptime:
// 124 runs in 90 s). *sleep_ms is lowered to the wait for the next one that is not due.
int find_due(const bool* exists, database_slot** due, long* sleep_ms)
{
    const uint64 now = monotonic_ms();
    const long naptime_ms = long(ai_scale::guc::maintenance_naptime_s) * 1000L;
    int ndue = 0;
    // (No database listed that exists, nothing is held back, and nothing said: a server that
    // maintains none logged the hold after any two crashes.)
    bool any_database = false;
    for (int i = 0; i < nslots; i++)
        any_database |= exists[i];
    const long held_ms = any_database ? crash_hold_left_ms(now) : 0;
    if (held_ms > 0) {
        if (!crash_hold_logged)
            ereport(LOG,
                    (errmsg("ai_scale maintenance launcher holds the workers back for %ld s: the "
                            "server restarted after a crash %d times in a row",
                            (held_ms + 999) / 1000, crashes_in_a_row),
                     errhint("Should a maintenance run be what crashes it, the log above names "
                             "the process that ended (a maintenance worker, or the session "
                             "that called run_maintenance); ai_scale.maintenance_databases can "
                             "leave its database out meanwhile.")));
        crash_hold_logged = true;
        *sleep_ms = std::min(*sleep_ms, held_ms);
        return 0;
    }
    for (int i = 0; i < nslots; i++) {
        database_slot& slot = slots[i];
        if (worker_running(slot))
            continue;
        if (!exists[i]) {
            if (!slot.missing_logged)
                ereport(LOG,
                        (errmsg("ai_scale maintenance: database \"%s\" does not exist or does "
                                "not accept connections; its worker starts when it does",
                                slot.name),
                         slot.renamed_to[0] == '\0' ? 0
                         : slot_of(slot.renamed_to) >= 0
                             ? errdetail("The database of that name before (OID %u) is now named "
                                         "\"%s\", which ai_scale.maintenance_databases lists: "
                                         "its worker runs there.",
                                         slot.oid, slot.renamed_to)
                             : errdetail("The database of that name before (OID %u) is now named "
                                         "\"%s\": its worker starts there once "
                                         "ai_scale.maintenance_databases lists that name.",
                                         slot.oid, slot.renamed_to)));
            slot.missing_logged = true;
            slot.starved = false;
            continue;
        }
        slot.missing_logged = false;
        const long since_ms = long(now - slot.started_ms);
        if (slot.started_ms != 0 && since_ms < restart_interval_ms) {
            *sleep_ms = std::min(*sleep_ms, restart_interval_ms - since_ms);
            continue;
        }
        const long turn_ms = long(now - slot.turn_from_ms);
        if (slot.turn_given && turn_ms < naptime_ms) {
            *sleep_ms = std::min(*sleep_ms, naptime_ms - turn_ms);
            continue;
        }
        due[ndue++] = &slot;
    }
    return ndue;
}

// Starts the due workers, the database whose worker ran longest ago (or never) first: a slot
// freed by a worker that took its turn goes to the database that waited longest.
void start_due(database_slot** due, int ndue)
{
    std::sort(due, due + ndue, [](const database_slot* a, const database_slot* b) {
        return a->started_ms < b->started_ms;
    });
    for (int i = 0; i < ndue; i++)
        if (!start_worker(*due[i])) {
            // No slot is free for the ones after it either: they wait, logged once each.
            for (int j = i + 1; j < ndue; j++)
                mark_starved(*due[j]);
            break;
        }
}

// "No slot is free" is logged once per database while slots are short, not again at each of
// its turns (it was, once a turn); again once every listed database had a worker at once.
void rearm_short_logs(const bool* exists)
{
    bool all_served = true;
    for (int i = 0; i < nslots; i++)
        all_served = all_served && (!exists[i] || slots[i].handle != nullptr);
    if (all_served)
        for (int i = 0; i < nslots; i++)
            slots[i].short_logged = false;
}

// Brings the running workers in line with the setting; returns how long to sleep.
long reconcile()
{
    mark_listed();
    stop_unlisted();
    add_listed();
    bool exists[ai_scale::partition::max_maintenance_databases];
    find_databases(exists);
    long sleep_ms = poll_ms;
    database_slot* due[ai_scale::partition::max_maintenance_databases];
    const int ndue = find_due(exists, due, &sleep_ms);
    start_due(due, ndue);
    rearm_short_logs(exists);
    ask_for_a_turn();
    return sleep_ms;
}

} // namespace

void ai_scale_maintenance_launcher_main(Datum)
{
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    // die: exits with status 1, so a launcher terminated by hand is restarted; on shutdown the
    // postmaster stops the workers itself.
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);
    pgstat_report_appname("ai_scale maintenance launcher");
    // Its looks at pg_database take a transaction snapshot (find_databases), in READ COMMITTED
    // as the autovacuum launcher's. With the server's default_transaction_isolation
    // serializable, and default_transaction_read_only and default_transaction_deferrable on,
    // that snapshot waited (SafeSnapshot) for every serializable transaction writing at the
    // time to end: a long one held the launcher, and no worker started or came back meanwhile.
    SetConfigOption("default_transaction_isolation", "read committed", PGC_SUSET, PGC_S_SESSION);
    // The workers of a launcher before this one (terminated, say) see this when woken and exit
    // (after the run they may be in: until then a database may have two workers, which
    // maintenance's advisory lock keeps from working on the same table at once).
    my_generation = pg_atomic_add_fetch_u32(&shared->generation, 1);
    uint64 never = 0;
    (void)pg_atomic_compare_exchange_u64(&shared->first_start_ms, &never, monotonic_ms());
    ai_scale::partition::wake_all_workers();

    for (;;) {
        ai_scale::pg::check_for_interrupts_when_idle();
        if (ConfigReloadPending) {
            ConfigReloadPending = false;
            ProcessConfigFile(PGC_SIGHUP);
        }
        long sleep_ms = reconcile();
        // Its scans of pg_database, sent as a client backend's are when it goes idle (see the
        // maintenance worker's loop).
        (void)pgstat_report_stat(true);
        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, sleep_ms,
                        PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
    }
}
