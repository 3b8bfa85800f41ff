#include "scoring/catalog.hpp"

#include "cache/extension_incarnation.hpp"
#include "cache/key.hpp"
#include "guc.hpp"
#include "pg/guard.hpp"
#include "pg/pinned_settings.hpp"
#include "scoring/heap_trim.hpp"
#include "scoring/model_lru.hpp"
#include "stats/shared_stats.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "storage/bufmgr.h"
#include "storage/itemptr.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
}

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

namespace ai_scale::scoring {

loaded_model::loaded_model(std::string n, int32_t v, compiled_model m)
    : name(std::move(n)), model(std::move(m)),
      extractor(model.features, model.defaults, model.missing_is_nan)
{
    version = v;
    ref = gpu_offload::model_ref{};
    ref.name = name.c_str();
    ref.version = version;
    ref.fingerprint = model.fingerprint;
    ref.kind = model.kind;
    ref.n_features = int32_t(model.features.size());
    ref.n_outputs = model.n_outputs;
    if (model.kind == model_kind::linear || model.kind == model_kind::logistic)
        ref.linear = model.linear();
    if (model.kind == model_kind::mlp) {
        ref.mlp = model.mlp();
        ref.mlp_weights_len = int64_t(model.mlp_weights.size());
        ref.mlp_biases_len = int64_t(model.mlp_biases.size());
    }
    if (model.kind == model_kind::gbdt) {
        ref.gbdt = model.gbdt();
        ref.gbdt_nodes = int64_t(model.node_feature.size());
    }
}

namespace {

uint64_t generation = 1;
Oid models_relid = InvalidOid;
bool callback_registered = false;
// Compiled models, at most ai_scale.model_cache_size bytes of them (model_lru.hpp). Without a
// bound, a backend that scored many versions kept every one compiled for its life (200
// versions of a 200-tree model: 170 MB).
model_lru<model_ptr> cache;
uint64_t cache_generation = 0;
// Bumped whenever the cache may have dropped a model (a catalog change, an eviction): a
// pointer remembered in fn_extra is good only while it holds.
uint64_t epoch = 1;

void models_changed(Datum, Oid relid)
{
    if (relid == InvalidOid || relid == models_relid) {
        generation++;
        epoch++;
    }
}

// A catalog change leaves the cache as it is: each model is checked at its next use
// (row_still_shown), and only those whose rows changed are compiled again. Emptying it, as this
// did, made every backend compile again every model it used after any registration, of any
// model (200 gbdt models of 200 trees: 7 s in a backend that scored them). The pointers
// remembered in fn_extra look again, through lookup_model, which checks.
void follow_catalog()
{
    if (cache_generation != generation) {
        cache_generation = generation;
        epoch++;
    }
}

size_t limit_bytes()
{
    return size_t(guc::model_cache_kb) * 1024;
}

// What a compiled model holds: its arrays, and its extractor's (the names, the keys it may
// remember).
size_t footprint(const loaded_model& m)
{
    return sizeof(m) + m.name.capacity() + m.model.memory_bytes() + m.extractor.memory_bytes();
}

// The catalog row, copied into the caller's memory context. Runs under pg::call: no C++
// objects with destructors here.
struct model_row {
    bool found;
    bool name_exists;
    char* missing_hint; // when !name_exists: what to do (see ai_scale._unknown_model_hint)
    int32_t version;
    char* kind;
    char* features; // JSON array
    char* params;   // JSON text
    bool current;   // the latest committed catalog shows the same row (latest_catalog_shows)
    TransactionId xmin;
    CommandId cmin; // when xmin is the running transaction
    ItemPointerData ctid;
    TransactionId raw_xmin; // the system column: a frozen row keeps its writer's xid there
    CommandId raw_cmin;     // the system column: the writing command, as stored
};

// The row's xmin as a visibility check needs it: the system column gives the raw xid, which a
// frozen row keeps for ever, and which after 2^31 more transactions reads as one in the future;
// and the command of this transaction that wrote it. False when the row was not read from a
// heap (a table of another access method): its system columns, as read, are all there is then.
// Runs under pg::call.
bool row_writer(Oid relid, ItemPointer ctid, TransactionId* xmin, CommandId* cmin)
{
    bool found = false;
    Relation rel = table_open(relid, AccessShareLock);
    if (rel->rd_rel->relam == HEAP_TABLE_AM_OID) {
        HeapTupleData tuple;
        tuple.t_self = *ctid;
        Buffer buffer;
        if (heap_fetch(rel, SnapshotAny, &tuple, &buffer, false)) {
            LockBuffer(buffer, BUFFER_LOCK_SHARE);
            *xmin = HeapTupleHeaderGetXmin(tuple.t_data);
            *cmin = TransactionIdIsCurrentTransactionId(*xmin)
                        ? HeapTupleHeaderGetCmin(tuple.t_data)
                        : InvalidCommandId;
            LockBuffer(buffer, BUFFER_LOCK_UNLOCK);
            ReleaseBuffer(buffer);
            found = true;
        }
    }
    table_close(rel, AccessShareLock);
    return found;
}

// The statement that reads a model's row: by name and version, or the active one when the
// version ($2) is null; without its kind, features and params (nulls in their place) unless
// whole. Runs under pg::call, connected to SPI.
SPIPlanPtr prepare_row_read(bool whole)
{
    Oid types[2] = {TEXTOID, INT4OID};
    SPIPlanPtr plan = SPI_prepare(
        whole ? "SELECT model_version, kind, pg_catalog.array_to_json(features)::text, "
                "params::text, ctid, xmin, cmin FROM ai_scale.models WHERE model_name = $1 "
                "AND CASE WHEN $2 IS NULL THEN active ELSE model_version = $2 END"
              : "SELECT model_version, NULL::text, NULL::text, NULL::text, ctid, xmin, cmin "
                "FROM ai_scale.models WHERE model_name = $1 "
                "AND CASE WHEN $2 IS NULL THEN active ELSE model_version = $2 END",
        2, types);
    if (plan == nullptr)
        elog(ERROR, "preparing the read of ai_scale.models failed: %s",
             SPI_result_code_string(SPI_result));
    return plan;
}

// Whether the latest committed catalog shows the row at ctid, read again with plan. fetch_row
// reads the row with the statement's snapshot, which may be older than a change whose
// invalidation this backend has already processed (while locking the table for this very read,
// for instance): cached under the new generation, such a row would be served after the change,
// by every later statement, until the next one. It is cached only when the latest committed
// catalog shows the same row. A parallel query (its leader and its workers) may take no new
// snapshot (GetLatestSnapshot raises an error there): the row is then kept aside for the
// query's snapshot only, which a parallel query keeps to its end.
bool latest_catalog_shows(SPIPlanPtr plan, Datum* values, const char* nulls, ItemPointer ctid)
{
    if (IsInParallelMode())
        return false;
    int rc = SPI_execute_snapshot(plan, values, nulls, GetLatestSnapshot(), InvalidSnapshot, true,
                                  false, 1);
    bool isnull;
    return rc == SPI_OK_SELECT && SPI_processed == 1 &&
           ItemPointerEquals(ctid, reinterpret_cast<ItemPointer>(DatumGetPointer(SPI_getbinval(
                                       SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5, &isnull))));
}

// Fills out from the row plan found (SPI_tuptable), its texts in the caller's context. Runs
// under pg::call, connected to SPI.
void read_found_row(SPIPlanPtr plan, Datum* values, const char* nulls, MemoryContext caller,
                    model_row* out)
{
    HeapTuple tup = SPI_tuptable->vals[0];
    TupleDesc desc = SPI_tuptable->tupdesc;
    bool isnull;
    out->version = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
    ItemPointerData ctid =
        *reinterpret_cast<ItemPointer>(DatumGetPointer(SPI_getbinval(tup, desc, 5, &isnull)));
    out->ctid = ctid;
    out->raw_xmin = DatumGetTransactionId(SPI_getbinval(tup, desc, 6, &isnull));
    out->raw_cmin = DatumGetCommandId(SPI_getbinval(tup, desc, 7, &isnull));
    if (!row_writer(models_relid, &ctid, &out->xmin, &out->cmin)) {
        out->xmin = DatumGetTransactionId(SPI_getbinval(tup, desc, 6, &isnull));
        out->cmin = TransactionIdIsCurrentTransactionId(out->xmin)
                        ? DatumGetCommandId(SPI_getbinval(tup, desc, 7, &isnull))
                        : InvalidCommandId;
    }
    MemoryContext spi = MemoryContextSwitchTo(caller);
    out->kind = SPI_getvalue(tup, desc, 2);
    out->features = SPI_getvalue(tup, desc, 3);
    out->params = SPI_getvalue(tup, desc, 4);
    MemoryContextSwitchTo(spi);
    out->current = latest_catalog_shows(plan, values, nulls, &ctid);
}

// When no row matched: whether the name has other versions, and if not, the hint
// (ai_scale._unknown_model_hint) in the caller's context. Runs under pg::call, connected to SPI.
void read_missing_row(Datum* values, const char* nulls, MemoryContext caller, model_row* out)
{
    Oid types[1] = {TEXTOID};
    int rc = SPI_execute_with_args("SELECT 1 FROM ai_scale.models WHERE model_name = $1", 1, types,
                                   values, nulls, true, 1);
    out->name_exists = rc == SPI_OK_SELECT && SPI_processed > 0;
    if (out->name_exists)
        return;
    rc = SPI_execute_with_args("SELECT ai_scale._unknown_model_hint($1)", 1, types, values, nulls,
                               true, 1);
    if (rc == SPI_OK_SELECT && SPI_processed == 1) {
        MemoryContext spi = MemoryContextSwitchTo(caller);
        out->missing_hint = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
        MemoryContextSwitchTo(spi);
    }
}

void fetch_row(const char* name, int32_t version, model_row* out, bool whole)
{
    MemoryContext caller = CurrentMemoryContext;
    Oid nsp = get_namespace_oid("ai_scale", false);
    models_relid = get_relname_relid("models", nsp);
    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "SPI_connect failed");
    Datum values[2] = {CStringGetTextDatum(name), Int32GetDatum(version)};
    const char nulls[2] = {' ', version < 0 ? 'n' : ' '};
    SPIPlanPtr plan = prepare_row_read(whole);
    int rc = SPI_execute_plan(plan, values, nulls, true, 1);
    if (rc != SPI_OK_SELECT)
        elog(ERROR, "reading ai_scale.models failed: %s", SPI_result_code_string(rc));
    out->found = SPI_processed == 1;
    if (out->found)
        read_found_row(plan, values, nulls, caller, out);
    else
        read_missing_row(values, nulls, caller, out);
    SPI_finish();
}

// What an MVCC snapshot sees as committed: a copy of its lists of running transactions.
struct snapshot_view {
    TransactionId xmin = InvalidTransactionId;
    TransactionId xmax = InvalidTransactionId;
    std::vector<TransactionId> running; // xip, then subxip
    bool suboverflowed = false;

