// The async store queue's shared memory, as both of its ends see it: the backends that fill it
// (queue.cpp) and the store worker that drains it (store_worker.cpp, store_worker_drain.cpp).
// Every field of a slot is read and written under `lock`.
#pragma once

#include "pg/postgres.hpp"
#include "predict/ring.hpp"
#include "stats/shared_stats.hpp"

extern "C" {
#include "storage/latch.h"
#include "storage/lwlock.h"
}

namespace ai_scale::predict::queue {

constexpr int n_slots = 8; // databases with a write-behind queue at once

// One queued prediction: this header, then the model name, the input and the output (jsonb
// varlenas), padded to 8 bytes.
struct entry_header {
    uint32 length; // of the whole entry
    Oid relid;
    Oid userid;  // who called predict(): the worker inserts as this role
    Oid catalog; // ai_scale.models when queued: what a dropped install queued is not written
    int32 version;
    uint32 model_len;
    uint32 input_len;
    uint32 output_len;
    int64 input_hash;
};

struct slot {
    Oid database;       // InvalidOid: free
    int worker_pid;     // 0: no worker attached
    bool starting;      // a backend registered a worker that has not attached yet
    uint64 starting_ms; // when it did (monotonic_ms)
    bool closed;        // the worker drained on SIGTERM: queue no more until a new worker attaches
    uint64 failed_ms;   // the last worker started for it exited before attaching (monotonic_ms);
                        // 0: none
    Latch* latch;       // the worker's
    bool no_successor;  // stopped for a database command (DROP, ALTER ... RENAME): a worker
                        // stopping with rows left starts no next one (hand_over_queue)
    bool dropping;      // that command is a DROP DATABASE
    // A database command came while the worker was starting (store_worker_to_stop): it stops as
    // it attaches.
    bool stop_on_attach;
    uint64 head; // bytes ever written
    uint64 tail; // bytes ever read
};

struct queue_shared {
    uint64 ring_bytes;
    slot slots[n_slots];
    char rings[FLEXIBLE_ARRAY_MEMBER]; // n_slots rings of ring_bytes
};

extern queue_shared* shared; // nullptr: no queue (store_queue_kb = 0, or not preloaded)
extern LWLock* lock;

// The ring of slot s.
byte_ring ring_of(int s);

// Empties slot s for any database.
void free_slot(int s);

// The entries between tail and head of slot s.
uint64 queued_rows(int s);

// The waits of the queue are on the monotonic clock: on GetCurrentTimestamp, a clock set back
// an hour made a lost start, or a failed one, hold the database's queue up for that hour more
// (TAP 197).
using ai_scale::stats::monotonic_ms;

} // namespace ai_scale::predict::queue
