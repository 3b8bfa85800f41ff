// What held up a lock the maintenance worker gave up on (lock_holders.cpp), for its log.
#pragma once

#include "pg/postgres.hpp"

namespace ai_scale::partition {

// For a detach of partition (named as regclass prints it) from parent that found a lock not
// free within lock_timeout_ms: the sessions holding (or queued ahead for) a lock conflicting
// with the ones the detach starts with, as ai_scale._lock_holders words them ("lock on ... held
// by pid N (transaction open 3.2 s)"), allocated in into; nullptr when that is not
// known (the extension dropped meanwhile, any error: it is swallowed). Takes no lock. Inside a
// transaction, not connected to SPI.
char* detach_lock_holders(Oid parent, const char* partition, bool finalize, int lock_timeout_ms,
                          MemoryContext into);

// The same for a statement on table alone (the DROP of a table the worker detached) that found
// its lock in mode (as pg_locks names modes: "AccessExclusiveLock") not free within
// lock_timeout_ms; nullptr also when no session holds a lock on table now.
char* table_lock_holders(const char* table, const char* mode, int lock_timeout_ms,
                         MemoryContext into);

} // namespace ai_scale::partition
