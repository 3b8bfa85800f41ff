// The store worker's passes over its queue (store_worker_drain.cpp): the queued rows copied out
// of shared memory, grouped by store, role and model, and handed to the inserts; those a
// locked store kept from being written put back in the queue. C style: Postgres errors longjmp
// through this code.
#pragma once

#include "pg/postgres.hpp"

namespace ai_scale::predict::store_worker {

// drain_pass, then one WARNING for the batches it lost. Returns the rows taken from the queue,
// written or lost; *lost, when given, gets the rows lost.
uint64 drain(MemoryContext cxt, uint64* lost = nullptr);

} // namespace ai_scale::predict::store_worker
