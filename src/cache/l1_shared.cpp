#include "cache/l1_shared.hpp"
#include "guc.hpp"
#include "pg/guard.hpp"
#include "pg/shmem.hpp"
#include "stats/shared_stats.hpp"

extern "C" {
#include "storage/lwlock.h"
#include "utils/memutils.h"
}

namespace ai_scale::cache {

namespace {
constexpr int n_stripes = 64;
static_assert(n_stripes <= 64, "missed_in is a mask of 64 bits");
constexpr const char* tranche = "ai_scale L1";
l1_table* table = nullptr;
LWLockPadded* locks = nullptr;
bool told_no_l1 = false;

// How many times a put that replaces (storing or removing) or a removal changed a stripe's
// sets: in shared memory, each guarded by its stripe's lock.
uint64_t* changes = nullptr;

// This backend's: the changes of each stripe when a lookup of the current call first missed
// there (missed_in has its bit). A fill from a lower level (if_absent) stores nothing in a
// stripe changed since. It kept only a value L1 held: a put whose output L1 does not take (too
// large, a session with cache_use_l1 off, cancelled) removes the key instead, and a fill of
// the value that put replaced, read from Redis before it, stored it back, to be served for up
// to its ttl while Redis held the new one.
uint64_t missed_at[n_stripes];
uint64_t missed_in = 0;

void init_l1(void* segment, bool found)
{
    locks = GetNamedLWLockTranche(tranche);
    if (!found)
        table =
            l1_table::create(segment, uint32_t(guc::l1_entries), uint32_t(guc::l1_max_value_bytes));
    else
        table = static_cast<l1_table*>(segment);
}

void init_changes(void* segment, bool found)
{
    changes = static_cast<uint64_t*>(segment);
    if (!found)
        memset(changes, 0, sizeof(uint64_t) * n_stripes);
}

int stripe_of(const key128& k)
{
    return int(table->set_of(k) % n_stripes);
}
} // namespace

void request_l1_memory()
{
    if (guc::l1_entries == 0)
        return;
    pg::request_lwlocks(tranche, n_stripes);
    pg::request_shmem(
        "ai_scale L1 cache",
        l1_table::bytes_needed(uint32_t(guc::l1_entries), uint32_t(guc::l1_max_value_bytes)),
        init_l1);
    pg::request_shmem("ai_scale L1 changes", sizeof(uint64_t) * n_stripes, init_changes);
}

void l1_lookups_begin()
{
    missed_in = 0;
}

bool l1_usable()
{
    if (!guc::cache_use_l1)
        return false;
    if (table != nullptr)
        return true;
    if (!pg::preloaded() && !told_no_l1) {
        told_no_l1 = true;
        ereport(NOTICE, (errmsg("the L1 cache is not available in this session"),
                         errdetail("ai_scale is not in shared_preload_libraries, so it has no "
                                   "shared memory; the cache uses L2 and L3 only."),
                         errhint("Add ai_scale to shared_preload_libraries and restart the "
                                 "server to enable L1.")));
    }
    return false;
}

Jsonb* l1_get(const key128& k)
{
    // The value is copied under the lock into a buffer of the largest size, allocated once
    // (nothing may raise an error while the lock is held), and then into an allocation of its
    // own size: an allocation of the largest size per hit made a cache_get_many or
    // predict_batch keep l1_max_value_bytes for each element answered from L1 until it returned
    // (1 GB for 500,000 elements with the default 2 kB, whatever the values' size).
    static uint8_t* buffer = nullptr;
    if (buffer == nullptr)
        pg::call([&] {
            buffer =
                static_cast<uint8_t*>(MemoryContextAlloc(TopMemoryContext, table->value_bytes()));
        });
    const int s = stripe_of(k);
    LWLock* lock = &locks[s].lock;
    LWLockAcquire(lock, LW_SHARED);
    uint32_t len = 0;
    const uint8_t* v = table->find(k, stats::monotonic_ms(), &len);
    if (v != nullptr)
        memcpy(buffer, v, len);
    else if ((missed_in & (uint64_t(1) << s)) == 0) {
        missed_at[s] = changes[s];
        missed_in |= uint64_t(1) << s;
    }
    LWLockRelease(lock);
    if (v == nullptr)
        return nullptr;
    Jsonb* out = nullptr;
    pg::call([&] { out = static_cast<Jsonb*>(palloc(len)); });
    memcpy(out, buffer, len);
    return out;
}

bool l1_put(const key128& k, const Jsonb* output, uint64_t ttl_ms, l1_table::put_mode mode)
{
    if (VARATT_IS_EXTENDED(output)) {
        if (mode == l1_table::put_mode::replace)
            l1_forget(k);
        return false;
    }
    uint32_t len = VARSIZE_ANY(output);
    const int s = stripe_of(k);
    const bool filling = mode == l1_table::put_mode::if_absent;
    LWLock* lock = &locks[s].lock;
    LWLockAcquire(lock, LW_EXCLUSIVE);
    bool stored = false;
    if (!filling || (missed_in & (uint64_t(1) << s)) == 0 || changes[s] == missed_at[s]) {
        uint64_t now = stats::monotonic_ms();
        stored = table->put(k, output, len, now, now + ttl_ms, mode); // too large: removes k
        if (!filling)
            changes[s]++;
    }
    LWLockRelease(lock);
    return stored;
}

void l1_forget(const key128& k)
{
    if (table == nullptr)
        return;
    const int s = stripe_of(k);
    LWLock* lock = &locks[s].lock;
    LWLockAcquire(lock, LW_EXCLUSIVE);
    table->erase(k);
    changes[s]++;
    LWLockRelease(lock);
}

} // namespace ai_scale::cache