    // The subtransaction ids a snapshot lists, if it lists them: an overflowed one does not
    // (a copy then keeps subxcnt but no array), but for one taken during recovery, which lists
    // every running xid there, overflowed or not (its xip is empty: left out, two snapshots a
    // commit of an older transaction came between, xmin and xmax unmoved, read as one).
    static int32 listed_subxids(Snapshot s)
    {
        return (s->suboverflowed && !s->takenDuringRecovery) || s->subxip == nullptr ? 0
                                                                                     : s->subxcnt;
    }
    static snapshot_view of(Snapshot s)
    {
        snapshot_view v;
        v.xmin = s->xmin;
        v.xmax = s->xmax;
        v.running.assign(s->xip, s->xip + s->xcnt);
        v.running.insert(v.running.end(), s->subxip, s->subxip + listed_subxids(s));
        v.suboverflowed = s->suboverflowed;
        return v;
    }
    bool sees_as(Snapshot s) const
    {
        const int32 subxids = listed_subxids(s);
        return s->xmin == xmin && s->xmax == xmax && s->suboverflowed == suboverflowed &&
               size_t(s->xcnt) + size_t(subxids) == running.size() &&
               std::equal(s->xip, s->xip + s->xcnt, running.begin()) &&
               std::equal(s->subxip, s->subxip + subxids, running.begin() + s->xcnt);
    }
};

// Which snapshot is active, as far as the rows it shows go: its own lists, its command, and the
// transaction and subtransaction it is used in (whose own rows, rolled back, it no longer sees).
// Two snapshots equal in all of these show the same rows of the catalog.
// A transaction without an xid has written no row, so its command, its subtransaction and the
// transaction itself show nothing of their own: two snapshots, each taken by such a transaction,
// that see the same transactions as committed show the same rows. Any transaction that ended in
// between with an xid (one that wrote the catalog) moved xmax or left the running lists; not
// when the snapshot's subtransactions overflowed, whose subxids it does not list (but during
// recovery: listed_subxids), so such a snapshot is not taken for another.
struct snapshot_identity {
    snapshot_view view;
    CommandId curcid = InvalidCommandId;
    LocalTransactionId lxid = InvalidLocalTransactionId;
    SubTransactionId subxid = InvalidSubTransactionId;
    bool wrote = true; // the transaction had an xid

