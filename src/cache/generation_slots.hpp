// Where a model's generations live: a fixed array of slots, indexed by a hash of (database,
// model[, version]), whose Redis copy is one counter per slot for the whole cluster (a primary,
// its standbys, every database). Pure C++ (XXH3 only), so that unit tests and test tools compute
// the same slots as the server.
//
// The slot in shared memory and its Redis counter are one sequence: a server only ever uses a
// generation that Redis holds (or will hold once reachable again), so a restart, or another
// server syncing from Redis, never goes back to a generation that was invalidated. Slots are
// shared by databases; a slot shared by two models (of one database or of two) only means
// invalidating one also drops the other's entries. Data keys stay per database (key.cpp).
#pragma once

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace ai_scale::cache::generation {

// 65,536: two models share a slot with a chance of 1 in 65,536 (for each of the two slots of a
// version). With 4096 the chance was 16 times that, and the tests saw it: in one CI run,
// registering a model invalidated another's cached outputs (its cluster's system identifier
// and database OID 16384 put the two in one slot; test_generation_slots.cpp). The slots take
// 2.4 MB of shared memory (four 8-byte atomics and four bytes each: generations.cpp).
constexpr uint32_t n_slots = 65536;

// The seed of every key of a database: the cluster's identity (its system identifier, shared by
// a primary and its physical standbys, different for unrelated clusters sharing a Redis, mixed
// with its lineage once restored from a backup: lineage_rules.hpp), the database OID and the
// key format.
uint64_t database_seed(uint64_t cluster, uint32_t database);

uint64_t model_hash(uint64_t database_seed, const char* model, size_t len);
uint32_t model_slot(uint64_t model_hash);
uint32_t version_slot(uint64_t model_hash, int32_t version);

// The slot's counter in Redis: ai_scale:gen:<16 hex digits of the cluster>:<slot>, no database.
std::string redis_key(uint64_t cluster, uint32_t slot);

// How far a bump raises Redis's counter: a random step of 1 to max_bump_step (random: any 64
// bits), not 1. Redis acknowledges an INCRBY before its replicas have it, so a failover can lose a
// server's bump; a bump by another server on the new primary (a standby's, or one after a restart)
// then reached the same number, both servers used it, and the second one's invalidation missed
// what the first had put under that number since its own bump (TAP 262). Two bumps from one
// counter now give one number with a chance of 1 in 2^20, and the first server's recheck of its
// bump finds Redis's counter apart from its slot: behind it (raise_past) or ahead (taken). A
// counter starting at epoch_floor or above then has 2^43 bumps before its top bit.
constexpr uint64_t max_bump_step = uint64_t(1) << 20;
inline uint64_t bump_step(uint64_t random)
{
    return 1 + random % max_bump_step;
}

// The highest counter ai_scale takes. Its counters start below 2^48 (new_epoch) and a bump adds
// at most 2^20, so it never gets there; a counter set near 2^63 - 1 by someone else was taken,
// and every INCRBY that raised it after (a bump, or a raise past a slot) overflowed: Redis
// refused each for good, and invalidations reached no other server.
constexpr uint64_t counter_ceiling = uint64_t(1) << 62;

// A counter as GET returned it: what INCRBY makes, a decimal count from 0 to counter_ceiling;
// anything else (another application wrote the key, an operator's SET or DECR) reads as no
// counter, 0. Read as an unsigned number, "-1" was 2^64 - 1: the slot took it, its bumps wrapped
// to numbers below it, which a slot never takes, and every invalidation of the model was a no-op
// on every server (test/tap/267_cache_counter_not_a_number.pl).
inline uint64_t parse_counter(std::string_view text)
{
    uint64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || text.empty() ||
        value > counter_ceiling)
        return 0;
    return value;
}

// After a bump's INCRBY of step returned incr for a slot at local: the generation to use from now
// on. Where Redis is behind the slot (it lost the counter, or bumps in a failover), local + step,
// which the bump then raises Redis's counter to: local + 1 took two servers at one slot, each
// bumping a counter behind it (lost again in between), to one number, and each served what the
// other had put under it before its own invalidation (test/tap/266_cache_bump_redis_behind.pl).
inline uint64_t after_bump(uint64_t local, uint64_t incr, uint64_t step)
{
    return incr > local ? incr : local + step;
}

// How much Redis's counter at redis must be raised (INCRBY) to reach a generation used here;
// 0 when it is there already. A server raised a slot without Redis (unreachable at the bump):
// until Redis holds it too, a restart or another server would reuse generations already used.
inline uint64_t redis_behind_by(uint64_t used, uint64_t redis)
{
    return used > redis ? used - redis : 0;
}

