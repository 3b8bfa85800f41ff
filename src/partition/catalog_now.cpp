// The catalog as it is now, not as the calling statement's or transaction's snapshot shows it,
// for the PL/pgSQL of maintenance: a table's default partition and pending detaches, a
// relation's pg_class row, the word DROP takes for it, whether its detach would run its owner's
// code, the foreign keys that reference it, and the publications, rules, triggers and columns a
// move of rows out of a default partition meets.
#include "partition/foreign_keys.hpp"
#include "partition/owner_code.hpp"
#include "partition/partitions_reader.hpp"
#include "partition/table_word.hpp"
#include "pg/guard.hpp"
#include "pg/postgres.hpp"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "catalog/pg_tablespace.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "partitioning/partdesc.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
}

using namespace ai_scale;
namespace part = ai_scale::partition;
using part::partitions_reader;

// _default_partition(parent regclass) -> the default partition of parent, or NULL when it has
// none (or does not exist). Read from the catalog as it is now, not under the transaction's
// snapshot: in REPEATABLE READ, a default another session had detached since the snapshot was
// still read as the default there, and rescue_default moved the rows of the detached table into
// the table. A DROP or DETACH of the default under way is waited for, as a query of it would,
// and the catalog read again after it; the lock is not kept: kept, it waited on the table's
// maintenance lock while a rescue holding that lock waited for it to attach its partitions
// (which locks the default fully), until one of them gave up (TAP 014).
AI_SCALE_FUNCTION(ai_scale_partition_default_partition)
{
    const Oid parent = PG_GETARG_OID(0);
    Oid dflt = pg::call([&] {
        for (;;) {
            Oid found = get_default_partition_oid(parent);
            if (!OidIsValid(found))
                return InvalidOid;
            // A lock this transaction did not hold yet waits for the DDL under way and then
            // reads the invalidations it sent. Released at once (a mode held before stays).
            LockRelationOid(found, AccessShareLock);
            bool still = get_default_partition_oid(parent) == found;
            UnlockRelationOid(found, AccessShareLock);
            if (still)
                return found;
        }
    });
    if (!OidIsValid(dflt))
        PG_RETURN_NULL();
    PG_RETURN_OID(dflt);
}

// _detach_pending(parent regclass) -> whether a partition of parent is pending detach (an
// interrupted DETACH ... CONCURRENTLY): the relcache's partition descriptors with and without
// such partitions differ in size, so the answer costs no catalog scan.
AI_SCALE_FUNCTION(ai_scale_partition_detach_pending)
{
    const Oid parent = PG_GETARG_OID(0);
    bool pending = pg::call([&] {
        // As in put_bounds: a table that does not exist (any role may call this) is 42P01, not
        // the internal error (XX000) table_open raises.
        partitions_reader reader(parent);
        Relation rel = reader.rel();
        if (rel == nullptr)
            ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                            errmsg("relation with OID %u does not exist", parent)));
        bool differ = rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE &&
                      RelationGetPartitionDesc(rel, false)->nparts !=
                          RelationGetPartitionDesc(rel, true)->nparts;
        reader.close();
        return differ;
    });
    PG_RETURN_BOOL(pending);
}

// _pending_detach_now(parent regclass, child regclass) -> whether child is a partition of
// parent pending detach in pg_inherits as it is now, not as the transaction's snapshot shows
// it: in REPEATABLE READ, that snapshot misses a DETACH ... CONCURRENTLY begun, or a FINALIZE
// committed, since it was taken. (A catalog scan without a snapshot of its own reads through a
// fresh catalog snapshot; pg_inherits has no syscache to keep an older one.)
AI_SCALE_FUNCTION(ai_scale_partition_pending_detach_now)
{
    const Oid parent = PG_GETARG_OID(0);
    const Oid child = PG_GETARG_OID(1);
    bool pending = pg::call([&] {
        Relation inherits = table_open(InheritsRelationId, AccessShareLock);
        ScanKeyData key;
        ScanKeyInit(&key, Anum_pg_inherits_inhrelid, BTEqualStrategyNumber, F_OIDEQ,
                    ObjectIdGetDatum(child));
        SysScanDesc scan =
            systable_beginscan(inherits, InheritsRelidSeqnoIndexId, true, nullptr, 1, &key);
        bool found = false;
        for (HeapTuple tuple; HeapTupleIsValid(tuple = systable_getnext(scan));) {
            const auto* row = reinterpret_cast<Form_pg_inherits>(GETSTRUCT(tuple));
            found = found || (row->inhparent == parent && row->inhdetachpending);
        }
        systable_endscan(scan);
        table_close(inherits, AccessShareLock);
        return found;
    });
    PG_RETURN_BOOL(pending);
}