    bool is(Snapshot s) const
    {
        if (!wrote && !s->suboverflowed && !TransactionIdIsValid(GetTopTransactionIdIfAny()))
            return view.sees_as(s);
        return s->curcid == curcid && MyProc->lxid == lxid &&
               GetCurrentSubTransactionId() == subxid && view.sees_as(s);
    }
};
snapshot_identity last_snapshot;
uint64_t snapshot_number = 0;

// A number for the active snapshot, the same as long as it is the same snapshot (see
// snapshot_identity): a model's row, checked once for a number, is not checked again for it.
uint64_t active_snapshot_number(Snapshot s)
{
    if (snapshot_number == 0 || !last_snapshot.is(s)) {
        last_snapshot.view = snapshot_view::of(s);
        last_snapshot.curcid = s->curcid;
        last_snapshot.lxid = MyProc->lxid;
        last_snapshot.subxid = GetCurrentSubTransactionId();
        last_snapshot.wrote = TransactionIdIsValid(GetTopTransactionIdIfAny());
        snapshot_number++;
    }
    return snapshot_number;
}

// Whether snapshot s shows the heap row at (block, offset) of relid, written by raw_xmin in
// command raw_cmin (catalog_row, row_raw_cmin). A row
// whose place is gone (the table truncated by VACUUM, the place emptied or taken by another
// row) is not shown. True for a table of another access method, whose rows this cannot read.
//
// The table's length is asked of the kernel (an lseek, most of the check's time) only when the
// catalog changed since the row was last found current (checked_at, the generation then): to
// truncate the row's page, VACUUM must have removed the row, so the transaction that deleted it
// had ended, its invalidation sent before it let go of its lock on the table, which VACUUM's
// truncation waits for. This backend takes that invalidation in at every lookup, and when it
// locks the table here (unless it held a lock already, which the truncation would have waited
// for): with no change taken in since checked_at, the page is there. Runs under pg::call.
bool row_shown(Oid relid, BlockNumber block, OffsetNumber offset, TransactionId raw_xmin,
               CommandId raw_cmin, Snapshot s, uint64_t checked_at)
{
    Relation rel = try_table_open(relid, AccessShareLock);
    if (rel == nullptr)
        return false;
    bool shown = true;
    if (rel->rd_rel->relam == HEAP_TABLE_AM_OID) {
        shown = false;
        if (checked_at == generation || block < RelationGetNumberOfBlocks(rel)) {
            HeapTupleData tuple;
            ItemPointerSet(&tuple.t_self, block, offset);
            Buffer buffer;
            if (heap_fetch(rel, s, &tuple, &buffer, false)) {
                LockBuffer(buffer, BUFFER_LOCK_SHARE);
                shown = TransactionIdEquals(HeapTupleHeaderGetRawXmin(tuple.t_data), raw_xmin) &&
                        HeapTupleHeaderGetRawCommandId(tuple.t_data) == raw_cmin;
                LockBuffer(buffer, BUFFER_LOCK_UNLOCK);
                ReleaseBuffer(buffer);
            }
        }
    }
    table_close(rel, AccessShareLock);
    return shown;
}

} // namespace

