// The file of unsent generation bumps (unsent_bumps_format.hpp), read by the postmaster as it makes
// shared memory, and written by it as it exits, and by a backend as it marks a slot. Neither raises
// an error: a start goes on, and an exit completes, with a WARNING or a LOG line saying what was
// not carried.
#pragma once

#include "cache/unsent_bumps_format.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace ai_scale::cache::unsent_bumps {

// The slots to mark as the postmaster makes shared memory (unsent, or at a generation Redis's
// counter must reach): those in the file, none without one. nullopt, for every slot, when the file
// cannot be read or holds something else: which invalidations it carried is unknown, and a slot
// marked without need costs one INCRBY at its next sync and misses for what was cached under it,
// where one left unmarked serves values put before an invalidation.
std::optional<std::vector<carried>> load();

// The slots in the file, for a backend without shared_preload_libraries (its first cache call):
// none, with a WARNING, where load gives nullopt (nothing rewrites the file without the preload,
// and every slot marked at every session invalidated every model each time, in the shared
// Redis too); and no LOG line (one a session).
std::vector<carried> load_in_session();

// Writes the slots to the file durably, or removes it when there are none: at_exit, by the
// postmaster as the server stops (or reinitialises after a crash); otherwise by a backend as it
// marks a slot, which the exit writes again (a hint says so where the write fails).
void save(const std::vector<carried>& slots, bool at_exit);

// The LOG line's message when the slots are not carried (save, or no memory to list them): they
// are those bumped while Redis was unreachable and those bumped in the last minutes, which a
// failover may yet lose, not only the first.
constexpr const char* not_carried_message =
    "ai_scale: cache invalidations Redis may lack are not carried to the next start";

} // namespace ai_scale::cache::unsent_bumps
