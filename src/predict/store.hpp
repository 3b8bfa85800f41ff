// The prediction store's writer: predict() hands it the predictions it scored, and it inserts
// them into ai_scale.store_table as ai_scale.store_mode says. A hot standby, or a read-only
// transaction, never writes.
#pragma once

#include "pg/postgres.hpp"

extern "C" {
#include "utils/jsonb.h"
}

#include <vector>

namespace ai_scale::predict {

struct new_prediction {
    Jsonb* input;
    Jsonb* output;
    int64 input_hash;
};

// Stores the rows of one model version: inserted now (sync), queued for the write-behind worker
// (async), or not at all (off, on a hot standby, in a read-only transaction, or when the store
// table does not exist).
// True when they were inserted in the calling transaction (and go with it if it rolls back).
// version_uncommitted: the version was registered (or changed) by the calling transaction,
// which may yet roll it back and leave its number to be given to another model; its rows are
// then never queued, as the worker would commit them whatever this transaction does.
// catalog: the ai_scale.models table the version was read from (catalog_row::row_table).
bool store(text* model, int32 version, const std::vector<new_prediction>& rows,
           bool version_uncommitted, Oid catalog);

// Locks catalog, the ai_scale.models table of the install that gave the rows' version, to the
// end of the transaction, so that a DROP EXTENSION waits for rows inserted now: after CREATE
// EXTENSION, register_model numbers a model past the versions the store holds, and a row of
// the dropped model committed after that would be answered by L3 as the new one's. False when
// that install was dropped since. May raise an error (both writers call it where one is
// caught).
bool lock_install(Oid catalog);

// The INSERT of both writers, store() and the async store worker (store_worker_insert.cpp): %s is
// the table's quoted qualified name; $1 the model, $2 the version, $3, $4 and $5 the inputs
// (jsonb[]), outputs (jsonb[]) and input hashes (int8[]).
extern const char* const insert_format;

} // namespace ai_scale::predict