bool catalog_row::written_by_this_transaction() const
{
    return TransactionIdIsCurrentTransactionId(xmin);
}

bool catalog_row::seen_by_active_snapshot() const
{
    if (!TransactionIdIsNormal(xmin) || !ActiveSnapshotSet())
        return true; // frozen: every snapshot sees it
    Snapshot s = GetActiveSnapshot();
    // Written before every transaction the snapshot saw running: the usual case, and never this
    // transaction (whose xid the snapshot's xmin does not pass).
    if (TransactionIdPrecedes(xmin, s->xmin))
        return true;
    if (TransactionIdIsCurrentTransactionId(xmin))
        return cmin < s->curcid;
    // May read pg_subtrans (a snapshot whose subtransactions overflowed), which can ERROR.
    return !pg::call([&] { return XidInMVCCSnapshot(xmin, s); });
}

bool catalog_row::shown_to_active_snapshot() const
{
    if (row_table == InvalidOid || !ActiveSnapshotSet())
        return true;
    Snapshot s = GetActiveSnapshot();
    if (s->snapshot_type != SNAPSHOT_MVCC)
        return true;
    const uint64_t number = active_snapshot_number(s);
    if (checked_snapshot == number)
        return true;
    // A place of an older row (pg_upgrade'd from before 9.4) that kept no writer of its own.
    if (!TransactionIdIsNormal(row_raw_xmin))
        return true;
    if (!pg::call([&] {
            return row_shown(row_table, row_block, row_offset, row_raw_xmin, row_raw_cmin, s,
                             checked_generation);
        }))
        return false;
    checked_snapshot = number;
    return true;
}