namespace {

// The index of rel's pg_index rows marked as its replica identity, read as the catalog is now
// (pg_index under a REPEATABLE READ snapshot showed the one before an ALTER TABLE ... REPLICA
// IDENTITY USING INDEX committed since); InvalidOid where none is. Called within pg::call.
Oid replica_index_now(Oid rel)
{
    Oid found = InvalidOid;
    Relation indexes = table_open(IndexRelationId, AccessShareLock);
    ScanKeyData key;
    ScanKeyInit(&key, Anum_pg_index_indrelid, BTEqualStrategyNumber, F_OIDEQ,
                ObjectIdGetDatum(rel));
    SysScanDesc scan = systable_beginscan(indexes, IndexIndrelidIndexId, true, nullptr, 1, &key);
    HeapTuple tuple;
    while (!OidIsValid(found) && HeapTupleIsValid(tuple = systable_getnext(scan))) {
        const auto* index = reinterpret_cast<Form_pg_index>(GETSTRUCT(tuple));
        if (index->indisreplident)
            found = index->indexrelid;
    }
    systable_endscan(scan);
    table_close(indexes, AccessShareLock);
    return found;
}

} // namespace

// _pg_class_now(rel regclass, OUT relkind "char", OUT reltuples real, OUT reltablespace oid,
// OUT relowner oid, OUT relreplident "char", OUT relacl aclitem[], OUT spcname name,
// OUT replident_index oid) -> those columns of rel's pg_class row from the syscache, as it is
// now (NULL when rel is gone), with its tablespace's name (NULL for the database's) and its
// replica identity index (NULL unless USING INDEX names one), as they are now too:
// partitions() shows them beside the bounds _bounds reads from the relcache. Joined with
// pg_class under the statement's snapshot (taken before the call waited for the table's lock,
// in any isolation level), a partition made or attached by the DDL it waited for had bounds but
// no row, and was left out. A partition made is given its parent's tablespace, replica identity
// and grants as they are now: read under a REPEATABLE READ snapshot, a REVOKE committed since
// was granted again, a tablespace renamed since was not found (42704), and an identity moved
// to another index since was given to the partition on the index before.
AI_SCALE_FUNCTION(ai_scale_partition_pg_class_now)
{
    const Oid rel = PG_GETARG_OID(0);
    TupleDesc tupdesc;
    if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
        throw pg::error(ERRCODE_FEATURE_NOT_SUPPORTED,
                        "_pg_class_now must be called in a context that accepts a record");
    bool found = false;
    Datum row = pg::call([&] {
        HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(rel));
        if (!HeapTupleIsValid(tuple))
            return Datum(0);
        found = true;
        const auto* form = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
        bool acl_null = false;
        const Datum acl = SysCacheGetAttr(RELOID, tuple, Anum_pg_class_relacl, &acl_null);
        // (From the syscache: get_tablespace_name scans pg_tablespace, and partitions() asks
        // this of every partition.)
        NameData spc_name;
        bool spc_found = false;
        if (OidIsValid(form->reltablespace)) {
            HeapTuple spc = SearchSysCache1(TABLESPACEOID, ObjectIdGetDatum(form->reltablespace));
            if (HeapTupleIsValid(spc)) {
                spc_name = reinterpret_cast<Form_pg_tablespace>(GETSTRUCT(spc))->spcname;
                spc_found = true;
                ReleaseSysCache(spc);
            }
        }
        const Oid identity_index =
            form->relreplident == REPLICA_IDENTITY_INDEX ? replica_index_now(rel) : InvalidOid;
        Datum values[8] = {CharGetDatum(form->relkind),
                           Float4GetDatum(form->reltuples),
                           ObjectIdGetDatum(form->reltablespace),
                           ObjectIdGetDatum(form->relowner),
                           CharGetDatum(form->relreplident),
                           acl,
                           NameGetDatum(&spc_name),
                           ObjectIdGetDatum(identity_index)};
        bool nulls[8] = {false, false,    false,      false,
                         false, acl_null, !spc_found, !OidIsValid(identity_index)};
        // (Formed before the release: the acl points into the cached row.)
        HeapTuple row = heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls);
        ReleaseSysCache(tuple);
        return HeapTupleGetDatum(row);
    });
    if (!found)
        PG_RETURN_NULL();
    PG_RETURN_DATUM(row);
}

