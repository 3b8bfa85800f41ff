// The write-behind queue of ai_scale.store_mode = async: a ring per database in shared memory
// (one LWLock), filled by predict() and drained by that database's store worker, which inserts
// the rows in batches. A full queue, a worker that cannot start, or a server shutting down
// makes enqueue() refuse, and the caller inserts synchronously instead: nothing is dropped.
#pragma once

#include "pg/postgres.hpp"
#include "predict/store.hpp"

#include <vector>

namespace ai_scale::predict {

// Called from _PG_init when preloading.
void request_queue_memory();

// The pid of the store worker attached to database's queue (0 when none), for a command that
// needs the database to itself (database_commands.cpp) and signals that worker to stop: if it
// stops with rows left, it starts no next worker, which would connect to the database the
// command is dropping or renaming (and that the command's role may not signal); resume_queue
// starts one at the end of the command's transaction. A worker started and not yet attached is
// told to stop as it attaches, as if signalled then: it connected unseen, stayed its 10 s idle,
// and the command failed with "being accessed by other users" (TAP 299).
// dropping: the command is a DROP DATABASE, which the worker's log line then names.
pid_t store_worker_to_stop(Oid database, bool dropping);

// After a DROP DATABASE of database: frees its slot, discarding the rows its stopped worker left
// (the store stayed locked) with a LOG line. They stayed queued under the OID, and a database
// made later with that OID (CREATE DATABASE ... OID = n, or OIDs wrapping around) took them: its
// worker wrote them into its own store, or logged that the extension had been dropped.
void discard_queue_of_dropped_database(Oid database, const char* name);

// At the end of the transaction of a database command that stopped database's store worker
// (store_worker_to_stop), other than a DROP DATABASE that went ahead: the queue takes a
// successor again, and rows the stopped worker left get one now. Raises no error (it runs in
// the callbacks of a commit or an abort).
void resume_queue(Oid database);

// Whether a store worker is attached to database's queue or on its way there, for that command
// to wait until the one it stopped has left.
bool store_worker_present(Oid database);

// After a SIGTERM, how long the store worker waits for a lock on the store before it stops with
// its rows left queued (store_worker.cpp): as long as Postgres waits for a database's other
// sessions. At a shutdown the sessions holding locks are ending too; a prepared transaction, or
// a session left running after a pg_terminate_backend of the worker, would otherwise keep it
// (and the shutdown) waiting for good.
constexpr long stopping_lock_timeout_ms = 5000;

// For the store worker of a database stopping with rows it could not write (the store stayed
// locked after a SIGTERM): gives up its slot s and starts the next worker, which writes them
// once the store is free. They waited for the next async predict() to start one, and a clean
// shutdown before it discarded them without a word. At a shutdown the postmaster starts no
// workers: they are lost, as the worker's WARNING says. False when it started none (the worker
// was stopped for a database command, store_worker_to_stop, or none could be registered).
bool hand_over_queue(int s);

// Queues the rows for relid (all or none). False: the caller must insert them itself.
bool enqueue(Oid relid, text* model, int32 version, const std::vector<new_prediction>& rows);

} // namespace ai_scale::predict