uint64_t model_cache_epoch()
{
    return epoch;
}

namespace {

// The rows lookup_row read alone (their models not compiled, or dropped from the cache), kept as
// the compiled models are, checked as they are; a few dozen bytes each, counted in entries.
model_lru<row_ptr> rows;
constexpr size_t max_rows = 4096;

// A model read with a snapshot older than the catalog, or in a parallel query (see fetch_row),
// is right for that snapshot only, so it is not cached. It is kept aside for as long as the
// active snapshot sees the same transactions as committed (the whole of a REPEATABLE READ
// transaction; in READ COMMITTED, until another transaction ends, and a parallel query to its
// end): a statement that began before a catalog change and scores a million rows then reads
// and compiles it once, not once per row.
//
// Every model kept aside for one snapshot, not only the last one: a parallel worker reads all
// its models this way, and one that kept a single model compiled both again at every row of
// `score('a', x) + score('b', x)` (50 s instead of 0.06 s for 50,000 rows of a 100-tree gbdt
// and a linear model). Bounded as the cache is, by ai_scale.model_cache_size.
struct snapshot_models {
    uint64_t generation = 0;
    snapshot_view view;
    model_lru<model_ptr> models;
    // The rows lookup_row read for this snapshot (max_rows of them at most).
    model_lru<row_ptr> rows;

    // Whether what is kept holds for the active snapshot.
    bool holds() const
    {
        return generation == scoring::generation && ActiveSnapshotSet() &&
               view.sees_as(GetActiveSnapshot());
    }
};
snapshot_models aside;

// Snapshots do not outlive their transaction: what was kept aside for them is freed at its end,
// not held (up to ai_scale.model_cache_size of it) until the backend next reads a model so.
void at_xact_end(XactEvent event, void*)
{
    if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT || event == XACT_EVENT_PREPARE) {
        aside.models.clear();
        aside.rows.clear();
    }
}

void register_callbacks_once()
{
    if (!callback_registered) {
        pg::call([] {
            CacheRegisterRelcacheCallback(models_changed, 0);
            RegisterXactCallback(at_xact_end, nullptr);
        });
        callback_registered = true;
    }
}