// _table_word(rel regclass) -> the word DROP and COMMENT ON take for rel (table_word.hpp); NULL
// when rel does not exist.
AI_SCALE_FUNCTION(ai_scale_partition_table_word)
{
    const Oid rel = PG_GETARG_OID(0);
    const char* word = pg::call([&] { return part::table_word(rel); });
    if (word == nullptr)
        PG_RETURN_NULL();
    PG_RETURN_TEXT_P(pg::call([&] { return cstring_to_text(word); }));
}

// _detach_runs_owner_code(rel regclass) -> whether the concurrent detach of the partition rel
// would run code of its owner's (owner_code.hpp): the run then detaches or drops it itself, as
// the owner, rather than leave it to the worker. False when rel does not exist.
AI_SCALE_FUNCTION(ai_scale_partition_detach_runs_owner_code)
{
    const Oid rel = PG_GETARG_OID(0);
    PG_RETURN_BOOL(pg::call([&] { return part::detach_runs_owner_code(rel); }) !=
                   part::owner_code_in_detach::none);
}

// _referencing_foreign_key(rel regclass) -> the oldest foreign key constraint that references
// rel (foreign_keys.hpp), NULL when none does.
AI_SCALE_FUNCTION(ai_scale_partition_referencing_foreign_key)
{
    const Oid rel = PG_GETARG_OID(0);
    const Oid key = pg::call([&] { return part::first_referencing_foreign_key(rel); });
    if (!OidIsValid(key))
        PG_RETURN_NULL();
    PG_RETURN_OID(key);
}

namespace {

// query (of $1 parent and $2 dflt, one row of one column) run with the latest snapshot, not the
// statement's or the transaction's; read-only. What read makes of its value (isnull, datum),
// before SPI_finish frees SPI's memory.
template <typename Read>
auto with_latest_snapshot(const char* query, const char* what, Oid parent, Oid dflt, Read read)
{
    return pg::call([&] {
        SPI_connect();
        Oid types[2] = {REGCLASSOID, REGCLASSOID};
        Datum values[2] = {ObjectIdGetDatum(parent), ObjectIdGetDatum(dflt)};
        SPIPlanPtr plan = SPI_prepare(query, 2, types);
        if (plan == nullptr)
            elog(ERROR, "ai_scale: cannot prepare the read of %s: %s", what,
                 SPI_result_code_string(SPI_result));
        const int rc = SPI_execute_snapshot(plan, values, nullptr, GetLatestSnapshot(),
                                            InvalidSnapshot, true, false, 1);
        if (rc != SPI_OK_SELECT || SPI_processed != 1)
            elog(ERROR, "ai_scale: reading %s failed: %s", what, SPI_result_code_string(rc));
        bool isnull = false;
        const Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
        auto result = read(isnull, d);
        SPI_finish();
        return result;
    });
}

} // namespace

// _path_through_parent_now(parent regclass, dflt regclass) -> boolean: _path_through_parent
// asked with the latest snapshot, not the statement's or the transaction's: the publications as
// logical decoding applies them to the rows a move writes now (its refusal, 0A000, raised as
// there). Read-only.
AI_SCALE_FUNCTION(ai_scale_partition_path_through_parent_now)
{
    const bool through = with_latest_snapshot(
        "SELECT ai_scale._path_through_parent($1, $2)", "the publications", PG_GETARG_OID(0),
        PG_GETARG_OID(1), [](bool isnull, Datum d) { return !isnull && DatumGetBool(d); });
    PG_RETURN_BOOL(through);
}

// _move_catalog_now(parent regclass, dflt regclass) -> text: _move_catalog asked with the
// latest snapshot: the rules, triggers and columns as the rewriter and the executor apply them
// to a move's statements once its locks are taken. Read-only.
AI_SCALE_FUNCTION(ai_scale_partition_move_catalog_now)
{
    // Copied out of SPI's memory, which SPI_finish frees, into the caller's; NULL stays NULL.
    const Datum shape = with_latest_snapshot(
        "SELECT ai_scale._move_catalog($1, $2)", "the rules, triggers and columns",
        PG_GETARG_OID(0), PG_GETARG_OID(1), [](bool isnull, Datum d) {
            return isnull ? PointerGetDatum(nullptr) : SPI_datumTransfer(d, false, -1);
        });
    if (DatumGetPointer(shape) == nullptr)
        PG_RETURN_NULL();
    PG_RETURN_DATUM(shape);
}
