// The generations of the cache keys: see generations.hpp.
#include "cache/generations.hpp"
#include "cache/generation_slots.hpp"
#include "cache/lineage.hpp"
#include "cache/router.hpp"
#include "cache/unsent_bumps.hpp"
#include "cache/unsent_mark.hpp"
#include "pg/guard.hpp"
#include "pg/shmem.hpp"
#include "stats/shared_stats.hpp"

extern "C" {
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
}

#include <algorithm>
#include <atomic>
#include <bitset>
#include <cstdlib>
#include <optional>
#include <vector>
#include <new>

namespace ai_scale::cache {

namespace {

// The generation slots (generation_slots.hpp). With Redis configured, each slot is also a counter
// in Redis, bumped by INCRBY of a random step, and a server brings its copy up to Redis's at most
// once a second per slot: an invalidation made on one server reaches the others (and survives a
// restart) within that second.
constexpr uint32_t n_generation_slots = generation::n_slots;
constexpr uint64_t generation_sync_ms = 1000;
// Redis acknowledges an INCRBY before its replicas have it: a failover (or a replica promoted by
// hand) before they got it loses it, and the other servers, syncing from the new primary, went
// on answering what had been invalidated until this server next used that model. So this
// server syncs the slots it bumped in the last recheck_window_ms (raising Redis's counter where
// it fell behind) at any cache call, once a second for the whole server (recheck_bumped).
constexpr uint64_t recheck_window_ms = 5 * 60 * 1000;
// Which read of a slot's counter a backend is making, if any (generations::reading).
enum read_state : uint8_t { not_read, first_read, read_again };
struct generations {
    std::atomic<uint64_t> slot[n_generation_slots];
    std::atomic<uint64_t> synced_ms[n_generation_slots];
    // The last bump here with Redis configured, taken or not, or the last time Redis took one made
    // here without it or raised its counter to a floor (apply_generations); 0: none.
    std::atomic<uint64_t> bumped_ms[n_generation_slots];
    std::atomic<uint64_t> last_bump_ms; // the latest of bumped_ms; 0 once out of the window
    std::atomic<uint64_t> rechecked_ms; // the last recheck_bumped
    // Whether a backend reads the slot's counter from Redis (claim_due to the end of its sync), and
    // which read: the slot's first since the start (or since a read cancelled), or another.
    std::atomic<uint8_t> reading[n_generation_slots]; // a read_state
    // Whether the slot was bumped here without Redis (unreachable at the bump) since Redis last
    // took a bump of this server's: the next sync raises the counter past both (apply_generations).
    // Carried across a restart by a file (carry_unsent_bumps). Whether a backend is sending that
    // bump now too (unsent_mark.hpp).
    std::atomic<unsent_mark::word> unsent[n_generation_slots];
    // A generation this server used before its start, of a bump Redis took in the
    // recheck_window_ms before the exit, which Redis's counter must not be found below (a
    // failover during the restart lost the bump); 0: none, or found so (apply_generations).
    std::atomic<uint64_t> floor[n_generation_slots];
    // How many committing transactions owe the slot a bump (owe_bump): carried across a crash
    // as an unsent mark, never cleared by a sync.
    std::atomic<uint16_t> owed[n_generation_slots];
    // Whether a slot may be marked unsent (mark_unsent; cleared by a recheck that finds none):
    // the recheck then syncs the marked slots, whatever the age of their bump.
    std::atomic<uint8_t> any_unsent;
    std::atomic<uint32_t> recheck_from; // the slot the recheck's next look for marks starts at
    std::atomic<uint32_t> recent_from;  // and its next look for slots bumped in the window
};

generations* shared_generations = nullptr;
generations local_generations; // without shared_preload_libraries: this backend only
// Without shared_preload_libraries: the slots the file carried marked into this session, whose
// marks no WARNING has told of yet (bump_slot says so at a bump Redis does not take).
std::bitset<n_generation_slots> carried_unsaid;
// Serialises the backends' writes of the unsent-bumps file (save_new_mark).
constexpr const char* unsent_file_tranche = "ai_scale unsent bumps file";
LWLock* unsent_file_lock = nullptr;

generations& gens()
{
    return shared_generations ? *shared_generations : local_generations;
}

// Marks the slot unsent; true when it was not marked (nor being sent) before.
bool mark_unsent(generations& g, uint32_t slot)
{
    // Sequentially consistent, as the recheck's clearing of the flag and its reading of the marks
    // are: with release and acquire, the clearing could come after the read of this mark, and
    // leave the flag clear with the slot marked.
    const bool was_sent = unsent_mark::mark(g.unsent[slot]);
    g.any_unsent.store(1, std::memory_order_seq_cst);
    return was_sent;
}

// Writes the slots to mark at the next start to the file that carries them to the next shared
// memory (unsent_bumps.hpp): by the postmaster as it exits, or reinitialises after a crash, once
// no other process is left to bump a slot (save_unsent_bumps), and by a backend whose bump Redis
// did not take (save_new_mark). Those marked unsent; and, with the generation
// used, those Redis took a bump of in the last recheck_window_ms (or a floor not found yet): a
// failover may lose that bump yet, which the restarted server, taking Redis's counter, would not
// find (recheck_bumped) without the generation. Marked unsent instead, such a slot was bumped
// again at its first sync, and what was cached under it since missed after every restart.
void save_carried_slots(bool at_exit)
{
    try {
        const uint64_t now = stats::monotonic_ms();
        const generations& g = *shared_generations;
        std::vector<unsent_bumps::carried> slots;
        for (uint32_t s = 0; s < n_generation_slots; s++) {
            const uint64_t at = g.bumped_ms[s].load(std::memory_order_relaxed);
            const uint64_t used = g.slot[s].load(std::memory_order_relaxed);
            const uint64_t floor = g.floor[s].load(std::memory_order_relaxed);
            if (unsent_mark::state_of(g.unsent[s].load(std::memory_order_acquire)) !=
                    unsent_mark::sent ||
                g.owed[s].load(std::memory_order_acquire) != 0)
                slots.push_back({s, 0});
            else if (floor != 0)
                slots.push_back({s, std::max(floor, used)});
            else if (at != 0 && now < at + recheck_window_ms)
                slots.push_back({s, generation::learned(used) ? used : 0});
        }
        unsent_bumps::save(slots, at_exit);
    } catch (const std::bad_alloc&) {
        ereport(LOG, (errhidestmt(true), errhidecontext(true),
                      errmsg("%s", unsent_bumps::not_carried_message),
                      errdetail("There was no memory to list them.")));
    }
}

void save_unsent_bumps(int, Datum)
{
    save_carried_slots(true);
}

// Writes the file at once (fsynced) for a bump Redis did not take, in the backend that made it,
// before its call returns: left to the postmaster's exit, it was lost with a postmaster killed
// (SIGKILL, the machine lost), and the restarted server took Redis's counter and served the values
// the invalidation was for (test/tap/275_cache_unsent_bump_postmaster_killed.pl). Only for a new
// mark: a slot marked already is in the file, and a bump Redis took (which a failover may yet
// lose) is carried at the exit alone, so that an invalidation with Redis up pays no fsync. The
// file then also lists marks sent since, which cost a bump and misses after such a restart.
void save_new_mark()
{
    if (unsent_file_lock == nullptr || !IsUnderPostmaster) // not preloaded; single-user mode
        return;
    LWLockAcquire(unsent_file_lock, LW_EXCLUSIVE);
    save_carried_slots(false);
    LWLockRelease(unsent_file_lock);
}

// Marks unsent again the slots carried (every slot when nullopt: a damaged file).
void mark_carried(generations& g, const std::optional<std::vector<unsent_bumps::carried>>& carried)
{
    if (carried)
        for (const auto& c : *carried) {
            // A floor past what counters reach, less a bump's step (written by a build that took
            // a counter set near 2^63 by someone else) could not be reached and passed, as
            // reach_floor does, without going past it: the slot was never learned again,
            // and its model never cached in Redis. Marked instead: the next sync raises Redis's
            // counter past the slot's, as after any bump made without Redis.
            if (c.generation == 0 ||
                c.generation > generation::counter_ceiling - generation::max_bump_step) {
                mark_unsent(g, c.slot);
                continue;
            }
            g.floor[c.slot].store(c.generation, std::memory_order_relaxed);
            g.any_unsent.store(1, std::memory_order_seq_cst);
        }
    else
        for (uint32_t s = 0; s < n_generation_slots; s++)
            mark_unsent(g, s);
}

// The file's slots marked in this memory, whose marks are saved when it goes.
void carry_unsent_bumps(generations& g)
{
    mark_carried(g, unsent_bumps::load());
    on_shmem_exit(save_unsent_bumps, 0);
}

// Without shared_preload_libraries, at a backend's first cache call: the slots the file carries
// (a preloaded server stopped with invalidations Redis had not taken) marked in the session's
// own slots, which its syncs then send. Nothing read it without the preload, and a server
// started so served the values those invalidations were for. The file is left as it is (a
// preloaded start sends them once more: misses only); a damaged one is not applied
// (unsent_bumps::load_in_session).
void carry_into_session()
{
    static bool carried = false;
    if (shared_generations != nullptr || carried)
        return;
    carried = true;
    mark_carried(local_generations, unsent_bumps::load_in_session());
    for (uint32_t s = 0; s < n_generation_slots; s++)
        if (unsent_mark::state_of(local_generations.unsent[s].load(std::memory_order_relaxed)) !=
            unsent_mark::sent)
            carried_unsaid.set(s);
}

void init_generations(void* segment, bool found)
{
    unsent_file_lock = &GetNamedLWLockTranche(unsent_file_tranche)[0].lock;
    if (!found)
        shared_generations = new (segment) generations();
    else
        shared_generations = static_cast<generations*>(segment);
    if (found)
        return;
    for (uint32_t i = 0; i < n_generation_slots; i++) {
        shared_generations->slot[i].store(0, std::memory_order_relaxed);
        shared_generations->synced_ms[i].store(0, std::memory_order_relaxed);
        shared_generations->bumped_ms[i].store(0, std::memory_order_relaxed);
        shared_generations->reading[i].store(not_read, std::memory_order_relaxed);
        shared_generations->unsent[i].store(unsent_mark::sent, std::memory_order_relaxed);
        shared_generations->floor[i].store(0, std::memory_order_relaxed);
        shared_generations->owed[i].store(0, std::memory_order_relaxed);
    }
    // The postmaster, or a single-user backend: the process that outlives every other using this
    // memory.
    if (!IsUnderPostmaster)
        carry_unsent_bumps(*shared_generations);
}

uint64_t database_seed(Oid database)
{
    return generation::database_seed(lineage::identity(), database);
}

void raise_to(std::atomic<uint64_t>& a, uint64_t v)
{
    uint64_t cur = a.load(std::memory_order_relaxed);
    while (cur < v && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed))
        ;
}

std::string generation_key(uint32_t slot)
{
    return generation::redis_key(lineage::identity(), slot);
}

// 64 random bits: pg_strong_random's, or should it fail, the pid's and the clock's.
uint64_t random_bits()
{
    uint64_t random = 0;
    if (!pg_strong_random(&random, sizeof random))
        random = uint64_t(MyProcPid) * 0x9E3779B97F4A7C15ULL ^ stats::monotonic_ms();
    return random;
}

// Raises Redis's counter of slot by `by` (l2_increment): its new value, or nullopt.
std::optional<uint64_t> increment(uint32_t slot, uint64_t by)
{
    return l2_increment(generation_key(slot), by);
}

// Raises Redis's counter of a slot to what this server uses, when it is behind (the slot was
// bumped while Redis was unreachable, or Redis lost the counter).
void push_generation(uint32_t slot, uint64_t used, uint64_t in_redis)
{
    if (uint64_t behind = generation::redis_behind_by(used, in_redis))
        increment(slot, behind);
}

// Brings Redis's counter of a slot and this server's copy together after Redis said in_redis
// (0: no counter): a counter Redis lost (or never had) while this server's slot does not know
// better either starts a new epoch at a random point (generation_slots.hpp), which the slot
// takes once Redis holds it; otherwise Redis's is raised to this server's where it is behind
// after a bump (the INCRBY's answer), or past it after a read (raise_past), the slot with it.
// After a read, a slot bumped here without Redis (unsent) has its counter raised past both by
// a bump's step even where Redis is not behind: another server's bumps may have taken the
// counter to the slot's number or past it, and values put under them before this server's
// invalidation were served (test/tap/266_cache_bump_redis_behind.pl). False when
// Redis did not take what it had to, or its answer is not past the slot (a counter that went
// negative, or lost between the read and the INCRBY): the next sync raises it again.
bool reconcile_generation(uint32_t slot, uint64_t in_redis, bool read, bool unsent = false)
{
    auto& g = gens().slot[slot];
    const uint64_t used = g.load(std::memory_order_relaxed);
    if (!generation::needs_new_epoch(used, in_redis)) {
        if (!read) {
            push_generation(slot, used, in_redis);
            return true;
        }
        const bool behind = used > in_redis;
        if (!behind && !unsent)
            return true; // most syncs: no random step drawn
        const uint64_t step = generation::bump_step(random_bits());
        const uint64_t by = behind ? generation::raise_past(used, in_redis, step) : step;
        auto now = increment(slot, by);
        if (now)
            raise_to(g, *now);
        return now && *now > used;
    }
    const uint64_t target = generation::new_epoch(used, in_redis, random_bits());
    auto now = increment(slot, target - in_redis);
    if (now)
        raise_to(g, *now);
    return now && *now > used;
}

// Whether slot s, last claimed at last, is due for a sync at now: not synced in the last second;
// or not learned from Redis yet (below epoch_floor) and read by no backend now. Such a slot's
// keys stay out of Redis (unlearned_keys.hpp), so after a read that got no answer the next call
// reads it again rather than skipping Redis for a second while it answers again; each such read
// is a failure for the endpoint's breaker, which keeps an unreachable Redis a fast failure.
bool due(const generations& g, uint32_t s, uint64_t last, uint64_t now)
{
    return last == 0 || now - last >= generation_sync_ms ||
           (!generation::learned(g.slot[s].load(std::memory_order_relaxed)) &&
            g.reading[s].load(std::memory_order_acquire) == not_read);
}

// Claims the slots due for a sync at now (every slot when forced) by setting their synced_ms:
// into stale, with each one's synced_ms before the claim in before. Into unlearned, the slots
// another backend is reading while this server has yet to learn their generation from Redis:
// the caller waits for that backend's answer when it is the slot's first read.
void claim_due(const uint32_t* slots, size_t n, bool force, uint64_t now,
               std::vector<uint32_t>& stale, std::vector<uint64_t>& before,
               std::vector<uint32_t>* unlearned)
{
    auto& g = gens();
    for (size_t i = 0; i < n; i++) {
        const uint32_t s = slots[i];
        uint64_t last = g.synced_ms[s].load(std::memory_order_relaxed);
        if (force) {
            // Read here even while another backend reads it: that one's answer may have left
            // Redis before what this caller must see.
            g.synced_ms[s].store(now, std::memory_order_relaxed);
        } else if (!(due(g, s, last, now) && g.synced_ms[s].compare_exchange_strong(
                                                 last, now, std::memory_order_relaxed))) {
            if (unlearned != nullptr &&
                !generation::learned(g.slot[s].load(std::memory_order_relaxed)))
                unlearned->push_back(s);
            continue;
        }
        g.reading[s].store(last == 0 ? first_read : read_again, std::memory_order_relaxed);
        stale.push_back(s);
        before.push_back(last);
    }
}

// Clears the reading mark of the slots a sync claimed when it ends, by an error too.
struct reading_marks {
    const std::vector<uint32_t>& slots;
    ~reading_marks()
    {
        for (uint32_t s : slots)
            gens().reading[s].store(not_read, std::memory_order_release);
    }
};

// Waits while another backend makes the first read since the start of the counter of a slot this
// server has not learned yet, at most until its claim is a second old (that backend may have
// exited without clearing its mark), checking for interrupts. A caller that went on instead made
// its key with the slot as it was, 0 after a start, which keeps it out of Redis
// (unlearned_keys.hpp): its lookup missed Redis, and a value it put was not written there
// (test/tap/244_cache_first_sync_concurrent.pl). A read after one that got no answer is not
// waited for: each call then reads the slot itself (due), and while Redis is unreachable those
// reads fail at once (its breaker open), where waiting for another's read cost a millisecond.
void wait_for_first_read(const std::vector<uint32_t>& slots)
{
    auto& g = gens();
    for (;;) {
        const uint64_t now = stats::monotonic_ms();
        bool waiting = false;
        for (uint32_t s : slots)
            waiting |= !generation::learned(g.slot[s].load(std::memory_order_relaxed)) &&
                       g.reading[s].load(std::memory_order_acquire) == first_read &&
                       now - g.synced_ms[s].load(std::memory_order_relaxed) < generation_sync_ms;
        if (!waiting)
            return;
        pg::call([] {
            (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1,
                            PG_WAIT_EXTENSION);
            ResetLatch(MyLatch);
            CHECK_FOR_INTERRUPTS();
        });
    }
}

// The generations Redis's primary holds for the claimed slots (stale, claimed at now), or when
// it does not answer an in-sync replica's (*from_replica then; not for a cache_strict call,
// which fails with 08006 as the primary does not answer); sets *unavailable when neither can
// be read. (Kept at what it had when the primary hung, a slot this server had not synced since
// another server's invalidation went on answering from L1 the values invalidated, and reading
// them from the replica, which had the invalidation: TAP 312.) A read cancelled while it
// waited (or failing with cache_strict) is no sync: the slots stay due for the next request.
// Claimed all the same, they were synced by no backend of this server for a second, and the L1
// of each went on answering what another server had invalidated meanwhile.
std::vector<std::optional<std::string>> read_claimed(const std::vector<uint32_t>& stale,
                                                     const std::vector<uint64_t>& before,
                                                     uint64_t now, bool* unavailable,
                                                     bool* from_replica)
{
    std::vector<std::string> keys;
    for (uint32_t s : stale)
        keys.push_back(generation_key(s));
    try {
        return l2_read(std::move(keys), unavailable,
                       strict_call() ? read_target::primary : read_target::primary_or_replica,
                       from_replica);
    } catch (...) {
        auto& g = gens();
        for (size_t i = 0; i < stale.size(); i++) {
            uint64_t claimed = now;
            g.synced_ms[stale[i]].compare_exchange_strong(claimed, before[i],
                                                          std::memory_order_relaxed);
        }
        throw;
    }
}

// A bump of the slot made (with Redis configured), or taken by Redis, now: the slot is rechecked
// (recheck_bumped), and carried across a restart (save_unsent_bumps), for recheck_window_ms.
void note_taken(uint32_t slot)
{
    const uint64_t now = stats::monotonic_ms();
    raise_to(gens().bumped_ms[slot], now);
    raise_to(gens().last_bump_ms, now);
}

// Whether Redis's counter of a slot, in_redis, is at the slot's floor (carried from before the
// start) or was raised past it now (into in_redis): below it, a failover during the restart lost
// a bump this server made, and taking the counter brought back the values it invalidated. Raised
// past it by a bump's random step, as a sync raises a counter behind its slot (raise_past).
bool reach_floor(uint32_t slot, uint64_t& in_redis)
{
    auto& floor = gens().floor[slot];
    uint64_t f = floor.load(std::memory_order_acquire);
    if (f == 0)
        return true;
    if (in_redis < f) {
        const uint64_t step = generation::bump_step(random_bits());
        const auto counter = increment(slot, generation::raise_past(f, in_redis, step));
        if (!counter || *counter <= f)
            return false;
        in_redis = *counter;
        note_taken(slot);
    }
    floor.compare_exchange_strong(f, 0, std::memory_order_acq_rel);
    return true;
}

// Raises the slots this server has learned to the generations a replica holds (values[i] for
// stale[i]), read while the primary did not answer: never lower (a replica's counter may be
// behind the slot), and a slot not learned yet stays so (its keys out of Redis: misses). Learned
// from a replica behind the primary, it took a counter older than another server's
// invalidation, and the values that invalidated were read from that replica. Nothing else is
// made of them (no INCRBY: the primary does not answer).
void raise_learned(const std::vector<uint32_t>& stale,
                   const std::vector<std::optional<std::string>>& values)
{
    auto& g = gens();
    for (size_t i = 0; i < stale.size(); i++) {
        const uint32_t s = stale[i];
        // Nor a slot bumped here that Redis has yet to take (unsent, owed) or below its floor
        // from before a restart: raised to another server's counter, it answered what that
        // server put after its invalidation and before this one's, this server's own
        // invalidation undone (apply_generations raises such a slot only past both, by INCRBY).
        if (!values[i] || !generation::learned(g.slot[s].load(std::memory_order_relaxed)) ||
            unsent_mark::state_of(g.unsent[s].load(std::memory_order_acquire)) !=
                unsent_mark::sent ||
            g.owed[s].load(std::memory_order_acquire) != 0 ||
            g.floor[s].load(std::memory_order_acquire) != 0)
            continue;
        if (uint64_t in_redis = generation::parse_counter(*values[i]))
            raise_to(g.slot[s], in_redis);
    }
}

// Raises each slot to the generation Redis holds (values[i] for stale[i]), or Redis's counter past
// the slot's where it is behind, or where the slot was bumped here without Redis (unsent).
void apply_generations(const std::vector<uint32_t>& stale,
                       const std::vector<std::optional<std::string>>& values)
{
    auto& g = gens();
    for (size_t i = 0; i < stale.size(); i++) {
        uint64_t in_redis = values[i] ? generation::parse_counter(*values[i]) : 0;
        if (!reach_floor(stale[i], in_redis))
            continue; // the slot keeps what it had (0 after a start): not below the floor
        // Taken before the slot is read: a bump made without Redis after this is left marked.
        // The mark stays (sending) until Redis takes the bumps (unsent_mark::taken): a backend
        // that exits before, by the FATAL of a shutdown or pg_terminate_backend while it waits
        // for Redis (which runs no C++ handler), or by a crash, leaves it to the next sync and
        // to the file. Cleared at the take, the mark was lost, and after a restart the server
        // served values cached before the invalidation (test/tap/272_cache_unsent_bump_restart.pl).
        const unsent_mark::word stamp = unsent_mark::take(g.unsent[stale[i]]);
        const bool was_unsent = stamp != 0;
        const uint64_t used = g.slot[stale[i]].load(std::memory_order_relaxed);
        bool taken = false;
        try {
            if (uint64_t bumps = generation::unsynced_bumps(used, in_redis)) {
                // Until Redis takes them, the slot stays below its counter: misses, never a hit.
                const uint64_t step = generation::bump_step(random_bits());
                auto counter = increment(stale[i], generation::unsynced_raise(bumps, step));
                if (counter)
                    raise_to(g.slot[stale[i]], *counter);
                taken = counter && *counter > used;
            } else {
                // A slot bumped here without Redis takes no counter short of the INCRBY that
                // raises it past both: raised to Redis's first, it served what another server
                // had put there before this server's invalidation, for the round trip, and for
                // good while Redis refused the INCRBY (a full noeviction Redis, a user without
                // INCRBY) but answered reads.
                if (!was_unsent)
                    raise_to(g.slot[stale[i]], in_redis);
                taken = reconcile_generation(stale[i], in_redis, true, was_unsent);
            }
        } catch (...) { // cache_strict
            if (was_unsent)
                mark_unsent(g, stale[i]);
            throw;
        }
        if (was_unsent && taken) {
            // Redis took the bump now, whatever its age: a failover may yet lose it, as it may
            // one taken at once, so the slot is rechecked, and carried across a restart, for
            // recheck_window_ms from now. From the bump's time, a mark sent after that window
            // (an outage longer, or carried from before a start) was neither, and a restarted
            // server that took the counter from before it served the values it invalidated.
            note_taken(stale[i]);
            unsent_mark::taken(g.unsent[stale[i]], stamp);
        } else if (was_unsent)
            mark_unsent(g, stale[i]);
    }
}

// Raises the slots to the generations Redis holds, for slots due (see due; every slot when
// forced), and Redis's counters to this server's where they are behind. Read from the primary:
// a replica a little behind would hold back a fresh invalidation (from a replica only when the
// primary does not answer, read_claimed). A slot this server has not
// learned yet, which another backend is reading, is waited for; and synced here when that
// backend got no answer (Redis unreachable, its call cancelled), or with cache_strict.
void sync_generations(const uint32_t* slots, size_t n, bool force = false, bool wait = true)
{
    if (!l2_enabled())
        return;
    // Before any slot is synced: a slot the file marks, synced first (predict() on a hot
    // standby syncs a model's slots before its key is made), took Redis's counter, under which
    // the outputs the invalidation was for were cached, and was answered from them.
    carry_into_session();
    const uint64_t now = stats::monotonic_ms();
    std::vector<uint32_t> stale;
    std::vector<uint64_t> before; // each stale slot's synced_ms before this sync claimed it
    std::vector<uint32_t> unlearned;
    claim_due(slots, n, force, now, stale, before, wait ? &unlearned : nullptr);
    if (!stale.empty()) {
        reading_marks marks{stale};
        bool unavailable = false;
        bool from_replica = false;
        const auto values = read_claimed(stale, before, now, &unavailable, &from_replica);
        if (!unavailable && from_replica)
            raise_learned(stale, values);
        else if (!unavailable)
            apply_generations(stale, values);
    }
    if (!unlearned.empty()) {
        wait_for_first_read(unlearned);
        if (!strict_call()) {
            sync_generations(unlearned.data(), unlearned.size(), false, false);
            return;
        }
        // A strict call reads what it has not learned itself, even while another backend reads
        // it again: keyed with the slot not learned, it answered without Redis, with no error
        // while Redis did not answer (test/tap/255_cache_strict_slot_read_elsewhere.pl).
        auto& g = gens();
        std::vector<uint32_t> still;
        for (uint32_t s : unlearned)
            if (!generation::learned(g.slot[s].load(std::memory_order_relaxed)))
                still.push_back(s);
        sync_generations(still.data(), still.size(), true, false);
    }
}

// Syncs, at most once a second for the whole server, at a cache call of any model (a key made,
// or an invalidation): the slots this server bumped in the last recheck_window_ms, at most
// max_recent_rechecked of them a time, so that an INCRBY a Redis failover lost is made again
// (reconcile_generation) within a second after the server learns of the new primary (within a
// minute when more than 1,000 were bumped); and the slots marked unsent, whatever the age of their
// bump (carried across a restart, or bumped in an outage longer than the window), at most
// max_unsent_rechecked of them a time, so that Redis takes them within a second after it answers
// again. Left to the next use of the model invalidated, they were not sent until then, and the
// other servers went on serving what the invalidation was for. Without either, a call pays two
// atomic loads.
void recheck_bumped()
{
    constexpr size_t max_unsent_rechecked = 64;
    // One round trip (an MGET of 1,000 keys; two with the marked slots): a call that rechecked
    // every slot bumped in the window (thousands, after a script invalidated or registered many
    // models) read them all from Redis, tens of ms.
    constexpr size_t max_recent_rechecked = 1000;
    auto& g = gens();
    uint64_t last_bump = g.last_bump_ms.load(std::memory_order_relaxed);
    const bool marks = g.any_unsent.load(std::memory_order_acquire) != 0;
    if ((last_bump == 0 && !marks) || !l2_enabled())
        return;
    const uint64_t now = stats::monotonic_ms();
    if (last_bump != 0 && now >= last_bump + recheck_window_ms) {
        // Until the next bump, calls skip the clock too (a bump meanwhile fails the exchange).
        uint64_t expected = last_bump;
        g.last_bump_ms.compare_exchange_strong(expected, 0, std::memory_order_relaxed);
        last_bump = 0;
        if (!marks)
            return;
    }
    uint64_t last = g.rechecked_ms.load(std::memory_order_relaxed);
    if ((last != 0 && now < last + generation_sync_ms) ||
        !g.rechecked_ms.compare_exchange_strong(last, now, std::memory_order_relaxed))
        return;
    // Cleared before the slots are read: a slot marked meanwhile sets it again (mark_unsent).
    if (marks)
        g.any_unsent.store(0, std::memory_order_seq_cst);
    // The marked slots, and those bumped in the window, are each taken from where the last
    // look stopped, round the slots, at most max_* of each: from 0 each time, 64 marks Redis
    // never takes (counters not numbers) kept the ones after them waiting.
    std::vector<uint32_t> marked, recent;
    for (uint32_t s = 0; s < n_generation_slots; s++) {
        const uint64_t at = g.bumped_ms[s].load(std::memory_order_relaxed);
        if (last_bump != 0 && at != 0 && now < at + recheck_window_ms)
            recent.push_back(s);
        if (marks && (unsent_mark::state_of(g.unsent[s].load(std::memory_order_seq_cst)) !=
                          unsent_mark::sent ||
                      g.floor[s].load(std::memory_order_relaxed) != 0))
            marked.push_back(s);
    }
    uint32_t next_marked, next_recent;
    std::vector<uint32_t> rechecked = generation::take_round(
        marked, max_unsent_rechecked, g.recheck_from.load(std::memory_order_relaxed), &next_marked);
    const auto recent_taken = generation::take_round(
        recent, max_recent_rechecked, g.recent_from.load(std::memory_order_relaxed), &next_recent);
    g.recheck_from.store(next_marked, std::memory_order_relaxed);
    g.recent_from.store(next_recent, std::memory_order_relaxed);
    rechecked.insert(rechecked.end(), recent_taken.begin(), recent_taken.end());
    std::sort(rechecked.begin(), rechecked.end());
    rechecked.erase(std::unique(rechecked.begin(), rechecked.end()), rechecked.end());
    // Until Redis takes them (apply_generations clears each mark it sends).
    if (!marked.empty())
        g.any_unsent.store(1, std::memory_order_seq_cst);
    // The server's work, not the caller's: never strict (strict_call).
    try {
        server_recheck_scope server_work;
        sync_generations(rechecked.data(), rechecked.size());
    } catch (...) {
        // Cancelled while it waited: the next call rechecks.
        uint64_t claimed = now;
        g.rechecked_ms.compare_exchange_strong(claimed, last, std::memory_order_relaxed);
        throw;
    }
}

uint64_t model_hash(Oid database, const text* model)
{
    return generation::model_hash(database_seed(database), VARDATA_ANY(model),
                                  VARSIZE_ANY_EXHDR(model));
}

using generation::model_slot;
using generation::version_slot;

} // namespace

