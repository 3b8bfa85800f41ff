// The per-backend cache of compiled models, filled from ai_scale.models on first use, bounded
// by ai_scale.model_cache_size (least recently used first out). When that table changes (a
// trigger on it sends a relcache invalidation, which reaches every backend at commit and this
// one at its next command), each compiled model is checked at its next use: kept while the
// catalog shows the very row it was compiled from, compiled again otherwise. A statement's
// snapshot may see a change before its invalidation arrives: each model is also checked, once per
// snapshot, to be the row that snapshot shows.
#pragma once

#include "scoring/extract.hpp"
#include "scoring/gpu_offload.hpp"
#include "scoring/model.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace ai_scale::scoring {

// The catalog row a model's version was read from: all predict() needs to look its answers up in
// the caches, and what tells the row from any other after a catalog change.
struct catalog_row {
    int32_t version = 0;
    // The transaction that wrote the catalog row (registered or last changed this version),
    // FrozenTransactionId once the row is frozen, and, when it is the running transaction, the
    // command that wrote it.
    uint32_t xmin = 0;          // a TransactionId; 0 is InvalidTransactionId
    uint32_t cmin = 0xFFFFFFFF; // a CommandId; InvalidCommandId unless xmin is running
    // The row itself, to tell it from any other after a catalog change: the table, the row's
    // place in it, and the transaction and command that wrote it as stored (a frozen row keeps
    // the xid; not FrozenTransactionId, as xmin reads then, which two rows in one place can
    // share). The command tells apart two rows one transaction wrote that came to the same
    // place: the second after a TRUNCATE, or moved there by VACUUM FULL or CLUSTER, which keep
    // the xid and the command of the rows they move.
    uint32_t row_table = 0; // an Oid
    uint32_t row_block = 0;
    uint16_t row_offset = 0;
    uint32_t row_raw_xmin = 0;
    uint32_t row_raw_cmin = 0; // a CommandId as stored (the system column cmin)
    // The catalog generation (catalog.cpp) at which the latest catalog last showed that row.
    mutable uint64_t checked_generation = 0;
    // The snapshot (catalog.cpp, snapshot_number) that last showed the row.
    mutable uint64_t checked_snapshot = 0;
    // On a hot standby, predict() has synced this version's cache generations from Redis since
    // the row was read (predict_sql.cpp, sync_new_version).
    mutable bool generations_synced = false;

    // Whether that transaction (or one of its subtransactions) is the running one: the
    // version may yet be rolled back, and its number given again to another model.
    bool written_by_this_transaction() const;
    // Whether the active snapshot sees the transaction that wrote the row. The cache holds the
    // rows the latest snapshot shows; an older snapshot still in use (a cursor's, an imported
    // one) may show another row, or none, for the same name and version.
    bool seen_by_active_snapshot() const;
    // Whether the active snapshot shows the row itself: written as it sees, and not deleted or
    // replaced since. A snapshot can see a change committed whose invalidation this backend has
    // not taken yet (a transaction sends its invalidations a moment after it becomes visible).
    // Checked once per snapshot (a read of the row's heap page), not at every call.
    bool shown_to_active_snapshot() const;
    bool usable_by_active_snapshot() const
    {
        return seen_by_active_snapshot() && shown_to_active_snapshot();
    }
};

using row_ptr = std::shared_ptr<const catalog_row>;

struct loaded_model : catalog_row, std::enable_shared_from_this<loaded_model> {
    std::string name;
    compiled_model model;
    feature_extractor extractor;
    gpu_offload::model_ref ref;

    loaded_model(std::string name, int32_t version, compiled_model m);
};

// A compiled model, shared by the cache and whoever scores with it: a caller keeps its model
// alive while it runs, even when code it calls (an input expression, a trigger) changes the
// catalog and the cache drops the model.
using model_ptr = std::shared_ptr<const loaded_model>;

// Changes whenever the cache may have dropped a model: at every invalidation of
// ai_scale.models, and when keeping a model evicted others (ai_scale.model_cache_size).
uint64_t model_cache_epoch();

// The model `name` at `version` (< 0: its active version). Raises 42704 when there is none.
// *cached (when given) tells whether the model stays in the cache: one read with a snapshot
// older than the catalog is not kept, and must not be remembered past the call.
model_ptr lookup_model(const std::string& name, int32_t version, bool* cached = nullptr);

// The catalog row of `name` at `version` (< 0: its active version), without compiling it: from
// a compiled model when the cache has one, else read alone (one index probe) and kept apart
// from the compiled models, which ai_scale.model_cache_size does not bound. Raises as
// lookup_model does.
row_ptr lookup_row(const std::string& name, int32_t version);

} // namespace ai_scale::scoring
