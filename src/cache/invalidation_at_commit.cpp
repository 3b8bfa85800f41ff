#include "cache/invalidation_at_commit.hpp"
#include "cache/commit_writes.hpp"
#include "cache/generations.hpp"
#include "pg/guard.hpp"
#include "pg/shmem.hpp"

extern "C" {
#include "access/transam.h"
#include "access/xact.h"
#include "storage/ipc.h"
}

#include <set>

namespace ai_scale::cache {

namespace {

// The slots this transaction invalidated, each once.
std::set<uint32_t> slots;
// Whether the transaction had written when it began to commit (decided at pre-commit, while
// its transaction id is still there to ask for).
bool wrote = false;
bool callback_registered = false;
// The slots owed a bump from the pre-commit on (owe_bump) and not settled yet: those from
// owed_from on (in the set's order) when the backend exits (owed_at_exit).
bool owing = false;
std::set<uint32_t>::const_iterator owed_from;

// Settles the bumps still owed, as lost (the backend exits in the middle of them) or not needed
// (the commit failed after its pre-commit).
void settle_owed(bool lost)
{
    if (!owing)
        return;
    owing = false;
    for (auto it = owed_from; it != slots.end(); ++it) {
        if (lost)
            owed_bump_lost(*it);
        else
            owed_bump_settled(*it);
    }
}

void owed_at_exit(int, Datum)
{
    settle_owed(true);
}

// After the commit: never throws. A failed bump (Redis down, with cache_strict) is a WARNING;
// the invalidation made at the call stands, and the slot is marked for the next sync. After a
// round trip of the commit's that Redis did not answer (a bump's, or the fills' of the
// predictions the transaction stored: cache/commit_writes.hpp), the others are made without
// asking it, marked for the next sync as well: asked for each, a Redis that held its writes
// (paused in a failover) cost the commit a timeout per model invalidated (15 s for 12 at
// redis_timeout_ms = 1000), which no statement_timeout bounds (Postgres disarms it before the
// commit); the reads of other sessions, which it still answered, kept the breaker from
// opening. Nor does a bump send the bumps other commits left marked (the once-a-second
// recheck, not at a commit): before it, each of them waited a timeout of its own (5 s for one
// model invalidated at 1000 ms, after a commit that had marked twelve). Without
// shared_preload_libraries the bumps Redis did not take hold in this session only: one WARNING
// says so for all (a WARNING each, twice for a slot the call had marked, before).
void bump_all_caught()
{
    pg::first_failure failure;
    int held = 0; // bumps Redis did not take
    for (owed_from = slots.begin(); owed_from != slots.end();) {
        const uint32_t slot = *owed_from;
        bool made = false;
        try {
            pg::call([&] {
                const bool asked = ask_redis_at_commit();
                if (bump_slot(slot, asked, true))
                    return;
                held++;
                if (asked)
                    redis_unanswered_at_commit();
            });
            made = true;
        } catch (const std::exception& e) {
            failure.note(e.what());
            redis_unanswered_at_commit();
        } catch (...) {
            failure.note("an unknown C++ exception");
            redis_unanswered_at_commit();
        }
        // A bump Redis failed (cache_strict) is made here as the others after it, marked for
        // the next sync: left as it was, what another session cached during the transaction
        // answered here until then.
        if (!made) {
            try {
                pg::call([&] { bump_slot(slot, false, true); });
                made = true;
            } catch (...) {
            }
        }
        ++owed_from;
        if (made)
            owed_bump_settled(slot);
        else
            owed_bump_lost(slot);
    }
    owing = false;
    if (failure.failed)
        ereport(WARNING,
                (errmsg("ai_scale: the invalidations of this transaction were not sent to "
                        "Redis again at its commit: %s",
                        failure.text),
                 pg::preloaded()
                     ? errdetail("They are made again on this server, and sent at its next "
                                 "sync; until then other servers may answer what was cached "
                                 "during the transaction.")
                     : errdetail("They are made again in this session, and sent at its next "
                                 "cache call; until then other sessions and servers may answer "
                                 "what was cached during the transaction."),
                 errhint("Once Redis answers (ai_scale.redis_status()), call "
                         "ai_scale.cache_invalidate again for the other servers' sake.")));
    else if (held > 0 && !pg::preloaded())
        ereport(WARNING,
                (errmsg("ai_scale: %d invalidation%s of this transaction %s not sent to Redis "
                        "again at its commit",
                        held, held == 1 ? "" : "s", held == 1 ? "was" : "were"),
                 errdetail("Without ai_scale in shared_preload_libraries they hold in this "
                           "session only until Redis takes them (its next cache call sends "
                           "them), and are lost if it ends first: meanwhile other sessions and "
                           "servers may answer what was cached during the transaction."),
                 errhint("Once Redis answers (ai_scale.redis_status()), call "
                         "ai_scale.cache_invalidate again for the other sessions' sake.")));
}

void at_xact_event(XactEvent event, void*)
{
    if (slots.empty())
        return;
    switch (event) {
    case XACT_EVENT_PRE_COMMIT:
        wrote = TransactionIdIsValid(GetTopTransactionIdIfAny());
        if (wrote) {
            for (uint32_t slot : slots)
                owe_bump(slot);
            owed_from = slots.begin();
            owing = true;
        }
        return;
    case XACT_EVENT_COMMIT:
        if (wrote)
            bump_all_caught();
        break;
    case XACT_EVENT_ABORT:
        settle_owed(false); // a commit that failed after its pre-commit
        break;
    case XACT_EVENT_PREPARE: // committed later, perhaps by another session: not followed
        break;
    default:
        return;
    }
    slots.clear();
    wrote = false;
}

} // namespace

void bump_again_at_commit(uint32_t slot)
{
    if (!callback_registered) {
        pg::call([] {
            RegisterXactCallback(at_xact_event, nullptr);
            before_shmem_exit(owed_at_exit, 0);
        });
        track_commit_writes();
        callback_registered = true;
    }
    slots.insert(slot);
}

} // namespace ai_scale::cache
