// The generations folded into every cache key (generations.cpp): a slot per model and per
// version of a database (generation_slots.hpp), bumped by cache_invalidate so that invalidation
// is O(1), kept in shared memory and, with Redis configured, in a counter per slot in Redis
// that every server syncs from (docs/cache.md, Invalidation). Bumps Redis did not take are
// carried across a restart by a file (unsent_bumps.hpp).
#pragma once

#include "pg/postgres.hpp"

#include <cstdint>

namespace ai_scale::cache {

// What make_key folds in for a model's version: the model's hash (database and name), and the
// model's and the version's generations, synced with Redis first where due (at most once a
// second per slot, at once for a slot not learned yet).
struct key_generations {
    uint64_t model_hash;
    uint64_t model;
    uint64_t version;
};
key_generations generations_for_key(Oid database, const text* model, int32 version);

// Makes every key of the model (all versions when version is null) unreachable.
void bump_generation(Oid database, const text* model, const int32* version);

// The generation slot bump_generation bumps for these arguments, and the bump itself: whether
// Redis took it (true without Redis). Not asked (ask_redis false), or not taking it, the bump
// is made here and the slot marked unsent, for the next sync to send; with cache_strict, one
// Redis was asked for and did not take fails (throws) instead, the slot as it was. Asked, it
// first sends the bumps marked unsent (the server's recheck, at most once a second), but at a
// commit (invalidation_at_commit), which also says itself what Redis did not take.
uint32_t generation_slot(Oid database, const text* model, const int32* version);
bool bump_slot(uint32_t slot, bool ask_redis = true, bool at_commit = false);
// The bump a committing transaction owes a slot (invalidation_at_commit.hpp), from before its
// commit to the end of its bump_slot: a backend that ends (terminated, crashed) in between,
// while Redis had yet to answer, leaves the slot owed, and the slot is marked unsent (at its
// exit, or by the postmaster's file after a crash) for the next sync to bump it. Marked unsent
// at once instead, the slot was synced by any backend's recheck before the commit was visible
// and the mark cleared, and what another session cached after that sync was served after the
// commit. A crash of the whole server during that round trip still loses it.
void owe_bump(uint32_t slot) noexcept;
// The owed bump was made, or Redis refused it (bump_slot marked the slot then).
void owed_bump_settled(uint32_t slot) noexcept;
// The owed bump was not made (its backend is ending, or the call failed): the slot is marked
// unsent, for the next sync, and the mark written to the file that carries it across a restart.
void owed_bump_lost(uint32_t slot) noexcept;

// Brings the generations of a model's version up to Redis's now, even when this server synced
// them less than a second ago (no-op without Redis).
void sync_version_generations(Oid database, const text* model, int32 version);

// Shared memory for the generations; called by request_shared_memory().
void request_generation_memory();

} // namespace ai_scale::cache
