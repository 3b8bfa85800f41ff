// The store worker's passes over its queue: see store_worker_drain.hpp.
#include "predict/store_worker_drain.hpp"

#include "predict/queue_layout.hpp"
#include "predict/store_worker.hpp"
#include "predict/store_worker_insert.hpp"

extern "C" {
#include "storage/lwlock.h"
#include "utils/memutils.h"
}

#include <cstring>

namespace ai_scale::predict::store_worker {

using namespace ai_scale::predict::queue;

namespace {

// Where in the copy the entry `rows` entries after the one at `off` starts.
uint64 entries_after(const char* copy, uint64 off, int rows)
{
    for (; rows > 0; rows--) {
        entry_header h;
        memcpy(&h, copy + off, sizeof h);
        off += h.length;
    }
    return off;
}

// When the store stayed locked after a SIGTERM: puts the rows drain() copied from position
// `start` of the ring that are not written (from `off` in the copy, the first row not
// written, to `len`) back in the queue, for the next worker, when the ring has not reused their
// bytes since; else they are lost, with a WARNING. Returns `unwritten`, the rows of the pass
// taken so far that were not written.
uint64 requeue(const char* copy, uint64 start, uint64 off, uint64 len, int unwritten)
{
    uint64 rows = 0;
    for (uint64 pos = off; pos < len; rows++) {
        entry_header h;
        memcpy(&h, copy + pos, sizeof h);
        pos += h.length;
    }
    LWLockAcquire(lock, LW_EXCLUSIVE);
    slot& sl = shared->slots[my_slot];
    const bool kept = sl.head - (start + off) <= shared->ring_bytes;
    if (kept)
        sl.tail = start + off;
    LWLockRelease(lock);
    if (!kept)
        ereport(WARNING,
                (errmsg_plural("ai_scale store worker for database \"%s\" lost %llu prediction: "
                               "the prediction store stayed locked as the worker stopped",
                               "ai_scale store worker for database \"%s\" lost %llu predictions: "
                               "the prediction store stayed locked as the worker stopped",
                               rows, my_database_name, static_cast<unsigned long long>(rows))));
    return uint64(unwritten);
}

// Copies what the ring of this worker's slot holds into cxt, and takes it off the ring: its
// length in *len (0: nothing queued, nullptr returned) and its position in the ring in *start.
char* take_queued(MemoryContext cxt, uint64* start, uint64* len)
{
    LWLockAcquire(lock, LW_EXCLUSIVE);
    slot& sl = shared->slots[my_slot];
    *len = sl.head - sl.tail;
    *start = sl.tail;
    char* copy = nullptr;
    if (*len > 0) {
        copy = static_cast<char*>(MemoryContextAllocHuge(cxt, *len));
        ring_of(my_slot).read(*start, copy, *len);
        sl.tail += *len;
    }
    LWLockRelease(lock);
    return copy;
}

// The model name of the entry whose body starts at p, as a text in cxt.
text* entry_model(const entry_header& h, const char* p, MemoryContext cxt)
{
    text* model = static_cast<text*>(MemoryContextAlloc(cxt, VARHDRSZ + h.model_len));
    SET_VARSIZE(model, VARHDRSZ + h.model_len);
    memcpy(VARDATA(model), p, h.model_len);
    return model;
}

// Whether the entry cannot join run r: it is for another table, role, catalog or model.
bool ends_run(const run& r, const entry_header& h, text* model)
{
    return r.relid != h.relid || r.userid != h.userid || r.catalog != h.catalog ||
           r.version != h.version || VARSIZE(r.model) != VARSIZE(model) ||
           memcmp(VARDATA(r.model), VARDATA(model), h.model_len) != 0;
}

// Adds the entry whose body starts at p, at offset off of the copy, to g (not full), in a run
// of its own when it cannot join the last. Its Jsonb varlenas are copied out into cxt so they
// are aligned.
void add_entry(group& g, uint64 off, const entry_header& h, const char* p, text* model,
               MemoryContext cxt)
{
    if (g.nruns == 0 || ends_run(g.runs[g.nruns - 1], h, model))
        g.runs[g.nruns++] = run{off, g.n, 0, h.relid, h.userid, h.catalog, model, h.version};
    void* in = MemoryContextAlloc(cxt, h.input_len);
    memcpy(in, p + h.model_len, h.input_len);
    void* out = MemoryContextAlloc(cxt, h.output_len);
    memcpy(out, p + h.model_len + h.input_len, h.output_len);
    g.inputs[g.n] = PointerGetDatum(in);
    g.outputs[g.n] = PointerGetDatum(out);
    g.hashes[g.n] = Int64GetDatum(h.input_hash);
    g.n++;
    g.runs[g.nruns - 1].n++;
}

// Writes the group and empties it: its runs in one transaction, or, when that fails (or a
// SIGTERM came), a transaction a run. False when the store stayed locked after a SIGTERM:
// *unwritten then says how many of the group's rows were not written, which are the last ones,
// from offset *unwritten_off of the copy.
bool insert_group(group& g, const char* copy, MemoryContext cxt, int* unwritten,
                  uint64* unwritten_off)
{
    static batch b;
    const bool in_one = g.nruns > 1 && try_insert_group(g);
    for (int i = 0; i < g.nruns && !in_one; i++) {
        load_run(b, g, g.runs[i]);
        int written;
        if (!insert_batch(b, cxt, &written)) {
            *unwritten = g.n - g.runs[i].first - written;
            *unwritten_off = entries_after(copy, g.runs[i].off, written);
            g.n = g.nruns = 0;
            return false;
        }
    }
    g.n = g.nruns = 0;
    return true;
}

// Moves everything queued now out of the ring and into the store. Returns the rows written.
uint64 drain_pass(MemoryContext cxt)
{
    // Copy what is queued under the lock, then insert without it.
    uint64 start, len;
    const char* copy = take_queued(cxt, &start, &len);
    if (len == 0)
        return 0;
    static group g;
    uint64 rows = 0;
    int unwritten;
    uint64 unwritten_off;
    for (uint64 off = 0; off < len;) {
        entry_header h;
        memcpy(&h, copy + off, sizeof h);
        const char* p = copy + off + sizeof h;
        text* model = entry_model(h, p, cxt);
        // A group is of one store (and install of the extension): waiting for a second store's
        // lock while holding the first's and the catalog's queued a DROP EXTENSION, and every
        // predict() behind it, as TAP 311's wait did, and could deadlock a session that locks
        // the two stores the other way round.
        const bool other_store =
            g.nruns > 0 && (g.runs[0].relid != h.relid || g.runs[0].catalog != h.catalog);
        if ((g.n == batch_rows || g.nruns == group_runs || other_store) &&
            !insert_group(g, copy, cxt, &unwritten, &unwritten_off))
            return rows - requeue(copy, start, unwritten_off, len, unwritten);
        add_entry(g, off, h, p, model, cxt);
        rows++;
        off += h.length;
    }
    if (!insert_group(g, copy, cxt, &unwritten, &unwritten_off))
        return rows - requeue(copy, start, unwritten_off, len, unwritten);
    return rows;
}

} // namespace

uint64 drain(MemoryContext cxt, uint64* lost)
{
    const uint64 rows = drain_pass(cxt);
    if (lost != nullptr)
        *lost = losses.rows;
    report_losses();
    return rows;
}

} // namespace ai_scale::predict::store_worker