// Whether the latest committed catalog shows, as the row of name at version (< 0: the active
// one), the very row m was compiled from: the same table, place, writer and writing command. A
// row keeps its place until it is deleted or updated (an update writes a new row elsewhere), a
// row that takes a vacant place has another writer or, after a TRUNCATE or a rewrite (VACUUM
// FULL, CLUSTER), which keeps writers, another command: no two rows share all four. One index
// probe, where
// compiling reads and parses the whole document. False in a parallel query, which may take no
// new snapshot (latest_catalog_shows), and for a row whose writer was not stored (a table of
// another access method, a row frozen by a release before 9.4): the model is then read again.
// Runs under pg::call.
bool row_still_shown(const catalog_row& m, const char* name, int32_t version)
{
    if (IsInParallelMode() || !TransactionIdIsNormal(m.row_raw_xmin))
        return false;
    if (cache::extension_incarnation() != m.row_table)
        return false;
    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "SPI_connect failed");
    Oid types[2] = {TEXTOID, INT4OID};
    SPIPlanPtr plan =
        SPI_prepare("SELECT ctid, xmin, cmin FROM ai_scale.models WHERE model_name = $1 "
                    "AND CASE WHEN $2 IS NULL THEN active ELSE model_version = $2 END",
                    2, types);
    if (plan == nullptr)
        elog(ERROR, "preparing the check of ai_scale.models failed: %s",
             SPI_result_code_string(SPI_result));
    Datum values[2] = {CStringGetTextDatum(name), Int32GetDatum(version)};
    const char nulls[2] = {' ', version < 0 ? 'n' : ' '};
    // The table locked first (processing the invalidations that brings), then the snapshot.
    LockRelationOid(m.row_table, AccessShareLock);
    int rc = SPI_execute_snapshot(plan, values, nulls, GetLatestSnapshot(), InvalidSnapshot, true,
                                  false, 1);
    bool shown = false;
    if (rc == SPI_OK_SELECT && SPI_processed == 1) {
        HeapTuple tup = SPI_tuptable->vals[0];
        TupleDesc desc = SPI_tuptable->tupdesc;
        bool isnull;
        ItemPointer ctid =
            reinterpret_cast<ItemPointer>(DatumGetPointer(SPI_getbinval(tup, desc, 1, &isnull)));
        TransactionId xmin = DatumGetTransactionId(SPI_getbinval(tup, desc, 2, &isnull));
        CommandId cmin = DatumGetCommandId(SPI_getbinval(tup, desc, 3, &isnull));
        shown = ItemPointerGetBlockNumberNoCheck(ctid) == m.row_block &&
                ItemPointerGetOffsetNumberNoCheck(ctid) == m.row_offset &&
                TransactionIdEquals(xmin, m.row_raw_xmin) && cmin == m.row_raw_cmin;
    }
    SPI_finish();
    return shown;
}

// Whether the active snapshot may use row r of a cache under key: checks r against the latest
// catalog at its first use after a change (row_still_shown), then against the active snapshot
// (once per snapshot). A row the catalog no longer shows, or which the snapshot sees deleted or
// replaced (a change it sees committed before this backend took its invalidation), is dropped
// from the cache; a row newer than the snapshot (a cursor declared before the change, whose
// transaction has read the new version since) stays cached, and the snapshot reads its own.
template <typename Ptr>
bool usable_cached(model_lru<Ptr>& in, const Ptr& r, const std::string& name, int32_t version,
                   const std::string& key, uint64_t checked_at)
{
    bool shown = true;
    if (r->checked_generation != checked_at) {
        pg::pinned_settings pinned; // the scoring functions carry no SET search_path
        shown = pg::call([&] { return row_still_shown(*r, name.c_str(), version); });
        if (shown)
            r->checked_generation = checked_at;
    }
    if (!shown || (r->seen_by_active_snapshot() && !r->shown_to_active_snapshot())) {
        in.erase(key);
        epoch++; // a compiled model may be remembered in fn_extra
        return false;
    }
    return r->seen_by_active_snapshot();
}

