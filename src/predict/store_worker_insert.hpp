// The store worker's inserts (store_worker_insert.cpp): a batch of queued rows written in a
// transaction of its own as the role that made the predictions, tried again, written a row at a
// time or lost as its error says; a group of runs written in one transaction. C style: Postgres
// errors longjmp through this code.
#pragma once

#include "pg/postgres.hpp"

extern "C" {
#include "access/xact.h"
}

#include <csignal>

namespace ai_scale::predict::store_worker {

constexpr int batch_rows = 1000; // rows per INSERT the worker makes
// Runs (INSERTs) per transaction: each may lock partitions of its own (a store partitioned by
// model: 500 models interleaved held 504 locks at once), and a refused row has the others of its
// transaction inserted again.
constexpr int group_runs = 64;

// Set while an insert runs, and its commit: a SIGTERM then cancels it (see handle_sigterm).
extern volatile sig_atomic_t inserting;
// An insert ran out of stopping_lock_timeout_ms: the worker writes nothing more.
extern bool store_locked;

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
extern pass_losses losses;

// Logs the losses noted since the last call in one WARNING, and forgets them.
void report_losses();

// Before the commit of an insert begun after a SIGTERM: synchronous_commit = local, so that it
// does not wait for a synchronous standby, as a fast shutdown ends a client's wait; with none
// answering, each batch left waited for good. Set here, after the store's triggers (deferred
// ones too), which could set it back (set_config(..., true) in a trigger).
void no_standby_wait_to_stop(XactEvent event, void*);

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
void load_run(batch& b, const group& g, const run& r);

// Writes the group's runs in one transaction, each as its role (insert_as_owner). False when
// any failed, the transaction rolled back and its error dropped: the runs are then written a
// transaction each (insert_batch), which retries, splits and counts losses as for any batch
// (so a group with a row the store refuses has its other rows inserted twice, the first time
// rolled back).
bool try_insert_group(const group& g);

// Writes the batch, a row at a time when a row refused it (row_may_be_at_fault), and empties
// it. False when the store stayed locked after a SIGTERM: the batch keeps the rows not
// written, and *written says how many of its first rows were.
bool insert_batch(batch& b, MemoryContext cxt, int* written);

} // namespace ai_scale::predict::store_worker
