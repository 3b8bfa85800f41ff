// The concurrent detaches a maintenance run defers (worker_detach.cpp): each in transactions
// of its own, after every managed table's run, and the drop of a detached table retention chose
// to drop. C style, as the worker: Postgres errors longjmp through this code.
#pragma once

#include "pg/postgres.hpp"

namespace ai_scale::partition::worker {

// The partitions a run deferred: "parent", "partition", "drop" or "detach". The detaches come
// after every table's run, which can be hours later (one waits for an old transaction): the
// tables are followed by OID, and their names (as regclass prints them) read again before each
// statement (current_names), since a DBA may rename them, or their schemas, meanwhile.
struct pending_detach {
    Oid parent_oid;
    Oid partition_oid;
    char* parent;
    char* partition;
    bool drop;
    bool finalize;   // a detach interrupted earlier: DETACH ... FINALIZE completes it
    char* retention; // the table's retention_mode and retention when the run chose it
};

// ALTER TABLE parent DETACH PARTITION partition CONCURRENTLY, run as a top-level statement (it
// commits and starts transactions itself), then DROP TABLE (DROP FOREIGN TABLE) of the detached
// table if asked.
// Skipped when the partition is gone (still_a_partition), and one not yet begun (not a
// FINALIZE) left when still_wanted says so. Returns locked_out when the detach was not done for
// want of its locks (the partition stays as it was: pending detach, for a FINALIZE), and
// parent_locked_out when the lock not free was the parent's, which every detach of the table
// takes first.
enum class detach_outcome { finished, locked_out, parent_locked_out };
detach_outcome detach_concurrently(pending_detach& p);

} // namespace ai_scale::partition::worker