// The compiled model under key that the active snapshot may use: cached, or kept aside for this
// snapshot; nullptr when there is none. checked_at: the catalog generation when the lookup
// began, which a model found still current is marked with.
model_ptr compiled_for_snapshot(const std::string& name, int32_t version, const std::string& key,
                                uint64_t checked_at, bool* cached)
{
    if (const model_ptr* hit = cache.find(key)) {
        const model_ptr found = *hit; // a copy: usable_cached may drop the cache's
        if (usable_cached(cache, found, name, version, key, checked_at)) {
            if (cached != nullptr)
                *cached = true;
            return found;
        }
    }
    if (aside.models.size() > 0 && aside.holds())
        if (const model_ptr* kept = aside.models.find(key)) {
            if (cached != nullptr)
                *cached = false;
            return *kept;
        }
    return nullptr;
}

// The row under key that the active snapshot may use, as compiled_for_snapshot finds a model,
// in the compiled models first, then among the rows read alone; nullptr when there is none.
row_ptr row_for_snapshot(const std::string& name, int32_t version, const std::string& key,
                         uint64_t checked_at)
{
    if (model_ptr m = compiled_for_snapshot(name, version, key, checked_at, nullptr))
        return m;
    if (const row_ptr* hit = rows.find(key)) {
        const row_ptr found = *hit;
        if (usable_cached(rows, found, name, version, key, checked_at))
            return found;
    }
    if (aside.rows.size() > 0 && aside.holds())
        if (const row_ptr* kept = aside.rows.find(key))
            return *kept;
    return nullptr;
}

[[noreturn]] void throw_not_found(const std::string& name, int32_t version, const model_row& row)
{
    if (!row.name_exists)
        throw pg::error(ERRCODE_UNDEFINED_OBJECT, "model \"" + name + "\" does not exist", "",
                        row.missing_hint != nullptr ? row.missing_hint : "");
    if (version < 0)
        throw pg::error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                        "model \"" + name + "\" has no active version", "",
                        "Choose one with ai_scale.set_active_version().");
    throw pg::error(ERRCODE_UNDEFINED_OBJECT,
                    "model \"" + name + "\" has no version " + std::to_string(version));
}

// Marks r as read from row.
void identify(catalog_row& r, const model_row& row)
{
    r.version = row.version;
    r.xmin = row.xmin;
    r.cmin = row.cmin;
    r.row_table = models_relid;
    r.row_block = ItemPointerGetBlockNumberNoCheck(&row.ctid);
    r.row_offset = ItemPointerGetOffsetNumberNoCheck(&row.ctid);
    r.row_raw_xmin = row.raw_xmin;
    r.row_raw_cmin = row.raw_cmin;
}

// The model of a catalog row; throws model_error or json::parse_error when the row holds none.
model_ptr compile_row(const std::string& name, const model_row& row)
{
    compiled_model m;
    {
        trim_after_document trim(strlen(row.params)); // after the parse tree is freed
        json::value features = json::parse(row.features);
        std::vector<std::string> names;
        for (size_t i = 0; i < features.items().size(); i++) {
            // Written there directly: a null (register_model refuses it, 22004), or an array
            // of more than one dimension, whose JSON has arrays for elements (2202E there).
            const json::value& f = features.items()[i];
            if (f.is_array())
                throw model_error("features must be a one-dimensional array");
            if (!f.is_string())
                throw model_error("feature name " + std::to_string(i + 1) + " is null");
            names.push_back(f.str());
        }
        m = compile_model(parse_kind(row.kind), names, json::parse(row.params));
    }
    stats::add(stats::counter::models_compiled);
    auto made = std::make_shared<loaded_model>(name, row.version, std::move(m));
    identify(*made, row);
    return made;
}