key_generations generations_for_key(Oid database, const text* model, int32 version)
{
    carry_into_session();
    const uint64_t mh = model_hash(database, model);
    recheck_bumped();
    const uint32_t slots[] = {model_slot(mh), version_slot(mh, version)};
    sync_generations(slots, 2);
    const auto& g = gens();
    return {mh, g.slot[slots[0]].load(std::memory_order_relaxed),
            g.slot[slots[1]].load(std::memory_order_relaxed)};
}

void request_generation_memory()
{
    pg::request_lwlocks(unsent_file_tranche, 1);
    pg::request_shmem("ai_scale cache generations", sizeof(generations), init_generations);
}

uint32_t generation_slot(Oid database, const text* model, const int32* version)
{
    const uint64_t mh = model_hash(database, model);
    return version ? version_slot(mh, *version) : model_slot(mh);
}

void bump_generation(Oid database, const text* model, const int32* version)
{
    bump_slot(generation_slot(database, model, version));
}

namespace {

// Without shared_preload_libraries a bump Redis did not take lives in this backend alone (no
// shared memory, no unsent-bumps file): it was lost, silently, when the session ended, and every
// other session and server went on answering the outputs it was to make unreachable. Said once
// a slot, when it is marked (a slot marked already, as at a commit's second bump, was said),
// or at the first bump of a slot the file marked (carried_unsaid); a commit's bumps are said
// together (invalidation_at_commit). The hint offered preloading before: its restart ended the
// session, and lost the bump.
void warn_bump_held_in_session()
{
    pg::call([] {
        ereport(WARNING,
                (errmsg("redis did not take this invalidation of cached outputs"),
                 errdetail("Without ai_scale in shared_preload_libraries it holds in this session "
                           "only until Redis takes it (this session's next cache call sends it), "
                           "and is lost if the session ends first: meanwhile other sessions and "
                           "servers answer the outputs it invalidates."),
                 errhint("Call ai_scale.cache_invalidate for the model again once Redis answers "
                         "(redis_status() shows why it did not).")));
    });
}

} // namespace

