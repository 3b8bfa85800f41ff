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
constexpr const char* tranche = "ai_scale L1";
l1_table* table = nullptr;
LWLockPadded* locks = nullptr;
bool told_no_l1 = false;

void init_l1(void* segment, bool found)
{
    locks = GetNamedLWLockTranche(tranche);
    if (!found)
        table =
            l1_table::create(segment, uint32_t(guc::l1_entries), uint32_t(guc::l1_max_value_bytes));
    else
        table = static_cast<l1_table*>(segment);
}

LWLock* lock_for(const key128& k)
{
    return &locks[table->set_of(k) % n_stripes].lock;
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
    LWLock* lock = lock_for(k);
    LWLockAcquire(lock, LW_SHARED);
    uint32_t len = 0;
    const uint8_t* v = table->find(k, stats::monotonic_ms(), &len);
    if (v != nullptr)
        memcpy(buffer, v, len);
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
    LWLock* lock = lock_for(k);
    LWLockAcquire(lock, LW_EXCLUSIVE);
    uint64_t now = stats::monotonic_ms();
    bool stored = table->put(k, output, len, now, now + ttl_ms, mode); // too large: removes k
    LWLockRelease(lock);
    return stored;
}

void l1_forget(const key128& k)
{
    if (table == nullptr)
        return;
    LWLock* lock = lock_for(k);
    LWLockAcquire(lock, LW_EXCLUSIVE);
    table->erase(k);
    LWLockRelease(lock);
}

} // namespace ai_scale::cache