// A model read for a snapshot older than the catalog: right for this snapshot, not for later
// ones.
template <typename Ptr>
void keep_aside(model_lru<Ptr>& in, const std::string& key, const Ptr& loaded, size_t bytes,
                size_t limit)
{
    if (ActiveSnapshotSet()) {
        if (!aside.holds()) {
            aside.models.clear();
            aside.rows.clear();
            aside.generation = generation;
            aside.view = snapshot_view::of(GetActiveSnapshot());
        }
        in.insert(key, loaded, bytes, limit);
    }
}

// Starts a lookup: refuses an empty name, takes in the catalog changes committed, and returns
// the catalog generation.
uint64_t begin_lookup(const std::string& name)
{
    // As cache_get and register_model say it: score('') and predict('') answered 42704
    // (model "" does not exist) where cache_get('') and register_model('') answered 22023.
    cache::check_model_name(name);
    register_callbacks_once();
    // A statement that locks no relation processes no invalidations: inside a transaction
    // block, one that only scores would go on using a version another session has since
    // replaced, at every statement to the end of the block. A row read for an older snapshot
    // than the change is not cached (fetch_row), so taking the change mid-statement is safe.
    pg::call([] { AcceptInvalidationMessages(); });
    follow_catalog();
    return generation;
}

// Caches a model read from the current catalog, marked as checked at checked_at (the generation
// when the lookup began: a change whose invalidation came while the catalog was read has it
// checked again at its next use); returns the cached one.
model_ptr keep_in_cache(const std::string& key, model_ptr loaded, uint64_t checked_at)
{
    follow_catalog();
    loaded->checked_generation = checked_at;
    // Never replaces an entry (a pointer to it may be remembered in fn_extra): one that
    // appeared while the catalog was read is as current as this one.
    const size_t bytes = footprint(*loaded);
    size_t dropped = 0;
    model_ptr kept = cache.insert(key, std::move(loaded), bytes, limit_bytes(), &dropped);
    if (dropped > 0)
        epoch++;
    return kept;
}

} // namespace

model_ptr lookup_model(const std::string& name, int32_t version, bool* cached)
{
    const uint64_t checked_at = begin_lookup(name);
    std::string key = name + '\0' + std::to_string(version);
    if (model_ptr found = compiled_for_snapshot(name, version, key, checked_at, cached))
        return found;

    model_row row{};
    pg::pinned_settings pinned; // the scoring functions carry no SET search_path clause
    pg::call([&] { fetch_row(name.c_str(), version, &row, true); });
    if (!row.found)
        throw_not_found(name, version, row);
    try {
        model_ptr loaded = compile_row(name, row);
        if (cached != nullptr)
            *cached = row.current;
        if (!row.current) {
            keep_aside(aside.models, key, loaded, footprint(*loaded), limit_bytes());
            return loaded;
        }
        return keep_in_cache(key, std::move(loaded), checked_at);
    } catch (const model_error& e) {
        throw pg::error(ERRCODE_DATA_CORRUPTED,
                        "stored model \"" + name + "\" version " + std::to_string(row.version) +
                            " is invalid: " + e.what(),
                        e.detail);
    } catch (const json::parse_error& e) {
        throw pg::error(ERRCODE_DATA_CORRUPTED,
                        "stored model \"" + name + "\" is unreadable: " + e.what());
    }
}

row_ptr lookup_row(const std::string& name, int32_t version)
{
    const uint64_t checked_at = begin_lookup(name);
    std::string key = name + '\0' + std::to_string(version);
    if (row_ptr found = row_for_snapshot(name, version, key, checked_at))
        return found;

    model_row row{};
    pg::pinned_settings pinned; // the scoring functions carry no SET search_path clause
    pg::call([&] { fetch_row(name.c_str(), version, &row, false); });
    if (!row.found)
        throw_not_found(name, version, row);
    auto read = std::make_shared<catalog_row>();
    identify(*read, row);
    row_ptr kept = read;
    if (!row.current) {
        keep_aside(aside.rows, key, kept, 1, max_rows);
        return kept;
    }
    follow_catalog();
    read->checked_generation = checked_at;
    // As keep_in_cache: an entry that appeared while the catalog was read is as current.
    return rows.insert(key, std::move(kept), 1, max_rows);
}

} // namespace ai_scale::scoring
