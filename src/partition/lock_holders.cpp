// The worker's side of ai_scale._lock_holders (install/20_partition_locks.sql): a detach or a
// drop it skips because a lock was not free in time is logged with what held the lock. Asked in
// a subtransaction of its own, so that nothing going wrong here fails the run: the log line then
// says what it said before. C style, as the worker: Postgres errors longjmp through it.
#include "partition/lock_holders.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/resowner.h"
}

namespace ai_scale::partition {

namespace {

// Runs query, a SELECT of ai_scale._lock_holders with nargs arguments, and returns its text in
// into; nullptr on any error, swallowed.
char* ask_lock_holders(const char* query, int nargs, Oid* argtypes, Datum* args, MemoryContext into)
{
    MemoryContext caller = CurrentMemoryContext;
    ResourceOwner owner = CurrentResourceOwner;
    char* volatile holders = nullptr;
    BeginInternalSubTransaction(nullptr);
    PG_TRY();
    {
        SPI_connect();
        int rc = SPI_execute_with_args(query, nargs, argtypes, args, nullptr, false, 1);
        if (rc == SPI_OK_SELECT && SPI_processed == 1) {
            char* text = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
            if (text != nullptr)
                holders = MemoryContextStrdup(into, text);
        }
        SPI_finish();
        ReleaseCurrentSubTransaction();
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(caller);
        FlushErrorState();
        RollbackAndReleaseCurrentSubTransaction();
        holders = nullptr;
    }
    PG_END_TRY();
    MemoryContextSwitchTo(caller);
    CurrentResourceOwner = owner;
    return holders;
}

} // namespace

char* detach_lock_holders(Oid parent, const char* partition, bool finalize, int lock_timeout_ms,
                          MemoryContext into)
{
    // The locks lock_for_detach (worker_detach.cpp) takes: on the parent, then on the partition.
    Oid argtypes[4] = {OIDOID, TEXTOID, TEXTOID, TEXTOID};
    Datum args[4] = {
        ObjectIdGetDatum(parent), CStringGetTextDatum(partition),
        CStringGetTextDatum(finalize ? "AccessExclusiveLock" : "ShareUpdateExclusiveLock"),
        CStringGetTextDatum(psprintf("%dms", lock_timeout_ms))};
    return ask_lock_holders("SELECT ai_scale._lock_holders(ARRAY[$1::pg_catalog.regclass, "
                            "pg_catalog.to_regclass($2)], "
                            "ARRAY['ShareUpdateExclusiveLock', $3], $4)",
                            4, argtypes, args, into);
}

char* table_lock_holders(const char* table, const char* mode, int lock_timeout_ms,
                         MemoryContext into)
{
    Oid argtypes[3] = {TEXTOID, TEXTOID, TEXTOID};
    Datum args[3] = {CStringGetTextDatum(table), CStringGetTextDatum(mode),
                     CStringGetTextDatum(psprintf("%dms", lock_timeout_ms))};
    // None found on the table (_lock_released_text) says nothing: the lock the statement waited
    // for may have been another's (one its event triggers take).
    return ask_lock_holders("SELECT pg_catalog.nullif(ai_scale._lock_holders("
                            "ARRAY[pg_catalog.to_regclass($1)], ARRAY[$2], $3), "
                            "ai_scale._lock_released_text())",
                            3, argtypes, args, into);
}

} // namespace ai_scale::partition