// After a sync read Redis's counter at redis, below a slot learned at used: how much to raise the
// counter (INCRBY) so that it passes used, which the slot then takes; 0 when Redis is not behind.
// Redis went back under this server (it lost the counter, or INCRs in a failover; or this server
// bumped the slot while Redis was unreachable), and another server may have started the counter
// again below used and bumped it since: an invalidation this server has not seen. Raised to used
// alone, the counter brought both servers to used, and each answered what had been put under it
// before that invalidation (test/tap/085_cache_redis_lost_generations.pl). Past it, what was put
// under used is a miss. Past it by a bump's random step (bump_step), not by 1: two servers at
// one slot that each find the counter behind it (lost twice, or lost and a bump made here without
// Redis) reached one number by 1, and each served what the other had put under it before its
// own invalidation (a model of two servers and Redis, in random runs of bumps, syncs, losses and
// restarts, found such runs; none with the random step). (A bump learns Redis's counter from its
// INCRBY: redis_behind_by.)
inline uint64_t raise_past(uint64_t used, uint64_t redis, uint64_t step)
{
    return used > redis ? used - redis + step : 0;
}

// Redis can lose a counter while keeping the entries written under it: evicted under an
// allkeys-* maxmemory-policy (counters have no TTL, entries do), the last second of an
// appendonly fsync everysec lost in a crash, a FLUSHALL or DEL. A lost counter reads as 0 (INCRBY
// makes it 1), and a server that restarted since, or never synced the slot, went back to
// generation 0, 1, ...: to entries written before an invalidation, served again as hits.
// So a counter always starts at a random point at or above epoch_floor, and one found below
// it (missing, or counted from 0 by an earlier build) while this server's slot is below it too
// is started again at a new random point past both: what is lost then costs misses, never a
// generation used before (except with a chance of about invalidations / 2^48).
constexpr uint64_t epoch_floor = uint64_t(1) << 32;
constexpr uint64_t epoch_span = (uint64_t(1) << 48) - epoch_floor;

// Whether a slot at this generation has been learned from Redis: taken from a counter at or
// past epoch_floor. A generation below it (0 after a start, or a bump made here while Redis was
// unreachable) is used again by every start of this server and of its standbys until each
// learns the slot: keys made with it stay out of Redis (unlearned_keys.hpp).
inline bool learned(uint64_t generation)
{
    return generation >= epoch_floor;
}

inline bool needs_new_epoch(uint64_t used, uint64_t redis)
{
    return used < epoch_floor && redis < epoch_floor;
}

// Where a slot at used, whose counter Redis holds at redis, starts again (random: any 64 bits).
inline uint64_t new_epoch(uint64_t used, uint64_t redis, uint64_t random)
{
    return (used > redis ? used : redis) + epoch_floor + random % epoch_span;
}

// A server (re)starts its slots at 0 and takes Redis's counter at its first sync. A slot still
// below epoch_floor when Redis holds an epoch counts the bumps this server made without Redis
// since it started (unreachable at each): they are added to Redis's counter (INCRBY), never
// lost under it, which went back to the generation of entries put before them. 0: none.
inline uint64_t unsynced_bumps(uint64_t used, uint64_t redis)
{
    return used < epoch_floor && redis >= epoch_floor ? used : 0;
}

// How far those bumps (1 or more) raise Redis's counter: past the first by a bump's random step,
// as the first made with Redis would have (bump_step), not by their count. By 1, two servers that
// each made one bump without Redis before learning the slot reached one number where a Redis
// failover lost the first's raise in between, and each served what the other had put under it
// before its own invalidation.
inline uint64_t unsynced_raise(uint64_t bumps, uint64_t step)
{
    return bumps - 1 + step;
}

// At most max of slots (ascending), from the first at or after start, round the slots: what one
// recheck of the server's slots takes of those it finds due, the others left to the next ones.
// *next is where the next recheck starts: past the last one taken, or start when all were.
inline std::vector<uint32_t> take_round(const std::vector<uint32_t>& slots, size_t max,
                                        uint32_t start, uint32_t* next)
{
    *next = start;
    if (slots.size() <= max)
        return slots;
    const size_t first =
        size_t(std::lower_bound(slots.begin(), slots.end(), start) - slots.begin());
    std::vector<uint32_t> taken;
    taken.reserve(max);
    for (size_t i = 0; i < max; i++)
        taken.push_back(slots[(first + i) % slots.size()]);
    *next = (taken.back() + 1) % n_slots;
    return taken;
}

} // namespace ai_scale::cache::generation