bool bump_slot(uint32_t slot, bool ask_redis, bool at_commit)
{
    carry_into_session();
    // Not asked, Redis is not asked to take earlier bumps either: the recheck sends each one
    // marked unsent (at most once a second), and a commit's bumps left to the next sync after
    // one Redis did not take waited a timeout each there instead (16 s for 12 models at
    // redis_timeout_ms = 1000).
    if (ask_redis && !at_commit)
        recheck_bumped();
    auto& g = gens().slot[slot];
    auto& mark = gens().unsent[slot];
    const uint64_t local = g.load(std::memory_order_relaxed);
    bool new_mark = false; // a bump Redis did not take, of a slot not marked before
    bool earlier = false;  // the slot was marked before this bump
    const bool redis = l2_enabled();
    if (redis) {
        note_taken(slot);
        if (ask_redis) {
            // A bump Redis takes goes past every earlier one made here without it (unsent),
            // and leaves the next sync nothing to add; one it does not take is left to that
            // sync.
            const unsent_mark::word stamp = unsent_mark::take(mark);
            earlier = stamp != 0;
            const uint64_t step = generation::bump_step(random_bits());
            std::optional<uint64_t> shared;
            try {
                shared = increment(slot, step);
            } catch (...) {
                if (earlier) // cache_strict: this bump fails, the earlier ones stay to send
                    mark_unsent(gens(), slot);
                throw;
            }
            if (shared) {
                raise_to(g, generation::after_bump(local, *shared, step));
                reconcile_generation(slot, *shared, false);
                if (earlier)
                    unsent_mark::taken(mark, stamp);
                return true;
            }
        }
        new_mark = mark_unsent(gens(), slot);
        // A slot marked from the file, not by a bump of this session's, was not said: the
        // session's own invalidation of it held without a word.
        if (shared_generations == nullptr && (new_mark || carried_unsaid[slot])) {
            if (!at_commit)
                warn_bump_held_in_session();
            carried_unsaid.reset(slot);
        }
    }
    // One past the slot as it is now, not as it was read before the round trip: a sync that
    // raised it meanwhile (to a counter under which another server had put values before this
    // invalidation) left a raise to that older number doing nothing, and those values served.
    g.fetch_add(1, std::memory_order_relaxed);
    if (new_mark)
        save_new_mark();
    return !redis;
}

void owe_bump(uint32_t slot) noexcept
{
    if (shared_generations != nullptr)
        shared_generations->owed[slot].fetch_add(1, std::memory_order_seq_cst);
}

void owed_bump_settled(uint32_t slot) noexcept
{
    if (shared_generations != nullptr)
        shared_generations->owed[slot].fetch_sub(1, std::memory_order_seq_cst);
}

void owed_bump_lost(uint32_t slot) noexcept
{
    if (shared_generations == nullptr)
        return;
    // Written to the file too, as any bump Redis did not take: marked in shared memory alone,
    // it was lost with a postmaster killed before a sync sent it, however long after.
    try {
        if (mark_unsent(*shared_generations, slot))
            save_new_mark();
    } catch (...) { // (no memory to list the slots: the mark stays in shared memory)
    }
    owed_bump_settled(slot);
}

void sync_version_generations(Oid database, const text* model, int32 version)
{
    uint64_t mh = model_hash(database, model);
    const uint32_t slots[] = {model_slot(mh), version_slot(mh, version)};
    sync_generations(slots, 2, true);
}

} // namespace ai_scale::cache
